"""Read icon files once and turn them into embeddable PNG data, cached by content."""

from __future__ import annotations

import base64
import hashlib
import io
import struct
from dataclasses import dataclass
from pathlib import Path

from course_assets.errors import FigureError
from course_assets.reading import MAX_ICON_BYTES, read_source
from course_assets.render.raster import PNG_SIGNATURE, encoded_png

# The Pillow image modes a PNG file can store as they are.
PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"})


@dataclass(frozen=True)
class Icon:
    """An icon ready to embed: its PNG bytes as base64, its pixel size and a content digest."""

    digest: str
    data_uri: str
    width: int
    height: int
    source: str = ""  # the file it was first read from, to name in an error


_by_content: dict[str, Icon] = {}
_by_file: dict[tuple[Path, int, int], Icon] = {}


def load_icon(path: Path) -> Icon:
    """Return the icon at `path` as PNG data; the same bytes are encoded only once per process."""
    try:
        stat = path.stat()
        key = (path, stat.st_size, stat.st_mtime_ns)
        if key in _by_file:
            return _by_file[key]
        raw = read_source(path, MAX_ICON_BYTES)
    except OSError as exc:
        raise FigureError(f"icon file {path} cannot be read: {exc.strerror}") from None
    from course_assets.render.limits import icon_problem

    # Checked here too: an icon set with `image=` never passes the script's Custom check.
    problem = icon_problem(path, str(path))
    if problem is not None:
        raise FigureError(problem)
    digest = hashlib.sha256(raw).hexdigest()
    cached = _by_content.get(digest)
    if cached is None:
        cached = _by_content[digest] = _encode(raw, digest, path)
    _by_file[key] = cached
    return cached


def _encode(raw: bytes, digest: str, path: Path) -> Icon:
    size = _png_size(raw)
    if size is not None:
        _check_whole(raw, path)
        width, height = size  # PNG bytes are embedded as they are
    else:
        raw, width, height = _to_png(raw, path)
    encoded = base64.b64encode(raw).decode("ascii")
    return Icon(digest, f"data:image/png;base64,{encoded}", width, height, str(path))


def _check_whole(raw: bytes, path: Path) -> None:
    """Raise FigureError, naming the file, if a PNG of the author's is damaged or cut short."""
    from course_assets.render.capture import LIBRARY_ICONS

    if LIBRARY_ICONS in path.resolve().parents:
        return  # the diagrams library's own icons are whole, and decoding each costs time
    from PIL import Image

    try:
        with Image.open(io.BytesIO(raw)) as image:
            image.load()
    except (OSError, ValueError, SyntaxError) as exc:  # Pillow's words for a broken file
        raise FigureError(f"icon file {path} is damaged or truncated: Pillow cannot read it "
                          f"({exc}); save it again, whole") from None


def _png_size(raw: bytes) -> tuple[int, int] | None:
    """Return a PNG's size from its header, or None when `raw` is not a PNG."""
    # Reading 24 bytes spares importing Pillow in a worker whose icons are all PNG (the
    # diagrams library's are), which one-figure rebuilds notice.
    if not raw.startswith(PNG_SIGNATURE) or raw[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", raw[16:24])
    return (width, height) if width and height else None


def _to_png(raw: bytes, path: Path) -> tuple[bytes, int, int]:
    """Convert another image format to PNG, so every viewer and slide tool can show it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(raw)) as image:
            image.load()
            # A CMYK (print) JPEG, among others, has colours PNG cannot hold.
            converted = image if image.mode in PNG_MODES else image.convert("RGBA")
            return encoded_png(converted), image.size[0], image.size[1]
    except UnidentifiedImageError:
        raise FigureError(f"icon file is not an image Pillow can read: {path}") from None
    except (OSError, ValueError) as exc:
        raise FigureError(f"icon file is not an image Pillow can read: {path} ({exc})") from None


# Icon pixels per SVG user unit (a point): twice the CSS pixels an icon is shown at.
ICON_RESOLUTION = 2 * 4 / 3
_ALIGN = {"Min": 0.0, "Mid": 0.5, "Max": 1.0}
_fitted: dict[tuple[str, float, float, str], str] = {}


def fitted_icon(icon: Icon, box_width: float, box_height: float, aspect: str) -> str:
    """Return a PNG data URI of `icon` as shown in a box of that many pixels, at most its own.

    The icon is scaled down to the box and, when its shape differs from the box's, placed on a
    transparent canvas of the box's shape as `aspect` (preserveAspectRatio) says, so that a
    viewer that ignores preserveAspectRatio still draws it in the same place.
    """
    if box_width <= 0 or box_height <= 0:
        return icon.data_uri
    # The exact box, not its rounded pixels: boxes that round alike may still fit the icon a
    # row apart, and a worker's earlier figures must not choose a later one's bytes.
    key = (icon.digest, box_width, box_height, aspect)
    if key not in _fitted:
        _fitted[key] = _fit(icon, box_width, box_height, aspect)
    return _fitted[key]


def _fit(icon: Icon, box_width: float, box_height: float, aspect: str) -> str:
    stretch = aspect.split()[0] == "none"
    fit = min(box_width / icon.width, box_height / icon.height)
    # Never more pixels than the source has: shrink the whole box instead.
    density = min(1.0, 1 / fit) if fit > 0 else 1.0
    canvas = (max(1, round(box_width * density)), max(1, round(box_height * density)))
    if stretch:
        drawn = canvas
    else:
        drawn = (max(1, round(icon.width * fit * density)),
                 max(1, round(icon.height * fit * density)))
    if drawn == canvas == (icon.width, icon.height):
        return icon.data_uri
    from PIL import Image

    raw = base64.b64decode(icon.data_uri.split(",", 1)[1])
    try:
        with Image.open(io.BytesIO(raw)) as source:
            image = source.convert("RGBA")
    except (OSError, ValueError, SyntaxError) as exc:  # Pillow's words for a broken file
        raise FigureError(f"icon file {icon.source or 'of this figure'} is damaged or "
                          f"truncated: Pillow cannot read it ({exc}); save it again, whole") from None
    if drawn != (icon.width, icon.height):
        image = image.resize(drawn, Image.Resampling.LANCZOS)
    if drawn != canvas:
        align = aspect.split()[0] if not stretch else "xMidYMid"
        x_align = _ALIGN.get(align[1:4], 0.5)
        y_align = _ALIGN.get(align[5:8], 0.5)
        placed = Image.new("RGBA", canvas, (0, 0, 0, 0))
        placed.paste(image, (round((canvas[0] - drawn[0]) * x_align),
                             round((canvas[1] - drawn[1]) * y_align)))
        image = placed
    # No metadata and a fixed compression: the same icon gives the same bytes everywhere.
    return "data:image/png;base64," + base64.b64encode(encoded_png(image)).decode("ascii")
