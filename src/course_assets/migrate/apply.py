"""Plan and apply a migration: decode each image, convert what can be, and edit the chapters."""

from __future__ import annotations

import contextlib
import difflib
import itertools
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from course_assets.config import Settings
from course_assets.errors import ConfigError, OutputError, display_path
from course_assets.migrate.chapter import (
    ChapterText,
    FoundImage,
    decode_chapter,
    find_images,
    plain_alt,
    replace_spans,
    split_lines,
)
from course_assets.migrate.codegen import (
    ascii_words,
    default_title,
    describe,
    generate_script,
)
from course_assets.migrate.decode import DecodeError, decode, recognise, source_extension
from course_assets.migrate.parse_dot import parse_dot
from course_assets.migrate.parse_mermaid import parse_mermaid
from course_assets.migrate.model import Graph, Unsupported
from course_assets.migrate.surroundings import chapter_headings, course_style, has_cluster_style
from course_assets.migrate.report import ChapterReport, ImageReport, MigrationReport, Outcome

CHAPTER_SUFFIXES = (".md", ".markdown")
SAVED_FOLDER = "_migrated"
SLUG_LIMIT = 40
# Modules a figure script imports on its way to drawing: a script named like one would shadow it.
_LIBRARY_MODULES = frozenset({"diagrams", "graphviz", "course_assets"})


class MigratePathError(ConfigError):
    """A path given to migrate does not exist or holds no chapters (a usage error, exit 2)."""


def migrate(paths: Sequence[Path], settings: Settings, write: bool = False) -> MigrationReport:
    """Convert the diagram images of the chapters at `paths`; change files only when `write`."""
    chapters = collect_chapters(paths, settings)
    names = _Names(settings.diagrams_dir)
    style = course_style(settings.diagrams_dir)
    clusters = has_cluster_style(settings.diagrams_dir)
    plans = [_plan_chapter(path, settings.root, names, style, clusters) for path in chapters]
    if write:
        for path, content in names.planned.items():
            _create(path, content)
        for plan in plans:
            if plan.new_bytes is not None:
                _rewrite(plan.path, plan.old_bytes, plan.new_bytes)
    return MigrationReport(
        root=settings.root,
        chapters=tuple(plan.report for plan in plans),
        files=tuple(names.planned),
        written=write,
    )


def collect_chapters(paths: Sequence[Path], settings: Settings) -> list[Path]:
    """Return the chapter files named by `paths` (files as given, folders searched for *.md)."""
    found: list[Path] = []
    build = settings.build_dir.resolve()
    for path in paths:
        if path.is_dir():
            inside = []
            for candidate in sorted(path.rglob("*")):
                relative = candidate.relative_to(path).parts
                if (candidate.suffix.lower() in CHAPTER_SUFFIXES and candidate.is_file()
                        and not any(part.startswith(".") for part in relative)
                        and build not in candidate.resolve().parents):
                    inside.append(candidate)
            if not inside:
                raise MigratePathError(f"{path}: no Markdown chapters (*.md) in this folder")
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            raise MigratePathError(f"{path}: no such file or folder")
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def convert(language: str, source: str) -> Graph:
    """Return the graph drawn by `source`; raise Unsupported when it cannot be converted."""
    if language == "mermaid":
        return parse_mermaid(source)
    if language == "graphviz":
        return parse_dot(source)
    names = {"plantuml": "PlantUML", "c4plantuml": "C4-PlantUML", "d2": "D2", "bpmn": "BPMN",
             "vegalite": "Vega-Lite", "vega": "Vega", "erd": "Erd", "dbml": "DBML",
             "tikz": "TikZ", "svgbob": "Svgbob", "wavedrom": "WaveDrom"}
    raise Unsupported(f"{names.get(language, language)} diagrams have no diagrams equivalent")


def slugify(text: str, limit: int = SLUG_LIMIT) -> str:
    """Return a figure name for `text`: lower-case ASCII words joined by underscores."""
    words = [word for word in ascii_words(text).split("_") if word]
    slug = ""
    for word in words:
        candidate = f"{slug}_{word}" if slug else word
        if len(candidate) > limit and slug:
            break
        slug = candidate[:limit]
    if slug and slug[0].isdigit():
        slug = "figure_" + slug
    return slug


