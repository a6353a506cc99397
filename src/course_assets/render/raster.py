"""Size and normalise a figure's PNG (twice its SVG's size, within a limit), for slide tools."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from course_assets.errors import FigureError

if TYPE_CHECKING:
    from PIL import Image

SCALE = 2
# The PNG serves slides: it fits a 16:9 slide `png_max_side` pixels wide (config's default:
# twice the decks' 1280 x 720). More pixels than that are never seen, and cost time and bytes.
SLIDE_ASPECT = 9 / 16
# Cairo and the SVG round the page size separately; a pixel or two is rounding, more is a bug.
ROUNDING_SLACK = 2
# libgd's uncompressed truecolor picture (what Graphviz's "gd" device writes): a signature,
# width and height as big-endian 16-bit numbers, a truecolor flag and the transparent colour,
# then 4 bytes a pixel: alpha (7 bits, 0 opaque), red, green, blue.
GD_TRUECOLOR = b"\xff\xfe"
GD_HEADER = 11
GD_OPAQUE, GD_TRANSPARENT = 0, 127
# Rows of raw pixels read at a time: a few megabytes, against tens for the whole picture.
BAND_ROWS = 256


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
    """Return how much bigger than its SVG a figure's PNG is: twice, or less to fit a slide.

    The slide is `max_side` pixels wide and 9/16 of that high.
    """
    width, height = svg_pixels
    if width <= 0 or height <= 0:
        return SCALE
    return min(float(SCALE), max_side / width, max_side * SLIDE_ASPECT / height)


def png_size(svg_pixels: tuple[int, int], max_side: int) -> tuple[int, int]:
    """Return the PNG's pixel size for an SVG of `svg_pixels`: see `png_zoom`."""
    zoom = png_zoom(svg_pixels, max_side)
    return max(1, round(svg_pixels[0] * zoom)), max(1, round(svg_pixels[1] * zoom))


def picture_read(read: Callable[[int, int], bytes], size: tuple[int, int]) -> Image.Image | None:
    """Return the libgd picture `read(offset, length)` reads as an RGB picture of exactly `size`.

    None where nothing was painted, or where the page's background is not opaque: libgd keeps
    7 bits of alpha and drops what is less than a quarter covered, so such a figure takes
    Cairo's own PNG instead. The pixels are painted on an opaque page: only its last row and
    column can be partly covered, and those are blended onto its colour. The raw pixels are
    read a band of rows at a time: the picture is the only whole copy held.
    """
    import struct

    from PIL import Image

    header = read(0, GD_HEADER)
    if not header:
        return None
    if header[:2] != GD_TRUECOLOR or len(header) < GD_HEADER:
        raise FigureError("Graphviz painted no pixels for the PNG")
    width, height = struct.unpack(">HH", header[2:6])
    row = 4 * width
    if width < 1 or height < 1:
        raise FigureError("Graphviz painted an empty picture for the PNG")
    if read(GD_HEADER + height * row, 1):
        raise FigureError("Graphviz painted more pixels than the PNG's size")
    image = Image.new("RGB", (width, height))
    background: tuple[int, ...] = ()
    for top in range(0, height, BAND_ROWS):
        rows = min(BAND_ROWS, height - top)
        band = read(GD_HEADER + top * row, rows * row)
        if len(band) != rows * row:
            raise FigureError("Graphviz painted fewer pixels than the PNG's size")
        last = top + rows == height
        # libgd's alpha (0 opaque, 127 transparent) is each pixel's first byte: read in place
        # as the "red" of an RGBA picture, it is copied out alone.
        alpha = Image.frombuffer("RGBA", (width, rows), band, "raw", "RGBA", 0, 1).getchannel(0)
        inside_rows = rows - 1 if last else rows
        inside = (0, 0, max(1, width - 1), inside_rows)
        if inside_rows > 0 and alpha.crop(inside).getextrema() != (GD_OPAQUE, GD_OPAQUE):
            return None
        part = Image.frombuffer("RGB", (width, rows), band, "raw", "XRGB", 0, 1)
        if not background:
            first = part.getpixel((0, 0))
            assert isinstance(first, tuple)  # an RGB pixel: a tuple of three channels
            background = first
        if alpha.getextrema() != (GD_OPAQUE, GD_OPAQUE):
            _blend_edges(part, band, alpha, background, last_row=last)
        image.paste(part, (0, top))
        del band, alpha, part
    if image.size != size:
        image = _sized(image, size, background)
    return image


