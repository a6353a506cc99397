"""Render a figure's graph to PNG at twice its SVG's size, for slide tools that take no SVG."""

from __future__ import annotations

import io
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

from course_assets.errors import FigureError

SCALE = 2
# Graphviz lays out in points (72 per inch); the SVG's pixel size is at 96 per inch.
SVG_DPI = 96
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


class PendingPng:
    """A PNG that Graphviz is painting in the background; `result()` waits for it."""

    def __init__(self, source: str, timeout: float, scratch: Path):
        from course_assets.render.graphviz import find_dot

        self._timeout = timeout
        self._collected = False
        self._deadline = time.monotonic() + timeout
        # The graph goes in a file, so a large graph cannot block on a full pipe.
        handle, name = tempfile.mkstemp(suffix=".gv", dir=scratch)
        with os.fdopen(handle, "wb") as out:
            out.write(source.encode("utf-8"))
        self._process = subprocess.Popen(
            [find_dot(), "-Tpng:cairo", f"-Gdpi={SVG_DPI * SCALE}", name],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        )

    def result(self, size: tuple[int, int]) -> bytes:
        """Return the PNG at exactly `size` pixels; raise FigureError when Graphviz fails."""
        self._collected = True
        try:
            out, err = self._process.communicate(
                timeout=max(0.0, self._deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.cancel()
            raise FigureError(f"Graphviz took longer than {self._timeout:g} s to paint the PNG"
                              ) from None
        if self._process.returncode != 0 or not out:
            detail = (err.decode("utf-8", "replace").strip()
                      or f"exit code {self._process.returncode}")
            raise FigureError(f"Graphviz could not paint the PNG: {detail}")
        return normalized_png(out, size)

    def cancel(self) -> None:
        """Stop painting (the figure failed elsewhere); nothing to do once collected."""
        if self._collected:
            return
        self._collected = True
        if self._process.poll() is None:
            self._process.kill()
        self._process.communicate()


def normalized_png(data: bytes, size: tuple[int, int]) -> bytes:
    """Return `data` as a PNG of exactly `size` with no metadata (same pixels, same bytes).

    A figure with an opaque background is flattened onto it: Cairo leaves the page's last,
    partly covered row and column half transparent, a faint line on any other background.
    """
    from PIL import Image

    with Image.open(io.BytesIO(data)) as opened:
        image = opened.convert("RGBA")
    if image.size != size and max(abs(image.width - size[0]),
                                  abs(image.height - size[1])) > ROUNDING_SLACK:
        image = image.resize(size, Image.Resampling.LANCZOS)
    # Within the slack, crop or extend the far edges (padding) rather than resample it all.
    background = image.getpixel((0, 0))
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
