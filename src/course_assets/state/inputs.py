"""Hash what each output is built from, so that a build and `check` agree on what is stale."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from course_assets.version import __version__
from course_assets.config import Settings
from course_assets.state.manifest import ChapterRecord, FigureRecord
from course_assets.state.sources import figure_template_path

# What the gallery and the decks are made with; read here, not by importing their modules,
# so that a build with nothing to do stays quick.
TEMPLATES = Path(__file__).parent.parent / "templates"
GALLERY_ASSETS = ("gallery.md.j2",)
DECK_ASSETS = ("slides/deck.html", "slides/deck.css", "slides/deck.js")


def library_versions() -> dict[str, str]:
    """Return the versions that shape the output, Graphviz's included."""
    # Pillow filters the PNGs' rows and libdeflate (the deflate package's) compresses them,
    # so their versions shape the PNGs' and icon tiles' bytes too. The Graphviz that lays out
    # and draws is the one bundled in the pinned pygraphviz wheel, so pygraphviz's version
    # names it without loading it.
    return {"course-assets": __version__, "diagrams": _installed_version("diagrams"),
            "graphviz": f"bundled with pygraphviz {_installed_version('pygraphviz')}",
            "pillow": _installed_version("pillow"), "deflate": _installed_version("deflate")}


@functools.cache  # asked once per chapter's decks too
def _installed_version(distribution: str) -> str:
    # Reading the dist-info folder's name costs a millisecond; importlib.metadata costs thirty,
    # and a build with nothing to do should take a tenth of a second.
    prefix = f"{distribution}-"
    for entry in sys.path:
        found = [name for name in _dist_infos(entry) if name.startswith(prefix)]
        if found:
            return found[-1][len(prefix):-len(".dist-info")]
    from importlib import metadata

    return metadata.version(distribution)


def _dist_infos(folder: str) -> tuple[str, ...]:
    """Return the names of the dist-info folders in a `sys.path` entry, sorted."""
    # One listing, matched in Python: pathlib's glob costs a millisecond a folder.
    try:
        return tuple(sorted(name for name in os.listdir(folder or ".")
                            if name.endswith(".dist-info")))
    except OSError:
        return ()


def dependency_path(settings: Settings, path: Path) -> str:
    """Name a file a figure depends on: relative to the course root, or absolute outside it."""
    try:
        return settings.outputs.relative(path)
    except ValueError:
        return path.resolve().as_posix()


def hash_inputs(*parts: str | bytes) -> str:
    """Hash a sequence of labelled parts so that no two sequences collide by concatenation."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def read_or_missing(path: Path) -> bytes:
    from course_assets.reading import read_source

    try:
        return read_source(path)
    except OSError:  # a FIFO among the sources too: discovery reports it
        return b"\0missing"


def figure_inputs(settings: Settings, script: Path, helpers: tuple[str, ...],
                  environment: dict[str, str]) -> str:
    """Hash everything a figure's outputs depend on."""
    parts: list[str | bytes] = ["figure", settings.fingerprint()]
    parts += [f"{key}={value}" for key, value in sorted(environment.items())]
    parts += [settings.outputs.relative(script), read_or_missing(script)]
    for helper in helpers:
        parts += [helper, read_or_missing(settings.root / helper)]
    return hash_inputs(*parts)


def chapter_inputs(settings: Settings, source: Path, used: tuple[str, ...],
                   figures: dict[str, FigureRecord], environment: dict[str, str]) -> str:
    """Hash a chapter's source, the figure template and the figures it embeds."""
    text = read_or_missing(source)
    parts: list[str | bytes] = [
        "chapter", settings.fingerprint(), f"course-assets={environment.get('course-assets')}",
        settings.outputs.relative(source), text,
        read_or_missing(figure_template_path(settings.templates_dir)),
    ]
    parts += _included_files(settings, text)
    for name in used:
        record = figures.get(name)
        if record is None:
            parts += [name, "\0unbuilt"]
            continue
        parts += [name, record.title, record.description]
        parts += [f"{path}={digest}" for path, digest in sorted(record.outputs.items())]
    return hash_inputs(*parts)


# A tag that reads another file into a chapter: `{% include %}`, `{% import %}`, `{% from %}`.
_READS_ANOTHER_FILE = re.compile(rb"\{%[-+]?\s*(include|import|from|extends)\b")


def _included_files(settings: Settings, source: bytes) -> list[str | bytes]:
    """Return every file a chapter that includes or imports could read, with its bytes.

    Which ones it reads depends on values only rendering knows, so all of them count: the
    files of the chapters folder and of templates/ (a chapter that includes nothing pays
    nothing).
    """
    if not _READS_ANOTHER_FILE.search(source):
        return []
    parts: list[str | bytes] = ["includes"]
    for folder in (settings.chapters_dir, settings.templates_dir):
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                parts += [path.relative_to(folder).as_posix(), read_or_missing(path)]
    return parts


def gallery_inputs(settings: Settings, figures: dict[str, FigureRecord],
                   chapters: dict[str, ChapterRecord], environment: dict[str, str]) -> str:
    """Hash what the gallery shows: every figure's words and files, and who uses it."""
    paths = settings.outputs
    parts: list[str | bytes] = ["gallery", *_derived_common(settings, environment),
                                *_assets(GALLERY_ASSETS), paths.relative(settings.diagrams_dir)]
    for name, record in sorted(figures.items()):
        parts += [name, record.script, record.title, record.description,
                  str(len(record.outputs)), *sorted(record.outputs)]
        # The gallery shows each figure's outline too.
        parts += [f"{p}={d}" for p, d in sorted(record.outputs.items())
                  if p.endswith(".outline.md")]
    for name, chapter in sorted(chapters.items()):
        parts += [name, paths.chapter_output(name), str(len(chapter.figures)), *chapter.figures]
    return hash_inputs(*parts)


def deck_inputs(settings: Settings, name: str, chapter: ChapterRecord,
                figures: dict[str, FigureRecord], environment: dict[str, str],
                images: Sequence[str] = ()) -> str:
    """Hash what a chapter's decks are made of: the built chapter, its figures and images.

    `images` are the course files the built chapter shows besides its figures.
    """
    parts: list[str | bytes] = ["slides", *_derived_common(settings, environment),
                                *_assets(DECK_ASSETS), name]
    if settings.outputs.pptx:
        # Its template and XML shape the PowerPoint decks' bytes (not the figures', so it is
        # named here rather than among the library versions every output depends on).
        parts.append(f"python-pptx={_installed_version('python_pptx')}")
    parts += [f"{path}={digest}" for path, digest in sorted(chapter.outputs.items())]
    for figure in chapter.figures:
        built = figures.get(figure)
        parts += [figure] + ([f"{p}={d}" for p, d in sorted(built.outputs.items())]
                             if built else ["\0unbuilt"])
        if built and built.fit:  # the slides it is shown on
            parts.append(json.dumps(built.fit, sort_keys=True))
    # The decks carry the chapter's own images (a photo, an SVG and the PNG beside it): a new
    # photo of the same name makes new decks.
    for path in images:
        parts += [path, read_or_missing(settings.root / path)]
    return hash_inputs(*parts)


def _derived_common(settings: Settings, environment: dict[str, str]) -> list[str | bytes]:
    return [settings.fingerprint(), f"course-assets={environment.get('course-assets')}"]


@functools.cache  # the package's own files: read once, not once per chapter's decks
def _assets(names: tuple[str, ...]) -> tuple[bytes, ...]:
    return tuple((TEMPLATES / name).read_bytes() for name in names)