# -- one chapter -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _ChapterPlan:
    path: Path
    old_bytes: bytes
    new_bytes: bytes | None
    report: ChapterReport


def _plan_chapter(path: Path, root: Path, names: _Names, style: str | None,
                  cluster_style: bool = False) -> _ChapterPlan:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return _ChapterPlan(path, b"", None, ChapterReport(path, (), error=f"cannot read: {exc}"))
    try:
        chapter = decode_chapter(data)
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (byte {exc.start}); the chapter was not read"
        return _ChapterPlan(path, data, None, ChapterReport(path, (), error=message))
    shown = display_path(path, root)
    analyses = [analysis for image in find_images(chapter.text)
                if (analysis := _analyse(image, path)) is not None]
    if any(analysis.outcome is Outcome.ERROR for analysis in analyses):
        # Leave the whole chapter as it is, and claim no names, so that the run after the author
        # fixes the link converts everything exactly as if the link had never been broken.
        reports = tuple(_held_back(analysis) for analysis in analyses)
        return _ChapterPlan(path, data, None, ChapterReport(path, reports))
    reports_list: list[ImageReport] = []
    replacements: list[tuple[int, int, str]] = []
    headings = chapter_headings(chapter.text)
    for analysis in analyses:
        report, replacement = _finish(analysis, shown, names, chapter.text,
                                      headings.above(analysis.image.line), style,
                                      cluster_style)
        reports_list.append(report)
        if replacement is not None:
            replacements.append(replacement)
    new_text = replace_spans(chapter.text, replacements)
    new_bytes = chapter.encode(new_text) if new_text != chapter.text else None
    diff = _diff(chapter, new_text, shown) if new_bytes is not None else ""
    return _ChapterPlan(path, data, new_bytes, ChapterReport(path, tuple(reports_list), diff))


@dataclass(frozen=True)
class _Analysis:
    """One image decoded and, where possible, converted; nothing named or written yet."""

    image: FoundImage
    chapter: Path
    kind: str
    url: str | None
    language: str | None
    outcome: Outcome
    message: str = ""
    source: str = ""
    graph: Graph | None = None

    def report(self, outcome: Outcome, message: str, slug: str | None = None,
               output: Path | None = None, new_file: bool = False,
               call: str | None = None) -> ImageReport:
        return ImageReport(self.chapter, self.image.line, self.kind, self.url, self.language,
                           outcome, message, slug, output, new_file, call)


def _analyse(image: FoundImage, chapter: Path) -> _Analysis | None:
    if image.kind == "fence":
        kind, language, source, url = "Mermaid block", "mermaid", image.source or "", None
    else:
        url = image.url or ""
        link = recognise(url)
        if link is None:
            if not _is_external(url):
                return None  # the course's own image files are not this command's business
            message = (f"{url} is an external image with no diagram source in its link; "
                       "redraw it by hand as a diagrams script")
            return _Analysis(image, chapter, "external image", url, None, Outcome.UNDECODABLE,
                             message)
        kind = {"kroki": f"Kroki {link.language} image", "mermaid.ink": "mermaid.ink image",
                "plantuml": "PlantUML image"}[link.service]
        language = link.language
        try:
            source = decode(link).source
        except DecodeError as exc:
            message = f"malformed {kind} link ({_shorten(url)}): {exc}"
            return _Analysis(image, chapter, kind, url, language, Outcome.ERROR, message)
    try:
        graph = convert(language, source)
    except Unsupported as exc:
        return _Analysis(image, chapter, kind, url, language, Outcome.SAVED,
                         f"cannot convert this {kind}: {exc}", source)
    if image.span is None:
        return _Analysis(image, chapter, kind, url, language, Outcome.SAVED,
                         f"cannot pin down this {kind} in the chapter text, so it cannot be "
                         "replaced", source)
    return _Analysis(image, chapter, kind, url, language, Outcome.CONVERTED, "", source, graph)


