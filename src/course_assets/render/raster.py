"""Size and normalise a figure's PNG (twice its SVG's size, within a limit), for slide tools."""

from __future__ import annotations

import functools
import io
import re
import struct
import sys
from typing import TYPE_CHECKING, Any

from course_assets.errors import FigureError

if TYPE_CHECKING:
    import ctypes

    from PIL import Image

SCALE = 2
# The PNG serves slides: it fits a 16:9 slide `png_max_side` pixels wide (config's default:
# twice the decks' 1280 x 720). More pixels than that are never seen, and cost time and bytes.
SLIDE_ASPECT = 9 / 16
# Cairo and the SVG round the page size separately; a pixel or two is rounding, more is a bug.
ROUNDING_SLACK = 2
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# libdeflate's level for the PNGs: a little smaller than zlib's 6, in half its time. Levels 3
# to 6 took the same time on figures' unfiltered rows; 6 is the smallest of them.
PNG_DEFLATE_LEVEL = 6


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


def painted_png(pixels: ctypes.Array[ctypes.c_char], size: tuple[int, int],
                stride: int) -> bytes | None:
    """Return Cairo's picture in `pixels` as an RGB PNG; None where a pixel is not opaque.

    `pixels` holds Cairo's ARGB32 format: a 32-bit number a pixel in the machine's byte order,
    rows `stride` bytes apart. A page that is not opaque keeps Cairo's own PNG, with its alpha.
    """
    from PIL import Image

    little = sys.byteorder == "little"
    # Seen in place as four channels whatever their order (Pillow copies nothing): alpha is
    # the last byte of a pixel on a little-endian machine, the first on a big-endian one.
    # Pillow reads any buffer; its type hints name only bytes and arrays.
    as_is = Image.frombuffer("RGBA", size, pixels, "raw", "RGBA", stride, 1)  # type: ignore[arg-type]
    alpha = as_is.getchannel(3 if little else 0)  # one band copied, not all four
    if alpha.getextrema() != (255, 255):
        return None
    del alpha
    # Opaque, so Cairo's premultiplied colours are the colours.
    if little:
        # Blue, green, red, alpha in memory, which Pillow reads as red, green, blue, alpha: its
        # "BGR" rows are the true colours, packed straight from Cairo's pixels, each row
        # followed by a zero byte (the next row's filter type).
        padded = as_is.tobytes("raw", ("BGR", size[0] * 3 + 1))
        del as_is
        return _png([(b"IHDR", _header(size, _COLOUR_TYPES["RGB"]))], _compressed_rows(padded))
    picture = Image.frombuffer("RGB", size, pixels, "raw", "XRGB", stride, 1)  # type: ignore[arg-type]
    return encoded_png(picture)


def normalized_png(data: bytes, size: tuple[int, int]) -> bytes:
    """Return `data` as a PNG of exactly `size` with no metadata (same pixels, same bytes).

    A figure with an opaque background is flattened onto it: Cairo leaves the page's last,
    partly covered row and column half transparent, a faint line on any other background.
    It is encoded again even when nothing changed: Cairo compresses with the system's zlib,
    whose output differs between zlib builds (see `encoded_png`).
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
    """Return the picture as a PNG whose bytes depend on its pixels and profile alone, anywhere.

    The rows are stored unfiltered and libdeflate compresses them. Python and Pillow compress
    with the system's zlib, whose output differs from one build to another (zlib-ng's, say):
    two authors' machines would then write other bytes for the same figure.
    """

    import deflate

    colour_type = _COLOUR_TYPES.get(image.mode)
    # A palette, 1-bit or 16-bit icon, or a rare grey or colour one with a transparent colour
    # (a tRNS chunk): Pillow writes its chunks.
    if colour_type is None or (image.mode in ("L", "RGB")
                               and image.info.get("transparency") is not None):
        before, rows, after = _rows_as_pillow_filters_them(image)
        packed = bytes(deflate.zlib_compress(rows, PNG_DEFLATE_LEVEL))
        del rows
    else:
        before, after = [(b"IHDR", _header(image.size, colour_type))], []
        packed = _compressed_rows(_padded_rows(image))
    return _png(before, packed, after, _profile(image))


def _header(size: tuple[int, int], colour_type: int) -> bytes:
    """Return the IHDR chunk's data: 8 bits a channel, no interlacing."""
    return struct.pack(">IIBBBBB", size[0], size[1], 8, colour_type, 0, 0, 0)


def _png(before: list[tuple[bytes, bytes]], packed: bytes,
         after: list[tuple[bytes, bytes]] | None = None,
         profile: list[tuple[bytes, bytes]] | None = None) -> bytes:
    """Return the PNG file: the header, the profile, the rest before the image data (a palette),
    the image data in one chunk, what follows it, the end."""
    return _chunked([*before[:1], *(profile or []), *before[1:], (b"IDAT", packed),
                     *(after or []), (b"IEND", b"")])


def _compressed_rows(padded: bytes | bytearray) -> bytes:
    """Return PNG's image data for rows that `padded` holds each followed by a zero byte.

    PNG wants each row behind its filter type, zero (none) here: the zlib stream holds the
    first row's zero alone, in a stored block of one byte, then libdeflate's blocks of the
    rows as they are, less the last zero. Copying the rows behind a zero instead cost as much
    as compressing them.
    """
    import zlib

    import deflate

    rows = memoryview(padded)[:-1]
    # Adler-32 is one exact sum, whichever zlib computes it.
    checksum = zlib.adler32(rows, zlib.adler32(FIRST_FILTER_TYPE))
    return b"".join((_zlib_header(), STORED_FIRST_FILTER_TYPE,
                     deflate.deflate_compress(rows, PNG_DEFLATE_LEVEL),
                     struct.pack(">I", checksum)))


