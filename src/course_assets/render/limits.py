"""The sizes a figure may reach, checked where the author can still be told the line to fix."""

from __future__ import annotations

import contextlib
import re
import signal
import struct
from dataclasses import dataclass
from collections.abc import Iterator
from pathlib import Path

from course_assets.errors import FigureError
from course_assets.render.raster import PNG_SIGNATURE

# An icon is drawn a few hundred pixels wide: one of more pixels than this is a mistake (or a
# decompression bomb), and would take the build's memory.
MAX_ICON_PIXELS = 4096 * 4096
# Graphviz's scanner refuses a quoted string (a label, an attribute value) this long or longer.
MAX_DOT_STRING = 16000

# The image formats (as Pillow names them) Graphviz loads for an icon; MPO is a camera's JPEG.
GRAPHVIZ_DRAWS = frozenset({"PNG", "JPEG", "MPO", "GIF"})
# A DOT token: a quoted string, or a bare word (an alphanumeric label needs no quotes).
_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|([^\s"\[\]=;,{}]+)', re.DOTALL)


def icon_problem(path: Path, shown: str) -> str | None:
    """Say what is wrong with an icon file (not an image, or too large), or None if it is fine."""
    from course_assets.reading import kind_problem

    odd = kind_problem(path)
    if odd is not None:
        return f"icon file {shown} {odd}"
    try:
        with path.open("rb") as handle:
            head = handle.read(24)
    except OSError as exc:
        return f"icon file cannot be read: {shown} ({exc.strerror})"
    if head.startswith(PNG_SIGNATURE) and head[12:16] == b"IHDR":
        width, height = struct.unpack(">II", head[16:24])
    else:
        found = _image_format_and_size(path)
        if found is None:
            kind = "an SVG file" if path.suffix.lower() == ".svg" else "not an image Pillow reads"
            return (f"icon file {shown} is {kind}: give Custom a PNG (or JPEG, GIF) icon, "
                    "e.g. convert an SVG with `rsvg-convert -w 256 -o icon.png icon.svg`")
        kind, (width, height) = found
        if kind not in GRAPHVIZ_DRAWS:
            # Graphviz would only warn, and leave the icon out of the light figure.
            return (f"icon file {shown} is a {kind} image, which Graphviz cannot draw: give "
                    "Custom a PNG (or JPEG, GIF) icon, e.g. convert it with Pillow: "
                    f"`Image.open({shown!r}).save({str(Path(shown).with_suffix('.png'))!r})`")
    if width * height > MAX_ICON_PIXELS:
        return (f"icon file {shown} is {width:,} x {height:,} pixels, more than the "
                f"{MAX_ICON_PIXELS:,} an icon may have; scale it down (256 x 256 is plenty)")
    return None


def _image_format_and_size(path: Path) -> tuple[str, tuple[int, int]] | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:  # reads the header only
            return str(image.format), image.size
    except Image.DecompressionBombError:
        return "PNG", (MAX_ICON_PIXELS, MAX_ICON_PIXELS)  # reported as too large
    except (UnidentifiedImageError, OSError, ValueError):
        return None


# A node statement of the DOT the diagrams library writes, and its `image` attribute.
_NODE_IMAGE = re.compile(r'^\s*"?(n\d+)"?\s*\[(?:[^"\]]|"(?:[^"\\]|\\.)*")*?\bimage="((?:[^"\\]|\\.)*)"',
                         re.MULTILINE)


def image_problems(dot_source: str) -> list[tuple[str, str]]:
    """Return (node id, problem) for each `image=` icon that is not a fit image file.

    Custom icons are checked as the script makes them; an icon set with `image=` reaches
    Graphviz unchecked, which would load a picture of any size.
    """
    found = []
    for match in _NODE_IMAGE.finditer(dot_source):
        node, given = match.group(1), match.group(2).replace('\\"', '"')
        problem = icon_problem(Path(given), given)
        if problem is not None and "cannot be read" not in problem:  # Graphviz says so itself
            found.append((node, problem))
    return found


# Characters an XML (so SVG) file cannot hold at all: C0 controls but tab, newline, return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# The node a line of the diagrams library's DOT states, if it states one.
_NODE_STATEMENT = re.compile(r'^\s*"?(n\d+)"?\s*\[')


def control_character_problem(what: str, text: str) -> str | None:
    """Say which control character `text` holds that no SVG can, or None if it holds none."""
    found = _CONTROL.search(text)
    if found is None:
        return None
    code = ord(found.group())
    return (f"{what} holds the control character U+{code:04X}, which an SVG file cannot hold; "
            f"remove it (to show it, write it out, e.g. '\\\\x{code:02x}')")


def control_character_node(dot_source: str) -> str | None:
    """Return the id of the node whose DOT statement holds the first control character."""
    found = _CONTROL.search(dot_source)
    if found is None:
        return None
    line = dot_source[dot_source.rfind("\n", 0, found.start()) + 1:found.start()]
    statement = _NODE_STATEMENT.match(line)
    return statement.group(1) if statement else None


def long_string_problem(dot_source: str) -> str | None:
    """Say which label or attribute is too long for Graphviz, or None when all fit."""
    for match in _TOKEN.finditer(dot_source):
        text = match.group(1) if match.group(1) is not None else match.group(2)
        if len(text) >= MAX_DOT_STRING:
            start = text[:40].replace("\n", " ")
            return (f"a label or attribute value of {len(text):,} characters (starting "
                    f"{start!r}...) is longer than Graphviz accepts ({MAX_DOT_STRING:,}); "
                    "shorten it")
    return None


TOO_LARGE = ("a figure this large is better split into smaller ones (or leave \"png\" out of "
             "`formats`, or raise `timeout`, in [tool.course-assets])")


def figure_error(exc: BaseException, script: Path, line: int | None) -> FigureError:
    """Return an unexpected failure (Pillow, memory) as the figure's error, with what to do."""
    from course_assets.render.syslibs import missing_library, missing_library_advice

    library = missing_library(str(exc)) if isinstance(exc, (ImportError, OSError)) else None
    if library is not None:
        return FigureError(missing_library_advice(library), script, line)
    return FigureError(f"{type(exc).__name__}: {exc}; {TOO_LARGE}", script, line)


@contextlib.contextmanager
def located_at(script: Path, line: int | None) -> Iterator[None]:
    """Report any failure inside as the figure's error at its Diagram's line, with a hint.

    Graphviz running out of time or failing to paint a PNG is, most likely, the figure's size.
    """
    try:
        yield
    except FigureError as exc:
        if exc.path is None:
            exc.path, exc.line = script, exc.line or line
            if any(sign in exc.message for sign in ("took longer than", "PNG",
                                                    "did not finish laying out")) \
                    and TOO_LARGE not in exc.message:
                exc.message = f"{exc.message}; {TOO_LARGE}"
                exc.args = (exc.message,)
        raise
    except Exception as exc:  # noqa: BLE001 - Graphviz or Pillow giving up on this figure
        raise figure_error(exc, script, line) from None


CHILD_FIRST = 1.0


class FigureTookTooLong(FigureError):
    """The figure's whole work (script, layout, icons, lint, PNG) ran past its time limit."""


@dataclass
class Clock:
    """Whether a figure's time limit ran out (told once, even if the failure was swallowed)."""

    seconds: float
    expired: bool = False

    def message(self) -> str:
        return (f"stopped after {self.seconds:g} s: the figure did not finish in time (its "
                "script, layout, icons and lint together); simplify it, use smaller icons, or "
                "raise the limit with --timeout or `timeout` in [tool.course-assets]")


@contextlib.contextmanager
def time_limit(seconds: float, told: float | None = None) -> Iterator[Clock]:
    """Raise FigureTookTooLong in this thread once `seconds` have passed (Unix, main thread).

    The figure's script and layout run in a child with a limit of their own; this one covers
    what the worker does with the result too: fitting its icons, the lint, the PNG. `told` is
    the limit its message names, where `seconds` are what a stage has left of it.
    """
    clock = Clock(seconds if told is None else told)
    if not hasattr(signal, "setitimer"):  # pragma: no cover - Windows
        yield clock
        return

    def expire(signum: int, frame: object) -> None:
        if not clock.expired:
            clock.expired = True
            raise FigureTookTooLong(clock.message())

    previous = signal.signal(signal.SIGALRM, expire)
    # A moment more, so that a script or layout that overruns is told by its child's own
    # limit, at its line, and this clock only ever stops the work that follows.
    signal.setitimer(signal.ITIMER_REAL, seconds + CHILD_FIRST)
    try:
        yield clock
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
