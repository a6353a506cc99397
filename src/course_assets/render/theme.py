"""Render a figure in the light or the dark theme: the script's theme switch, and dark defaults.

A course's own style helper (e.g. diagrams/_style.py) holds its light and dark palettes and
picks one from COURSE_ASSETS_THEME, which the generator sets in the child that runs a script.
A script that sets no colours of its own still gets a legible dark variant: in the dark theme the
diagrams library's built-in defaults (white page, dark grey text, pastel clusters) are replaced
by DARK_DEFAULTS before the script runs, so whatever the script sets itself still wins.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from course_assets.errors import FigureError

if TYPE_CHECKING:
    from PIL import Image

THEME_VARIABLE = "COURSE_ASSETS_THEME"
LIGHT, DARK = "light", "dark"


@dataclass(frozen=True)
class DarkDefaults:
    """The colours a figure gets in the dark theme wherever its script sets none."""

    background: str = "#0D1117"
    text: str = "#E6EDF3"
    muted: str = "#A9B4BF"
    edge: str = "#A9B4BF"
    node_border: str = "#A9B4BF"
    # One per nesting depth, as the library's pastel cluster colours are.
    cluster_backgrounds: tuple[str, ...] = ("#10263A", "#132217", "#1F1A33", "#2B2410")
    cluster_border: str = "#4D5966"
    # Provider icons are drawn for a white page; a light tile keeps their dark parts visible.
    icon_backdrop: tuple[int, int, int] = (0xE6, 0xED, 0xF3)


DARK_DEFAULTS = DarkDefaults()


@contextlib.contextmanager
def applied(theme: str) -> Iterator[None]:
    """Set the theme variable and, for dark, the library defaults; restore both afterwards."""
    import diagrams

    saved_env = os.environ.get(THEME_VARIABLE)
    # Always set, so that a COURSE_ASSETS_THEME left in the author's shell cannot darken the
    # light figure.
    os.environ[THEME_VARIABLE] = theme
    targets = [
        (diagrams.Diagram, "_default_graph_attrs"),
        (diagrams.Diagram, "_default_node_attrs"),
        (diagrams.Diagram, "_default_edge_attrs"),
        (diagrams.Cluster, "_default_graph_attrs"),
        (diagrams.Cluster, "_Cluster__bgcolors"),
        (diagrams.Edge, "_default_edge_attrs"),
    ]
    saved = [(owner, name, owner.__dict__[name]) for owner, name in targets]
    try:
        if theme == DARK:
            _darken_library(diagrams, DARK_DEFAULTS)
        yield
    finally:
        for owner, name, value in saved:
            setattr(owner, name, value)
        if saved_env is None:
            os.environ.pop(THEME_VARIABLE, None)
        else:
            os.environ[THEME_VARIABLE] = saved_env


def _darken_library(diagrams: Any, colours: DarkDefaults) -> None:
    diagrams.Diagram._default_graph_attrs = {
        **diagrams.Diagram._default_graph_attrs,
        "bgcolor": colours.background, "fontcolor": colours.text,
    }
    diagrams.Diagram._default_node_attrs = {
        **diagrams.Diagram._default_node_attrs,
        "fontcolor": colours.text, "color": colours.node_border,
    }
    diagrams.Diagram._default_edge_attrs = {
        **diagrams.Diagram._default_edge_attrs,
        "color": colours.edge, "fontcolor": colours.muted,
    }
    diagrams.Cluster._default_graph_attrs = {
        **diagrams.Cluster._default_graph_attrs,
        "pencolor": colours.cluster_border, "fontcolor": colours.text,
    }
    diagrams.Cluster._Cluster__bgcolors = colours.cluster_backgrounds
    # The library gives every edge its own dark label colour, which would beat the graph's
    # edge defaults (the style helper's or ours) and vanish on a dark page.
    edge_defaults = dict(diagrams.Edge._default_edge_attrs)
    edge_defaults.pop("fontcolor", None)
    diagrams.Edge._default_edge_attrs = edge_defaults


class IconTiles:
    """Name, in the child that runs a script, the tiled copy each icon gets in the dark theme.

    The script only names the files; `paint_tiles` makes them once the script has ended,
    before Graphviz reads them, so that nothing the build writes happens inside author code.
    A tile is named by what it is made of (the icon's bytes and the tile's colour), so a folder
    that outlives one figure (a worker's) paints each icon once for every figure that shows it.
    """

    def __init__(self, folder: Path,
                 colour: tuple[int, int, int] = DARK_DEFAULTS.icon_backdrop) -> None:
        self._folder = folder
        self._colour = colour

    def __call__(self, icon: Path) -> Path:
        try:
            made_of = hashlib.sha256(icon.read_bytes())
        except OSError:  # painting it says why, at the script
            made_of = hashlib.sha256(b"unreadable " + os.fsencode(icon))
        made_of.update(bytes(self._colour))
        return self._folder / f"{made_of.hexdigest()[:32]}.png"


def paint_tiles(copies: tuple[tuple[Path, Path], ...],
                colour: tuple[int, int, int] = DARK_DEFAULTS.icon_backdrop) -> None:
    """Write each (tile, icon) pair's tile: the icon on a light rounded tile."""
    from course_assets.state.files import atomic_write

    for tile, icon in copies:
        if tile.exists():
            continue
        try:
            raw = icon.read_bytes()
        except OSError as exc:
            raise FigureError(f"icon file cannot be read: {icon} ({exc.strerror})") from None
        atomic_write(tile, tile_icon(raw, colour, icon))


def tile_icon(raw: bytes, colour: tuple[int, int, int], where: Path | None = None) -> bytes:
    """Return PNG bytes: the icon centred on a rounded tile of `colour`, reproducibly encoded."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(raw)) as opened:
            icon = opened.convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise FigureError(f"icon file is not an image Pillow can read: {where} ({exc})") from None
    width, height = icon.size
    # Margins in proportion: the tile has its icon's shape, so it fills the box the light
    # figure fitted the icon to, and the dark figure is laid out as the light one.
    margins = (max(2, round(width * TILE_MARGIN)), max(2, round(height * TILE_MARGIN)))
    size = (width + 2 * margins[0], height + 2 * margins[1])
    tile = Image.new("RGBA", size, (*colour, 0))
    tile.putalpha(_tile_shape(size))
    tile.alpha_composite(icon, margins)
    from course_assets.render.raster import encoded_png

    return encoded_png(tile)


# A tile's margin around its icon, a share of the icon's width (left and right) and height.
TILE_MARGIN = 0.08


@functools.lru_cache(maxsize=16)
def _tile_shape(size: tuple[int, int]) -> Image.Image:
    """Return a tile's rounded-rectangle mask: drawn once per size (most icons share one)."""
    from PIL import Image, ImageDraw

    # Pillow draws rounded rectangles without anti-aliasing: draw large, then shrink.
    scale = 4
    mask = Image.new("L", (size[0] * scale, size[1] * scale), 0)
    radius = round(min(size) * 0.16) * scale
    ImageDraw.Draw(mask).rounded_rectangle(
        (0, 0, mask.width - 1, mask.height - 1), radius=radius, fill=255)
    return mask.resize(size, Image.Resampling.LANCZOS)
