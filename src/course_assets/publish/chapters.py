"""Render chapter sources (Markdown with Jinja2) in a sandbox, embedding figures by name."""

from __future__ import annotations

import html
import os
import re
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from course_assets.errors import ConfigError, FigureError, Problem
from course_assets.reading import read_source as read_regular_file
from course_assets.state.sources import figure_template_path, unknown_figure

if TYPE_CHECKING:
    from course_assets.config import Settings
    from course_assets.state.manifest import FigureRecord

WIDTH = re.compile(r"[1-9][0-9]{0,4}(px|%)?")
BOM = "\ufeff"
# A chapter is text for people: one that grows past this is a loop gone wrong, not a chapter.
MAX_CHAPTER_CHARS = 16 * 1024 * 1024


@dataclass(frozen=True)
class FigureRef:
    """What a chapter needs to embed a figure: where its SVG is, and its words."""

    name: str
    svg: Path
    title: str
    description: str
    # The dark variant, when the course builds one; chapters offer it to dark-mode readers.
    dark_svg: Path | None = None
    # The figure's text outline, linked under the image for screen-reader users.
    outline: Path | None = None


@dataclass(frozen=True)
class RenderedChapter:
    """A chapter's Markdown as built, and the figures it embeds, or the problem that stopped it."""

    text: str | None
    figures: tuple[str, ...]
    problem: Problem | None = None
    # Figures that have never built, shown as a placeholder note, with the line of each.
    placeholders: tuple[tuple[str, int | None], ...] = ()


class ChapterError(Exception):
    """A mistake in a chapter, raised from inside the template (located later, if at all)."""

    line: int | None = None


def read_source(path: Path) -> str:
    """Read a chapter as UTF-8 (a byte-order mark is dropped); raise ChapterError otherwise."""
    try:
        raw = read_regular_file(path)
    except OSError as exc:
        raise ChapterError(f"cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _located(ChapterError(
            f"not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "save the chapter as UTF-8"
        ), line) from None
    return text.removeprefix(BOM)


def _located(error: ChapterError, line: int | None) -> ChapterError:
    error.line = line
    return error


class CourseLoader(jinja2.BaseLoader):
    """Load what a chapter includes or imports: a file of the chapters folder, else of templates/.

    Names are relative to those folders; a name that climbs out of them, an absolute path or
    a link leading out of its folder is refused, so a chapter can never show another file.
    """

    def __init__(self, folders: tuple[Path, ...]) -> None:
        self.folders = folders

    def get_source(self, environment: jinja2.Environment,
                   template: str) -> tuple[str, str, Any]:
        parts = template.replace("\\", "/").split("/")
        if template.startswith("/") or any(part in ("", ".", "..") for part in parts) \
                or ":" in parts[0]:
            raise ChapterError(
                f"cannot include {template!r}: name a file inside the chapters folder or "
                "templates/ by its path relative to that folder, without '..'")
        for folder in self.folders:
            path = folder.joinpath(*parts)
            if not path.exists() and not path.is_symlink():
                continue
            inside = folder.resolve()
            if inside not in path.resolve().parents:
                raise ChapterError(f"cannot include {template!r}: it is a link to a file "
                                   "outside its folder; copy the file in instead")
            try:
                raw = read_regular_file(path)
            except OSError as exc:
                raise ChapterError(f"cannot include {template!r}: {exc.strerror}") from None
            try:
                text = raw.decode("utf-8").removeprefix(BOM)
            except UnicodeDecodeError:
                raise ChapterError(f"cannot include {template!r}: it is not UTF-8") from None
            return text, str(path), lambda: False
        raise ChapterError(f"cannot include {template!r}: no such file in "
                           + " or ".join(f"{f.name}/" for f in self.folders))


def include_folders(chapters_dir: Path, templates_dir: Path) -> tuple[Path, ...]:
    """Return the folders a chapter's `{% include %}` and `{% import %}` read from, in order."""
    return (chapters_dir, templates_dir)


