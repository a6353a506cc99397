"""What a built chapter points at, seen from a deck: links rebased, pictures inlined and sized."""

from __future__ import annotations

import base64
import posixpath
import re
from collections.abc import Callable
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit, urlunsplit

from typing import TYPE_CHECKING

from course_assets.state.inputs import read_or_missing

if TYPE_CHECKING:
    from course_assets.config import Settings
    from course_assets.state.manifest import ChapterRecord

# Left as they are in an SVG data URI: never special there, nor in a double-quoted attribute.
SVG_URI_SAFE = "/+=:;,.-_ ()'!*@$~"
# Everything else is percent-encoded; a regex finds the few such bytes at C speed, where
# urllib's quote() walks all of them in Python (a tenth of a second per large figure).
SVG_URI_UNSAFE = re.compile(rb"[^A-Za-z0-9" + re.escape(SVG_URI_SAFE.encode()) + rb"]")
IMAGE_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg",
               ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp"}

# Reads an output of the build (a path relative to the course root); None when there is none.
Reader = Callable[[str], bytes | None]


def rebase(target: str, chapter_path: str, deck_path: str) -> str:
    """Return a relative `target` of the built chapter as seen from the deck."""
    from course_assets.publish.markdown import is_external

    if not target or is_external(target) or target.startswith(("#", "/")):
        return target
    parts = urlsplit(target)
    if not parts.path:
        return target
    absolute = posixpath.normpath(posixpath.join(posixpath.dirname(chapter_path), parts.path))
    moved = posixpath.relpath(absolute, posixpath.dirname(deck_path) or ".")
    return urlunsplit(("", "", moved, parts.query, parts.fragment))


def resolve(target: str, chapter_path: str) -> str | None:
    """Return the course-relative path a local image `target` of the chapter names."""
    from course_assets.publish.markdown import is_external

    if not target or is_external(target) or target.startswith(("#", "/", "data:")):
        return None
    # A Markdown link spells a space as %20 (markdown-it writes it so): the file has a space.
    path = unquote(urlsplit(target).path)
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(chapter_path), path))
    return None if resolved.startswith("../") or resolved == ".." else resolved


def data_uri(target: str, chapter_path: str, read: Reader) -> str | None:
    """Return a local image of the chapter as a data URI, or None when it is none."""
    resolved = resolve(target, chapter_path)
    kind = IMAGE_TYPES.get(PurePosixPath(resolved or "").suffix.lower())
    if resolved is None or kind is None:
        return None
    data = read(resolved)
    if data is None:
        return None
    if kind == "image/svg+xml":
        # Mostly base64 icon data already, which needs no escaping: a quarter smaller than
        # base64 of base64.
        escaped = SVG_URI_UNSAFE.sub(lambda m: b"%%%02X" % m[0][0], data)
        return "data:image/svg+xml," + escaped.decode("ascii")
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def image_size(src: str, chapter_path: str, read: Reader) -> tuple[int, int] | None:
    """Return a local image's pixel size, or None when it cannot be read."""
    resolved = resolve(src, chapter_path)
    data = read(resolved) if resolved else None
    if not data or resolved is None:
        return None
    if resolved.endswith(".svg"):
        from course_assets.render.raster import svg_size

        try:
            return svg_size(data)
        except Exception:  # noqa: BLE001 - an SVG without a size is shown at its own size
            return None
    try:
        import io

        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            return int(width), int(height)
    except Exception:  # noqa: BLE001 - an image Pillow cannot read is shown at its own size
        return None


def fit(size: tuple[int, int] | None, box: tuple[int, int]) -> tuple[int, int] | None:
    """Scale `size` to fit `box`, at most twice its own size, keeping its aspect."""
    if size is None or not size[0] or not size[1]:
        return None
    scale = min(box[0] / size[0], box[1] / size[1], 2.0)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def chapter_images(settings: Settings, chapter: ChapterRecord,
                    read: Callable[[str], bytes | None] | None) -> list[str]:
    """Return the course files a built chapter shows as images, other than built figures."""
    # Loaded here, not with the module: a build with nothing to do parses no chapter.
    from course_assets.publish.markdown import references

    paths = settings.outputs
    figures_dir = paths.relative(paths.figures_dir) + "/"
    found = set()
    for output in chapter.outputs:
        data = read(output) if read is not None else None
        if data is None:
            data = read_or_missing(settings.root / output)
        for ref in references(data.decode("utf-8", "replace")):
            path = resolve(ref.target, output) if ref.kind == "image" else None
            if path is None or path.startswith(figures_dir):
                continue
            found.add(path)
            if path.lower().endswith(".svg"):
                found.add(path[:-4] + ".png")  # its fallback in the PowerPoint decks
    return sorted(found)