# A zlib stream's first block holding the first row's filter type (0): not the last block
# (bit 0), stored (bits 1-2), then its length, 1, and that length's complement, little-endian.
FIRST_FILTER_TYPE = b"\x00"
STORED_FIRST_FILTER_TYPE = b"\x00" + struct.pack("<HH", 1, 0xFFFE) + FIRST_FILTER_TYPE


@functools.cache
def _zlib_header() -> bytes:
    """Return the two bytes libdeflate begins a zlib stream with at the PNGs' level."""
    import deflate

    return bytes(deflate.zlib_compress(b"", PNG_DEFLATE_LEVEL))[:2]


def _profile(image: Image.Image) -> list[tuple[bytes, bytes]]:
    """Return the picture's colour profile as an iCCP chunk, where PNG can use it.

    A JPEG photo's profile says what its colours are (a wide-gamut one shows duller without
    it). Compressed by libdeflate, not Pillow's zlib, for the same bytes on every machine. A
    profile of other colours (a print JPEG's CMYK one, its picture converted) is left out: PNG
    allows only a grey one for grey pictures and an RGB one for the rest.
    """
    import deflate

    profile = image.info.get("icc_profile")
    colours = b"GRAY" if image.mode in ("1", "L", "LA", "I", "I;16") else b"RGB "
    if not isinstance(profile, bytes) or profile[16:20] != colours:
        return []
    # A name, then compression method 0 (deflate).
    return [(b"iCCP", b"ICC Profile\0\0" + bytes(deflate.zlib_compress(profile,
                                                                      PNG_DEFLATE_LEVEL)))]


# PNG's colour type for each Pillow mode stored as it is, 8 bits a channel.
_COLOUR_TYPES = {"L": 0, "RGB": 2, "LA": 4, "RGBA": 6}


def _padded_rows(image: Image.Image) -> bytes | bytearray:
    """Return the picture's rows, each followed by a zero byte (the next row's filter type).

    Stored unfiltered: a figure is mostly flat colour, and its unfiltered rows compress smaller
    than the rows each filtered as libpng and Pillow choose (7.2 against 7.8 MB for 46
    figures' PNGs), where choosing the filters cost twice the compressing.
    """
    from PIL import ImageFile

    row_bytes = image.width * len(image.getbands())
    # Pillow's tobytes hands its encoder this many bytes at a time; a padded row must fit, or
    # it fails ("encoder error -8"): an RGBA picture 16,384 pixels wide, which a clear page
    # reaches at the largest png_max_side. Those rows are copied one by one instead.
    if row_bytes + 1 > max(ImageFile.MAXBLOCK, image.width * 4):
        return _rows_copied_one_by_one(image, row_bytes)
    # Pillow ends each row with zeros up to the stride asked for: one zero byte.
    return image.tobytes("raw", (image.mode, row_bytes + 1))


def _rows_copied_one_by_one(image: Image.Image, row_bytes: int) -> bytearray:
    """Return the picture's rows, each followed by a zero byte, copied a row at a time."""
    pixels = memoryview(image.tobytes())
    rows = bytearray((row_bytes + 1) * image.height)  # zero: each row's filter byte is "none"
    for row in range(image.height):
        start = row * (row_bytes + 1)
        rows[start:start + row_bytes] = pixels[row * row_bytes:(row + 1) * row_bytes]
    return rows


def _rows_as_pillow_filters_them(image: Image.Image,
                                 ) -> tuple[list[tuple[bytes, bytes]], bytearray,
                                            list[tuple[bytes, bytes]]]:
    """Return Pillow's chunks around the image data, and the image data's filtered rows."""
    unpacked = _PngChunks()
    # No text chunks, no timestamps, fixed settings: Pillow's rows, filtered, stored as they are.
    # No profile either: `_profile` writes it.
    image.save(unpacked, format="PNG", optimize=False, compress_level=0, icc_profile=None)
    return unpacked.before, unpacked.rows, [c for c in unpacked.after if c[0] != b"IEND"]


def _chunked(chunks: list[tuple[bytes, bytes]]) -> bytes:
    """Return the PNG file of these chunks: the signature, each chunk with its CRC."""
    import zlib

    written = [PNG_SIGNATURE]
    for kind, data in chunks:
        written.append(struct.pack(">I4s", len(data), kind) + data
                       + struct.pack(">I", zlib.crc32(kind + data)))
    return b"".join(written)


class _PngChunks(io.BytesIO):
    """A file Pillow writes a PNG to, kept as its chunks and its image data's rows (not bytes).

    The image data is inflated as it comes (inflating is exact, whichever zlib does it: these
    are the filtered rows themselves), so the stored PNG is never held whole beside them.
    """

    def __init__(self) -> None:
        import zlib

        super().__init__()
        self.before: list[tuple[bytes, bytes]] = []
        self.after: list[tuple[bytes, bytes]] = []
        self.rows = bytearray()
        self._inflate = zlib.decompressobj()
        self._pending = bytearray()
        self._signature_seen = False

    def write(self, data: Any) -> int:
        import struct

        self._pending += data
        if not self._signature_seen:
            if len(self._pending) < len(PNG_SIGNATURE):
                return len(data)
            del self._pending[:len(PNG_SIGNATURE)]
            self._signature_seen = True
        while len(self._pending) >= 8:
            length, kind = struct.unpack(">I4s", self._pending[:8])
            if len(self._pending) < 12 + length:
                break
            body = bytes(self._pending[8:8 + length])
            del self._pending[:12 + length]
            if kind == b"IDAT":
                self.rows += self._inflate.decompress(body)
            else:
                (self.after if self.rows else self.before).append((kind, body))
        return len(data)


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