def _blend_edges(part: Image.Image, band: bytes, alpha: Image.Image,
                 background: tuple[int, ...], last_row: bool) -> None:
    """Blend the partly covered pixels of the last column (and row) onto the background."""
    width, height = part.size
    edges = [(width - 1, y) for y in range(height)]
    if last_row:
        edges += [(x, height - 1) for x in range(width - 1)]
    for x, y in edges:
        level = alpha.getpixel((x, y))
        assert isinstance(level, int)
        if level == GD_OPAQUE:
            continue
        if level == GD_TRANSPARENT:  # libgd's mark for less than a quarter covered
            part.putpixel((x, y), background[:3])
            continue
        # Cairo's colours are premultiplied by their coverage: add what the page leaves.
        at = 4 * (y * width + x)
        uncovered = level / GD_TRANSPARENT
        part.putpixel((x, y), tuple(
            min(255, round(band[at + 1 + channel] + background[channel] * uncovered))
            for channel in range(3)))


def _sized(image: Image.Image, size: tuple[int, int],
           background: tuple[int, ...]) -> Image.Image:
    """Return the picture at exactly `size`: cropped or padded within the slack, else scaled."""
    from PIL import Image

    if max(abs(image.width - size[0]), abs(image.height - size[1])) > ROUNDING_SLACK:
        return image.resize(size, Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", size, background[:3])
    canvas.paste(image, (0, 0))
    return canvas


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
    image: Image.Image = opened
    if image.size != size and max(abs(image.width - size[0]),
                                  abs(image.height - size[1])) > ROUNDING_SLACK:
        image = image.convert("RGBA").resize(size, Image.Resampling.LANCZOS)
    canvas = _flattened(image, size)
    # The decoded picture (tens of megabytes at slide size) is let go before encoding, unless
    # it is the canvas itself.
    del image, opened
    return encoded_png(canvas)


def encoded_png(image: Image.Image) -> bytes:
    """Return the picture as a PNG whose bytes depend on its pixels alone."""
    import zlib

    out = io.BytesIO()
    # No text chunks, no timestamps, fixed settings, and Pillow's own zlib (not the system's,
    # whose output differs between builds): the bytes depend on the pixels alone. Run-length
    # matching suits flat-coloured figures: a third faster than the default strategy, for
    # about 3% more bytes.
    image.save(out, format="PNG", optimize=False, compress_level=6, compress_type=zlib.Z_RLE)
    return out.getvalue()


def _flattened(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Return the picture at exactly `size`, on its background when that is opaque."""
    from PIL import Image

    if image.mode == "RGB" and image.size == size:
        return image  # Cairo painted every pixel opaque: nothing to flatten
    image = image if image.mode == "RGBA" else image.convert("RGBA")
    background = image.getpixel((0, 0))
    assert isinstance(background, tuple)  # an RGBA pixel: a tuple of four channels
    if background[3] != 255:
        canvas = Image.new("RGBA", size, (0, 0, 0, 0))
        canvas.paste(image, (0, 0))
        return canvas
    width, height = image.size
    # Only the extrema are kept: the alpha channel is let go before the picture is copied.
    inside = image.getchannel("A").crop((0, 0, max(1, width - 1), max(1, height - 1)))
    opaque_inside = inside.getextrema() == (255, 255)
    del inside
    if image.size != size or not opaque_inside:
        # Within the slack, crop or extend the far edges (padding) rather than resample it all.
        canvas = Image.new("RGB", size, background[:3])
        canvas.paste(image, (0, 0), image)
        return canvas
    # Only the last row and column can be partly transparent: blend those alone.
    canvas = image.convert("RGB")
    for box in ((width - 1, 0, width, height), (0, height - 1, width, height)):
        strip = image.crop(box)
        blended = Image.new("RGB", strip.size, background[:3])
        blended.paste(strip, (0, 0), strip)
        canvas.paste(blended, box[:2])
    return canvas
