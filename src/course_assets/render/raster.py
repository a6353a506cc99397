"""Size and normalise a figure's PNG (twice its SVG's size, within a limit), for slide tools."""

from __future__ import annotations

import io
import re

from course_assets.errors import FigureError

SCALE = 2
# Cairo and the SVG round the page size separately; a pixel or two is rounding, more is a bug.
ROUNDING_SLACK = 2


def svg_size(svg: bytes) -> tuple[int, int]:
    """Return the pixel width and height the post-processed SVG declares."""
    head = svg[:2000].decode("utf-8", "replace")
    match = re.search(r"<svg\b[^>]*>", head)
    tag = match.group(0) if match else ""
    width = re.search(r'\swidth="([0-9]+)"', tag)
    height = re.search(r'\sheight="([0-9]+)"', tag)
    if not (width and height):
        raise FigureError("the SVG has no pixel width and height to size its PNG from")
    return int(width.group(1)), int(height.group(1))


def png_zoom(svg_pixels: tuple[int, int], max_side: int) -> float:
    """Return how much bigger than its SVG a figure's PNG is: twice, or less for a wide figure."""
    longest = max(svg_pixels)
    return SCALE if longest <= 0 else min(float(SCALE), max_side / longest)


def png_size(svg_pixels: tuple[int, int], max_side: int) -> tuple[int, int]:
    """Return the PNG's pixel size for an SVG of `svg_pixels`: see `png_zoom`."""
    zoom = png_zoom(svg_pixels, max_side)
    return max(1, round(svg_pixels[0] * zoom)), max(1, round(svg_pixels[1] * zoom))


def normalized_png(data: bytes, size: tuple[int, int]) -> bytes:
    """Return `data` as a PNG of exactly `size` with no metadata (same pixels, same bytes).

    A figure with an opaque background is flattened onto it: Cairo leaves the page's last,
    partly covered row and column half transparent, a faint line on any other background.
    Pillow encodes it again even when nothing changed: Cairo compresses with the system's zlib,
    whose output differs between zlib builds, while Pillow brings its own.
    """
    from PIL import Image

    opened = Image.open(io.BytesIO(data))
    opened.load()
    # Cairo writes RGBA already: no copy of a picture that can be tens of megabytes.
    image = opened if opened.mode == "RGBA" else opened.convert("RGBA")
    if image.size != size and max(abs(image.width - size[0]),
                                  abs(image.height - size[1])) > ROUNDING_SLACK:
        image = image.resize(size, Image.Resampling.LANCZOS)
    # Within the slack, crop or extend the far edges (padding) rather than resample it all.
    background = image.getpixel((0, 0))
    assert isinstance(background, tuple)  # an RGBA pixel: a tuple of four channels
    if background[3] == 255:
        canvas = Image.new("RGB", size, background[:3])
        canvas.paste(image, (0, 0), image)
    else:
        canvas = Image.new("RGBA", size, (0, 0, 0, 0))
        canvas.paste(image, (0, 0))
    out = io.BytesIO()
    # No text chunks, no timestamps, fixed settings: the bytes depend on the pixels alone.
    canvas.save(out, format="PNG", optimize=False, compress_level=6)
    return out.getvalue()