def _held_back(analysis: _Analysis) -> ImageReport:
    if analysis.outcome in (Outcome.ERROR, Outcome.UNDECODABLE):
        return analysis.report(analysis.outcome, analysis.message)
    return analysis.report(Outcome.SKIPPED, "not migrated: this chapter has a malformed image "
                           "link; fix or remove it, then run migrate again")


def _finish(analysis: _Analysis, shown: str, names: _Names, text: str, heading: str = "",
            style: str | None = None, cluster_style: bool = False
            ) -> tuple[ImageReport, tuple[int, int, str] | None]:
    """Name the script or saved source of an analysed image, and the chapter edit it needs."""
    if analysis.outcome is Outcome.ERROR:
        return analysis.report(analysis.outcome, analysis.message), None
    if analysis.outcome is Outcome.UNDECODABLE:
        return analysis.report(analysis.outcome, analysis.message), _kept_as_is(analysis, text)
    image, language = analysis.image, analysis.language or "text"
    alt = plain_alt(image.alt)
    if analysis.outcome is Outcome.SAVED or analysis.graph is None or image.span is None:
        base = slugify(alt) or slugify(f"{analysis.chapter.stem} {language}") or "figure"
        slug, output = names.claim_saved(base, source_extension(language), analysis.source,
                                         key=("saved", language, analysis.source))
        return analysis.report(Outcome.SAVED, analysis.message, slug, output,
                               names.is_new(output)), _kept_as_is(analysis, text)
    graph = analysis.graph
    # A title the source draws itself (a DOT graph label, Mermaid's title) stays the title;
    # else the image's alt text, else the heading of its section, never just its first node.
    named = next((text for text in (alt, heading) if text and len(text) <= 80), "")
    title = graph.title or named or default_title(graph)
    description = graph.description or alt or describe(graph)
    base = (slugify(alt) or slugify(graph.title or "") or slugify(heading)
            or slugify(f"{analysis.chapter.stem} figure") or "figure")
    origin = f"the {analysis.kind} in {shown}, line {image.line}"
    script = generate_script(graph, title=title, description=description, origin=origin,
                             style=style, cluster_style=cluster_style)
    slug, output = names.claim_script(base, script,
                                      key=("script", language, analysis.source, alt))
    call, note = diagram_call(slug, image.width)
    replacement = (image.span[0], image.span[1], call)
    return analysis.report(Outcome.CONVERTED, note, slug, output, names.is_new(output),
                           call), replacement


def diagram_call(slug: str, width: str | None) -> tuple[str, str]:
    """Return the `{{ diagram(...) }}` that replaces an image, keeping its width, and a note
    when the width was one a figure cannot take."""
    from course_assets.publish.chapters import WIDTH

    if width is None or not width.strip():
        return f'{{{{ diagram("{slug}") }}}}', ""
    width = width.strip()
    if not WIDTH.fullmatch(width):
        return (f'{{{{ diagram("{slug}") }}}}',
                f"the image's width {width!r} is not pixels or a percentage: left out")
    value = width.removesuffix("px")
    shown = value if value.isdigit() else f'"{value}"'
    return f'{{{{ diagram("{slug}", width={shown}) }}}}', ""


_JINJA_MARKS = ("{{", "{%", "{#")
_RAW = {"fence": ("{% raw -%}\n", "\n{%- endraw %}")}
_RAW_INLINE = ("{% raw %}", "{% endraw %}")


def _kept_as_is(analysis: _Analysis, text: str) -> tuple[int, int, str] | None:
    """Return the edit that keeps an image or block the chapter keeps out of Jinja's reach.

    Chapters are Jinja templates: `A{{Decide}}` in a kept Mermaid block, or `{{x}}` in an alt
    text, would be read as template code. Wrapped in {% raw %}, it builds as it was written
    (around a block, the tags take their own lines and leave no blank ones behind).
    """
    span = analysis.image.span
    if span is None:
        return None
    start, end = span
    kept = text[start:end]
    if not any(mark in kept for mark in _JINJA_MARKS) or "endraw" in kept:
        return None
    opening, closing = _RAW.get(analysis.image.kind, _RAW_INLINE)
    if text[:start].endswith(opening) and text[end:].startswith(closing):
        return None  # wrapped by an earlier run
    return (start, end, opening + kept + closing)