class ChapterSandbox(SandboxedEnvironment):
    """Jinja2's sandbox, refusing also values too large to build (`"x" * 10**9`) and printing
    a function instead of calling it (`{{ diagram }}`)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and _is_number(right) and _is_number(left) and abs(right) > 64 \
                and abs(left) > 1:
            raise ChapterError(f"{left!r} ** {right!r} is too large a number for a chapter")
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, (str, list, tuple)) and _is_number(times) \
                        and len(sequence) * times > MAX_CHAPTER_CHARS:
                    raise ChapterError(
                        f"'* {times:,}' makes a value larger than a chapter may be "
                        f"({MAX_CHAPTER_CHARS:,} characters)")
        return super().call_binop(context, operator, left, right)


def _is_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _no_functions(value: object) -> object:
    if callable(value) and not isinstance(value, (str, jinja2.Undefined)):
        name = getattr(value, "__name__", "it")
        raise ChapterError(f"{{{{ {name} }}}} shows a function instead of calling it: write "
                           f"{{{{ {name}(\"name\") }}}}")
    return value


class ChapterRenderer:
    """Render chapters against a fixed set of figures, with one sandboxed Jinja2 environment.

    Each chapter renders in a child process that is stopped after `timeout` seconds, so that a
    loop that never ends stops the chapter, not the build.
    """

    def __init__(self, figures: dict[str, FigureRef], templates_dir: Path,
                 unbuilt: frozenset[str] | set[str] = frozenset(), scripts_folder: str = "diagrams",
                 timeout: float = 60.0, chapters_dir: Path | None = None) -> None:
        self._figures = figures
        self._unbuilt = unbuilt
        self._scripts_folder = scripts_folder
        self._timeout = timeout
        self._env = ChapterSandbox(
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
            finalize=_no_functions,
            loader=CourseLoader(include_folders(chapters_dir, templates_dir))
            if chapters_dir is not None else None,
        )
        snippet_env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=True,
                                           keep_trailing_newline=False)
        template_path = figure_template_path(templates_dir)
        self._snippet_path = template_path
        try:
            self._snippet = snippet_env.from_string(template_path.read_text(encoding="utf-8"))
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(f"{template_path}:{exc.lineno}: template syntax error: "
                              f"{exc.message}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{template_path}: cannot read the figure template as UTF-8 "
                              f"({exc})") from None

    def render(self, source_path: Path, output_path: Path) -> RenderedChapter:
        """Render one chapter to the Markdown that goes to `output_path`."""
        used: list[str] = []
        placeholders: list[tuple[str, int | None]] = []
        filename = str(source_path)
        try:
            source = read_source(source_path)
        except ChapterError as exc:
            return RenderedChapter(None, (), Problem(source_path, exc.line, str(exc)))
        compiled: list[jinja2.Template] = []

        def template_code() -> jinja2.Template:
            # Compiled in the child too: Jinja2 turns a template into Python, which a deep
            # nesting or a long expression can make fail to compile (or recurse without end).
            code = self._env.compile(source, name=source_path.name, filename=filename)
            compiled.append(self._env.template_class.from_code(
                self._env, code, self._env.make_globals(None)))
            return compiled[0]

        def diagram(name: str, alt: str | None = None, width: int | str | None = None) -> str:
            if isinstance(name, str) and name in self._unbuilt and name not in self._figures:
                placeholders.append((name, _calling_line(filename, compiled[0])))
                used.append(name)
                return self._placeholder(name)
            return self._figure_snippet(name, alt, width, output_path, used)

        def job() -> RenderedChapter:
            try:
                template = template_code()
            except jinja2.TemplateSyntaxError as exc:
                if exc.filename not in (None, filename):  # in a file it includes
                    return RenderedChapter(None, (), Problem(
                        source_path, None, f"template syntax error in {exc.filename}:"
                        f"{exc.lineno}: {exc.message}"))
                return RenderedChapter(None, (), Problem(
                    source_path, exc.lineno, f"template syntax error: {exc.message}"))
            except (SyntaxError, RecursionError, MemoryError) as exc:
                return RenderedChapter(None, (), Problem(
                    source_path, _deepest_line(self._env, source), _too_complex(exc)))
            try:
                text = _bounded(template.generate(diagram=diagram))
            except Exception as exc:  # noqa: BLE001 - every template failure is the chapter's
                line = _template_line(exc, filename)
                return RenderedChapter(None, (), Problem(
                    source_path, line, _describe(exc) + _literal_hint(exc, source, line)))
            return RenderedChapter(text, tuple(dict.fromkeys(used)),
                                   placeholders=tuple(placeholders))

        from course_assets.render.isolate import TimedOut, run_isolated

        try:
            rendered, _ = run_isolated(job, self._timeout)
        except TimedOut:
            return RenderedChapter(None, (), Problem(source_path, None, (
                f"stopped after {self._timeout:g} s: the chapter did not finish rendering; look "
                "for a loop that never ends (or raise the limit: `timeout` in "
                "[tool.course-assets])")))
        except FigureError as exc:
            return RenderedChapter(None, (), Problem(
                source_path, None, f"rendering the chapter failed: {exc.message}"))
        return rendered

    def _placeholder(self, name: str) -> str:
        # Visible in the chapter, the preview and the decks, so a missing figure is never missed.
        script = html.escape(f"{self._scripts_folder}/{name}.py")
        return ('<div align="center">\n'
                f"    <p><strong>Figure {html.escape(name)!r} is missing:</strong> "
                f"<code>{script}</code> has not built yet. Fix the error "
                "<code>course-assets build</code> reports for it, and this note becomes the "
                "figure.</p>\n</div>")

    def _figure_snippet(self, name: object, alt: object, width: object, output_path: Path,
                        used: list[str]) -> str:
        if not isinstance(name, str) or not name:
            raise ChapterError("diagram() takes a figure name: the script's file name without .py")
        if "/" in name or "\\" in name or name.startswith(".") or name.endswith(".py"):
            raise ChapterError(
                f"diagram({name!r}): a figure name is a script name in the figures folder, "
                "without folders or '.py'"
            )
        figure = self._figures.get(name)
        if figure is None:
            raise ChapterError(unknown_figure(name, self._figures))
        if width is not None and not WIDTH.fullmatch(str(width)):
            raise ChapterError(f"diagram({name!r}, width={width!r}): width must be pixels "
                               "like 600 or a percentage like '80%'")
        used.append(name)
        src = Path(os.path.relpath(figure.svg, output_path.parent)).as_posix()
        dark_src = (Path(os.path.relpath(figure.dark_svg, output_path.parent)).as_posix()
                    if figure.dark_svg is not None else None)
        outline = (Path(os.path.relpath(figure.outline, output_path.parent)).as_posix()
                   if figure.outline is not None else None)
        text = alt if alt is not None else figure.description or figure.title
        try:
            return self._snippet.render(
                src=src, dark_src=dark_src, alt=" ".join(str(text).split()), width=width,
                title=figure.title, name=name, outline=outline,
            )
        except jinja2.UndefinedError as exc:
            raise ChapterError(f"the figure template {self._snippet_path} uses an undefined "
                               f"variable: {exc.message} (it gets src, dark_src, alt, width, "
                               "title, name and outline)") from None


def _too_complex(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return ("the chapter's template ran out of memory while it was compiled; split it, "
                "or simplify its expressions")
    # A SyntaxError's own line is one of the Python that Jinja2 made, not the chapter's.
    detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    return (f"the chapter's template is too long or too deeply nested for Python to compile "
            f"({type(exc).__name__}: {detail}): nested blocks (if, for) or an expression this "
            "deep are better split, e.g. into a macro or a variable set beforehand")


def _deepest_line(environment: jinja2.Environment, source: str) -> int | None:
    """Return the line where the template's blocks nest deepest, or its longest expression."""
    opening = {"if", "for", "macro", "call", "filter", "block", "with", "set"}
    depth, deepest, deepest_line = 0, 0, None
    tokens_per_line: dict[int, int] = {}
    previous = ""
    try:
        for line, kind, value in environment.lex(source):
            if kind == "whitespace":
                continue
            tokens_per_line[line] = tokens_per_line.get(line, 0) + 1
            if previous == "block_begin" and kind == "name":
                if value in opening:
                    depth += 1
                    if depth > deepest:
                        deepest, deepest_line = depth, line
                elif value.startswith("end"):
                    depth -= 1
            previous = kind
    except jinja2.TemplateSyntaxError as exc:
        return exc.lineno
    if deepest >= 20:
        return deepest_line
    return max(tokens_per_line, key=lambda n: tokens_per_line[n], default=None)


