"""Read icon files once and turn them into embeddable PNG data, cached by content."""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from course_assets.errors import FigureError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Icon:
    """An icon ready to embed: its PNG bytes as base64, its pixel size and a content digest."""

    digest: str
    data_uri: str
    width: int
    height: int


_by_content: dict[str, Icon] = {}
_by_file: dict[tuple[Path, int, int], Icon] = {}


def load_icon(path: Path) -> Icon:
    """Return the icon at `path` as PNG data; the same bytes are encoded only once per process."""
    try:
        stat = path.stat()
        key = (path, stat.st_size, stat.st_mtime_ns)
        if key in _by_file:
            return _by_file[key]
        raw = path.read_bytes()
    except OSError as exc:
        raise FigureError(f"icon file cannot be read: {path} ({exc.strerror})") from None
    digest = hashlib.sha256(raw).hexdigest()
    cached = _by_content.get(digest)
    if cached is None:
        cached = _by_content[digest] = _encode(raw, digest, path)
    _by_file[key] = cached
    return cached


def _encode(raw: bytes, digest: str, path: Path) -> Icon:
    try:
        with Image.open(io.BytesIO(raw)) as image:
            width, height = image.size  # read from the header; PNG bytes are embedded as they are
            if not raw.startswith(PNG_SIGNATURE):
                image.load()
                # Embedded icons are always PNG, so every viewer and slide tool can show them.
                out = io.BytesIO()
                image.save(out, format="PNG", optimize=False)
                raw = out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise FigureError(f"icon file is not an image Pillow can read: {path} ({exc})") from None
    encoded = base64.b64encode(raw).decode("ascii")
    return Icon(digest, f"data:image/png;base64,{encoded}", width, height)