def _is_external(url: str) -> bool:
    if url.startswith("//"):
        return True
    try:
        return urlsplit(url).scheme.lower() in ("http", "https")
    except ValueError:
        return False


def _shorten(url: str, limit: int = 70) -> str:
    return url if len(url) <= limit else url[:limit - 3] + "..."


def _diff(chapter: ChapterText, new_text: str, shown: str) -> str:
    out = []
    for line in difflib.unified_diff(split_lines(chapter.text), split_lines(new_text),
                                     f"a/{shown}", f"b/{shown}"):
        if line.endswith(("\n", "\r")):
            out.append(line.rstrip("\r\n") + "\n")
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


# -- names and files -------------------------------------------------------------------------------

class _Names:
    """Hand out figure names that never overwrite a file, reusing identical ones."""

    def __init__(self, diagrams_dir: Path):
        self.scripts = diagrams_dir
        self.saved = diagrams_dir / SAVED_FOLDER
        self.planned: dict[Path, str] = {}
        self.claimed: dict[tuple[object, ...], tuple[str, Path]] = {}
        self._listings: dict[Path, dict[str, Path]] = {}

    def claim_script(self, base: str, content: str, key: tuple[object, ...]
                     ) -> tuple[str, Path]:
        return self._claim(self.scripts, base, "py", content, key, script=True)

    def claim_saved(self, base: str, extension: str, content: str, key: tuple[object, ...]
                    ) -> tuple[str, Path]:
        return self._claim(self.saved, base, extension, content, key, script=False)

    def _claim(self, folder: Path, base: str, extension: str, content: str,
               key: tuple[object, ...], script: bool) -> tuple[str, Path]:
        if key in self.claimed:
            return self.claimed[key]
        existing = self._listing(folder)
        for number in itertools.count(1):
            slug = base if number == 1 else f"{base}_{number}"
            if script and _shadows_module(slug):
                continue
            path = folder / f"{slug}.{extension}"
            if path in self.planned:
                continue
            found = existing.get(path.name.lower())
            if found is not None:
                if _same_text(found, content):
                    break  # an earlier run wrote exactly this: use it, write nothing
                continue
            if script and slug.lower() in existing:
                continue  # a folder or package of that name would clash with the module
            self.planned[path] = content
            found = path
            break
        assert found is not None  # the loop above ends only at a break, with a file
        self.claimed[key] = (slug, found)
        return slug, found

    def is_new(self, path: Path) -> bool:
        """Whether `path` is a file this run creates (not one an earlier run left)."""
        return path in self.planned

    def _listing(self, folder: Path) -> dict[str, Path]:
        if folder not in self._listings:
            try:
                entries = {entry.name.lower(): entry for entry in folder.iterdir()}
            except OSError:
                entries = {}
            self._listings[folder] = entries
        return self._listings[folder]


def _shadows_module(slug: str) -> bool:
    """Whether `diagrams/<slug>.py` would hide a module that figure scripts import."""
    # A script's folder comes first on sys.path while it runs, so its neighbours win over the
    # standard library and the diagrams library; the rest of what is installed never gets
    # imported from there. A fixed list also keeps the names the same on every machine.
    return slug in sys.stdlib_module_names or slug in _LIBRARY_MODULES


def _same_text(path: Path, content: str) -> bool:
    try:
        return path.is_file() and path.read_bytes() == content.encode("utf-8")
    except OSError:
        return False


def _create(path: Path, content: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # "x": never replace a file, even one that appeared since the plan was made.
        with open(path, "x", encoding="utf-8", newline="") as handle:
            handle.write(content)
    except FileExistsError:
        raise OutputError(f"{path}: appeared while migrating; run migrate again") from None
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc}") from None


def _rewrite(path: Path, old: bytes, new: bytes) -> None:
    try:
        if path.read_bytes() != old:
            raise OutputError(f"{path}: changed while migrating; run migrate again")
        # A name no file or link holds yet (mkstemp creates it exclusively): writing through a
        # link that was already there could change a file outside the course.
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".migrate-tmp",
                                             dir=path.parent)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc}") from None
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(new)
        shutil.copymode(path, temporary)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise OutputError(f"{path}: cannot write: {exc}") from None