def _calling_line(filename: str, template: jinja2.Template) -> int | None:
    """Return the chapter line that is calling now (Jinja2 maps its code lines to the source's)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename == filename:
            return template.get_corresponding_lineno(frame.f_lineno)
        frame = frame.f_back
    return None


def _bounded(chunks: Iterator[str]) -> str:
    """Join a template's output, stopping once it is larger than a chapter may be."""
    parts, size = [], 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_CHAPTER_CHARS:
            raise ChapterError(f"the chapter grew past {MAX_CHAPTER_CHARS:,} characters; look "
                               "for a loop that repeats more than it should")
        parts.append(chunk)
    return "".join(parts)


def _literal_hint(exc: BaseException, source: str, line: int | None) -> str:
    """Suggest {% raw %} when the failing line shows Jinja-like text in code (`${{ x }}`)."""
    if not isinstance(exc, (jinja2.UndefinedError, jinja2.TemplateSyntaxError)) or not line:
        return ""
    lines = source.splitlines()
    text = lines[line - 1] if line <= len(lines) else ""
    if not any(mark in text for mark in ("{{", "{%", "{#")) or "diagram(" in text:
        return ""
    return ("; to show this text as it is (in a code example, say), wrap it in "
            "{% raw %}...{% endraw %}")


def _template_line(exc: BaseException, filename: str) -> int | None:
    line = getattr(exc, "line", None) or getattr(exc, "lineno", None)
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == filename:
            line = lineno
    return line


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SecurityError):
        return f"unsafe template code refused by the sandbox: {exc}"
    if isinstance(exc, jinja2.UndefinedError):
        return f"undefined variable: {exc.message}"
    if isinstance(exc, ChapterError):
        return str(exc)
    if isinstance(exc, MemoryError):
        from course_assets.render.isolate import MAX_CHILD_MEMORY

        return (f"the chapter needed more than the {MAX_CHILD_MEMORY // 2**30} GiB of memory "
                "a chapter may use (a filter or expression that makes a huge value?)")
    if isinstance(exc, RecursionError):
        return ("RecursionError: the chapter's template recursed too deeply (a macro that "
                "calls itself without end, or an expression nested too deeply)")
    return f"{type(exc).__name__}: {exc}"


def renderer_for(settings: Settings, facts: dict[str, FigureRecord],
                 unbuilt: set[str]) -> ChapterRenderer:
    """Return a renderer that embeds the figures whose last build `facts` records."""
    refs = {}
    for name, fact in facts.items():
        # By name, not by suffix: a figure's outputs include its slides' own layout
        # (`name.slide.svg`), and a record read back from the manifest lists them sorted.
        paths = settings.outputs
        svg, dark, outline = (p if p in fact.outputs else None for p in (
            paths.figure_file(f"{name}.svg"), paths.figure_file(f"{name}.dark.svg"),
            paths.figure_outline(name)))
        if svg is not None:
            refs[name] = FigureRef(name, settings.root / svg, fact.title, fact.description,
                                   settings.root / dark if dark is not None else None,
                                   settings.root / outline if outline is not None else None)
    return ChapterRenderer(refs, settings.templates_dir, unbuilt=unbuilt - set(refs),
                           scripts_folder=settings.outputs.relative(settings.diagrams_dir),
                           timeout=settings.timeout, chapters_dir=settings.chapters_dir)
