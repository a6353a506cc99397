"""Render chapter sources (Markdown with Jinja2) in a sandbox, embedding figures by name."""

from __future__ import annotations

import difflib
import html
import os
import sys
import re
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import jinja2
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from course_assets.errors import ConfigError, Problem
from course_assets.state.sources import figure_template_path

WIDTH = re.compile(r"[1-9][0-9]{0,4}(px|%)?")
BOM = "\ufeff"


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
    """A mistake in a chapter, raised from inside the template (carries no location itself)."""


def read_source(path: Path) -> str:
    """Read a chapter as UTF-8 (a byte-order mark is dropped); raise ChapterError otherwise."""
    raw = path.read_bytes()
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


class ChapterRenderer:
    """Render chapters against a fixed set of figures, with one sandboxed Jinja2 environment."""

    def __init__(self, figures: dict[str, FigureRef], templates_dir: Path,
                 unbuilt: set[str] = frozenset(), scripts_folder: str = "diagrams") -> None:
        self._figures = figures
        self._unbuilt = unbuilt
        self._scripts_folder = scripts_folder
        self._env = SandboxedEnvironment(
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
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
            # Compiled under the chapter's path, so Jinja2 reports errors at its lines.
            code = self._env.compile(source, name=source_path.name, filename=filename)
            template = self._env.template_class.from_code(
                self._env, code, self._env.make_globals(None))
        except ChapterError as exc:
            return RenderedChapter(None, (), Problem(source_path, exc.line, str(exc)))
        except jinja2.TemplateSyntaxError as exc:
            return RenderedChapter(None, (), Problem(
                source_path, exc.lineno, f"template syntax error: {exc.message}"))
        except OSError as exc:
            return RenderedChapter(None, (), Problem(source_path, None,
                                                     f"cannot read: {exc.strerror}"))

        def diagram(name: str, alt: str | None = None, width: int | str | None = None) -> str:
            if isinstance(name, str) and name in self._unbuilt and name not in self._figures:
                placeholders.append((name, _calling_line(filename, template)))
                used.append(name)
                return self._placeholder(name)
            return self._figure_snippet(name, alt, width, output_path, used)

        try:
            text = template.render(diagram=diagram)
        except Exception as exc:  # noqa: BLE001 - every template failure is the chapter's error
            return RenderedChapter(None, (), Problem(
                source_path, _template_line(exc, filename), _describe(exc)))
        return RenderedChapter(text, tuple(dict.fromkeys(used)), placeholders=tuple(placeholders))

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
            close = difflib.get_close_matches(name, list(self._figures), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            known = ", ".join(sorted(self._figures)) or "none"
            raise ChapterError(f"unknown figure {name!r}{hint} (figures: {known})")
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


def _calling_line(filename: str, template: jinja2.Template) -> int | None:
    """Return the chapter line that is calling now (Jinja2 maps its code lines to the source's)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename == filename:
            return template.get_corresponding_lineno(frame.f_lineno)
        frame = frame.f_back
    return None


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
    return f"{type(exc).__name__}: {exc}"


def renderer_for(settings, facts, unbuilt: set[str]) -> ChapterRenderer:
    """Return a renderer that embeds the figures described by `facts` (name -> FigureFacts)."""
    refs = {}
    for name, fact in facts.items():
        svg = next((p for p in fact.outputs if p.endswith(".svg") and ".dark." not in p), None)
        dark = next((p for p in fact.outputs if p.endswith(".dark.svg")), None)
        outline = next((p for p in fact.outputs if p.endswith(".outline.md")), None)
        if svg is not None:
            refs[name] = FigureRef(name, settings.root / svg, fact.title, fact.description,
                                   settings.root / dark if dark is not None else None,
                                   settings.root / outline if outline is not None else None)
    return ChapterRenderer(refs, settings.templates_dir, unbuilt=unbuilt - set(refs),
                           scripts_folder=settings.layout.relative(settings.diagrams_dir))
