"""Fit icon nodes to what they show, so that edges end at the icon or its label.

The diagrams library makes an icon node a fixed 1.4 x 1.9 in box with the icon centred in
it and the label at its bottom. Graphviz ends each edge at that box, so an arrow from above
stops about 18 pt short of the icon. Here each such node becomes exactly its icon with its
label below (or above): an edge from any side then ends on the icon, or on the label where
the label lies between.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

POINTS_PER_INCH = 72.0
# Shapes that draw nothing but the icon and the label: the node box is invisible there.
INVISIBLE_SHAPES = frozenset({"none", "plaintext", "plain"})
# The bundled font's line box, as Graphviz lays it out: each further line of a label adds
# LINE_HEIGHT x the font size; a label's baseline sits BASELINE x the font size above the
# node's bottom, and its letters reach ASCENT x the font size above that.
LINE_HEIGHT = 1.27
BASELINE = 0.32
ASCENT = 0.78
# Room between the icon and the top of its label's letters, in points.
ICON_LABEL_GAP = 4.0


@dataclass(frozen=True)
class IconBox:
    """Where Graphviz draws a node's icon: its size in points."""

    width: float
    height: float


@dataclass(frozen=True)
class FittedNode:
    """An icon node's new box: its icon's size, and the height of icon and label together."""

    icon: IconBox
    height: float
    label_at: str  # "b": the label below the icon, "t": above it, "": no label


def fit_icon_nodes(graph: Any) -> None:
    """Make every icon node of a pygraphviz graph the size of its icon and label.

    Each node is exactly its icon and label, so an edge from above ends on the icon, one from
    below on the label, and one from the side (at the node's middle height) on the icon.
    Left to right with ports (`tailport="n"`), Graphviz's orthogonal router loses its way
    among nodes of uneven heights in a rank: there every icon node gets the height of the
    tallest, with its icon at the top if that covers the node's middle, else at the middle.
    """
    fitted: dict[Any, FittedNode] = {}
    for node in graph.nodes_iter():
        attributes = node.attr
        icon = str(attributes.get("image") or "")
        if not icon or str(attributes.get("shape") or "box") not in INVISIBLE_SHAPES:
            continue
        found = fitted_node(attributes, icon, str(node))
        if found is not None:
            fitted[node] = found
    # Ports name a node's sides: Graphviz's orthogonal router reaches them only among nodes
    # of even heights in a rank.
    ported = any(edge.attr.get("tailport") or edge.attr.get("headport")
                 for edge in graph.edges_iter())
    across = ported and str(graph.graph_attr.get("rankdir") or "TB").upper() in ("LR", "RL")
    tallest = max((f.height for f in fitted.values()), default=0.0)
    for node, found in fitted.items():
        height = tallest if across else found.height
        node.attr.update({"width": _inches(found.icon.width), "height": _inches(height),
                          "imagepos": _icon_place(found, height)})


def _icon_place(found: FittedNode, height: float) -> str:
    """Return where the icon sits in a node `height` pt tall (Graphviz's imagepos)."""
    if not found.label_at:
        return "mc"
    at_edge = "tc" if found.label_at == "b" else "bc"
    if found.icon.height >= height / 2 + ICON_LABEL_GAP:
        return at_edge  # it covers the middle, where an edge from the side arrives
    label_room = found.height - found.icon.height
    # Centred, the icon must still clear the label.
    clear = (height - found.icon.height) / 2 >= label_room
    return "mc" if clear else at_edge


def fitted_image(attributes: Any) -> bool:
    """Say whether a node's image is scaled into the node's fixed size, whatever its own."""
    if str(attributes.get("fixedsize") or "false").lower() != "true":
        return False  # a node that grows with its label: Graphviz sizes it, not the library
    return str(attributes.get("imagescale") or "false").lower() in ("true", "both")


def fitted_node(attributes: Any, icon: str, name: str) -> FittedNode | None:
    """Return the box that fits a node to its icon and label (None: leave the node alone)."""
    if not fitted_image(attributes):
        return None
    scale = str(attributes.get("imagescale")).lower()
    label_at = str(attributes.get("labelloc") or "c").lower()[:1]
    label = str(attributes.get("label") or "")
    if label == "\\N":
        label = name
    try:
        width = float(attributes.get("width") or 0.75) * POINTS_PER_INCH
        height = float(attributes.get("height") or 0.5) * POINTS_PER_INCH
        font_size = float(attributes.get("fontsize") or 14.0)
    except ValueError:
        return None
    box = drawn_icon(icon, width, height, scale)
    if box is None:
        return None
    if not label.strip():
        return FittedNode(box, box.height, "")
    if label_at not in ("b", "t"):
        return None  # a label over the icon: the author placed it there
    return FittedNode(box, box.height + ICON_LABEL_GAP + label_height(label, font_size), label_at)


def label_height(label: str, font_size: float) -> float:
    """Return how far a label's letters reach from the edge of the node it sits at, in points."""
    lines = 1 + sum(label.count(mark) for mark in ("\\n", "\\l", "\\r", "\n"))
    text = label.rstrip()
    if text.endswith(("\\n", "\\l", "\\r")):
        lines -= 1  # a closing line break ends the last line; it starts none
    return font_size * (BASELINE + ASCENT + LINE_HEIGHT * (lines - 1))


def drawn_icon(icon: str, width: float, height: float, scale: str) -> IconBox | None:
    """Return the size Graphviz draws `icon` at in a `width` x `height` pt node."""
    size = pixel_size(icon)
    if size is None:
        return None
    pixels_wide, pixels_high = size
    if scale == "both":
        return IconBox(width, height)
    factor = min(width / pixels_wide, height / pixels_high)
    return IconBox(pixels_wide * factor, pixels_high * factor)


@functools.lru_cache(maxsize=512)
def pixel_size(icon: str) -> tuple[int, int] | None:
    """Return an image file's width and height in pixels; None where Pillow cannot read it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(Path(icon)) as image:
            pixels_wide, pixels_high = image.size
    except (OSError, UnidentifiedImageError, ValueError):
        return None  # Graphviz reports an icon it cannot read, at the figure
    if pixels_wide <= 0 or pixels_high <= 0:
        return None
    return pixels_wide, pixels_high


def _inches(points: float) -> str:
    # Rounded, so that the DOT Graphviz reads, and the bytes it draws, are the same everywhere.
    return f"{points / POINTS_PER_INCH:.4f}"
