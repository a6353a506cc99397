"""Write the figure gallery: every figure with its picture, words, chapters and files."""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from course_assets.state.manifest import ChapterRecord, FigureRecord

if TYPE_CHECKING:
    import jinja2

TEMPLATE = Path(__file__).parent.parent / "templates" / "gallery.md.j2"

# What each kind of output is for, in the order the gallery lists them.
# A figure with a layout of its own for slides has its PNGs in that layout alone (PNGs serve
# slides): the gallery links those.
SLIDE_PNG = "PNG 2x (slide layout)"
FILE_KINDS = (
    (".svg", "SVG", False), (".png", "PNG 2x", False),
    (".slide.png", SLIDE_PNG, False),
    (".dark.svg", "dark SVG", True), (".dark.png", "dark PNG 2x", True),
    (".slide.dark.png", f"dark {SLIDE_PNG}", True),
    (".outline.md", "text outline", False),
)


def render_gallery(gallery_path: str, scripts_folder: str, figures: dict[str, FigureRecord],
                   chapters: dict[str, ChapterRecord],
                   chapter_outputs: dict[str, str],
                   read: Callable[[str], bytes | None] = lambda path: None) -> bytes:
    """Return the gallery's Markdown; paths are relative to the course root, with slashes."""

    here = posixpath.dirname(gallery_path)
    entries: list[dict[str, object]] = []
    kinds: set[str] = set()
    for name, record in sorted(figures.items()):
        users = sorted(chapter for chapter, r in chapters.items() if name in r.figures)
        files: list[dict[str, str]] = []
        for suffix, label, _dark in FILE_KINDS:
            path = next((p for p in sorted(record.outputs) if _kind(p) == suffix), None)
            if path is not None:
                files.append({"label": label, "path": path, "link": _link(here, path)})
        kinds.update(f["label"] for f in files)
        by_label = {f["label"]: f["link"] for f in files}
        by_path = {f["label"]: f["path"] for f in files}
        entries.append({
            "name": name,
            "anchor": _anchor(name),
            "title": record.title or name,
            "description": record.description,
            "alt": record.description or record.title or name,
            "svg": by_label.get("SVG", ""),
            "dark_svg": by_label.get("dark SVG"),
            "files": files,
            "chapters": [{"name": c, "link": _link(here, chapter_outputs[c])}
                         for c in users if c in chapter_outputs],
            "outline": _outline_body(read(by_path["text outline"]))
                       if "text outline" in by_path else "",
            "script": record.script,
            "script_link": _link(here, record.script),
        })
    text = gallery_template().render(figures=entries, scripts_folder=scripts_folder,
                           formats_sentence=_formats_sentence(kinds))
    return (str(text).rstrip("\n") + "\n").encode("utf-8")


@functools.cache
def gallery_template() -> jinja2.Template:
    """Return the compiled gallery template (compiled once per process)."""
    import jinja2

    environment = jinja2.Environment(autoescape=False, keep_trailing_newline=True,
                                     undefined=jinja2.StrictUndefined)
    from course_assets.publish.markdown import link_target, text

    environment.filters["cell"] = lambda value: str(value).replace("|", "\\|")
    # Chapter names are file names: shown as text, linked as paths, whatever they hold.
    environment.filters["md_text"] = text
    environment.filters["md_link"] = link_target
    return environment.from_string(TEMPLATE.read_text(encoding="utf-8"))


def _kind(path: str) -> str:
    name = posixpath.basename(path)
    if name.endswith((".slide.png", ".slide.dark.png")):
        return name[name.index(".slide."):]
    if ".slide." in name:
        return ".slide"  # the layout fitted to slides: the decks show it, the gallery does not
    if path.endswith(".outline.md"):
        return ".outline.md"
    if path.endswith((".dark.svg", ".dark.png")):
        return path[-9:]
    return posixpath.splitext(path)[1]


def _link(here: str, path: str) -> str:
    return posixpath.relpath(path, here or ".")


def _anchor(name: str) -> str:
    # Our own anchor, not a heading's: how a site turns headings into anchors varies.
    return "figure-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def _formats_sentence(kinds: set[str]) -> str:
    parts = ["as SVG (web pages, PowerPoint, Keynote)"]
    if "PNG 2x" in kinds or SLIDE_PNG in kinds:
        png = "as PNG at twice the size (Google Slides and other tools without SVG"
        if SLIDE_PNG in kinds:
            png += "; in the layout for slides, where a figure has one"
        parts.append(png + ")")
    sentence = "Each is built " + " and ".join(parts)
    if "dark SVG" in kinds:
        sentence += (", in light and in dark colours (pages show the one that matches the "
                     "reader's theme)")
    return sentence + "."


def _outline_body(data: bytes | None) -> str:
    """Return a figure's outline without its title and description, headings made smaller."""
    if data is None:
        return ""
    lines = data.decode("utf-8", "replace").splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("## ")), len(lines))
    return "\n".join("#### " + line[3:] if line.startswith("## ") else line
                     for line in lines[start:]).strip()
