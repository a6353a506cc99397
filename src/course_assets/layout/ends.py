"""Carry an arrow on to the icon or label it points at, where Graphviz stopped it short.

Graphviz ends an edge at its node's box. After the nodes are fitted (nodes.py) that box is
the icon and its label, except beside a label narrower than the icon: an orthogonal edge
that meets the node there stops in the empty corner. Such an arrow is carried on, straight
along its last direction, to the first icon or label in its way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from course_assets.figlint.geometry import (
    Box, Geometry, Point, bezier_points, bounds, polyline_distance,
)
from course_assets.layout.nodes import POINTS_PER_INCH, drawn_icon

# An arrow whose drawn tip is this close (points) to its node's icon reaches it.
REACHED = 0.5
# Graphviz draws a normal arrowhead's tip this many pen widths short of the edge's end
# point, so that its outline, not its middle, ends there.
TIP_INSET = 1.51
# An arrow pointing at a label stops this far short of its words (the figure lint calls an
# arrowhead closer than 3 pt one that touches them).
LABEL_GAP = 3.5
# An arrow that misses both icon and label in its way is carried to where it passes nearest
# the icon, if that is this close, and no closer to the label than LABEL_CLEAR (the lint's
# "touches").
CLOSE_ENOUGH = 4.0
LABEL_CLEAR = 3.0
# Half an arrowhead's width, in the same pen widths as TIP_INSET (a normal arrowhead is 7
# units wide at arrowsize 1, its tip 1.51 pen widths in).
ARROW_HALF_WIDTH = 3.5 / TIP_INSET
# Moves smaller than this are not worth a second drawing.
MOVE_AT_LEAST = 0.25


@dataclass(frozen=True)
class EdgeEnds:
    """An edge's new route, as Graphviz's pos attribute."""

    edge: tuple[str, str, int]  # its tail's and head's names, and its number between them
    pos: str
    # Where its arrows now end, at the head and at the tail, as `pos` writes them.
    head: Point | None = None
    tail: Point | None = None


def carried_ends(layout: Mapping[str, Any], geometry: Geometry,
                 keys: Sequence[tuple[str, str, int]]) -> tuple[EdgeEnds, ...]:
    """Return the new route of every edge with an arrow that stops short of its node."""
    objects = {o["_gvid"]: o for o in layout.get("objects", []) if "_gvid" in o}
    found = []
    for number, edge in enumerate(layout.get("edges", [])):
        route = str(edge.get("pos") or "")
        if not route or ";" in route:
            continue  # no route, or several (concentrate=true merges edges): left as drawn
        parts = route.split()
        try:
            points = [_point(p) for p in parts if not p.startswith(("e,", "s,"))]
            ends = {p[0]: _point(p[2:]) for p in parts if p.startswith(("e,", "s,"))}
        except ValueError:
            continue
        if len(points) < 2:
            continue
        changed = False
        head, tail = objects.get(edge.get("head")), objects.get(edge.get("tail"))
        inset = _tip_inset(edge)
        if "e" in ends and head is not None:
            carried = _carried_to(head, ends["e"], points[-1], inset, geometry)
            if carried is not None:
                ends["e"] = _moved(ends["e"], carried)
                points[-2:] = [_moved(p, carried) for p in points[-2:]]
                changed = True
        if "s" in ends and tail is not None:
            carried = _carried_to(tail, ends["s"], points[0], inset, geometry)
            if carried is not None:
                ends["s"] = _moved(ends["s"], carried)
                points[:2] = [_moved(p, carried) for p in points[:2]]
                changed = True
        if changed:
            # Graphviz reads the end point first, then the start point.
            written = [f"{key},{_text(ends[key])}" for key in ("e", "s") if key in ends]
            head_end, tail_end = (_point(_text(ends[key])) if key in ends else None
                                  for key in ("e", "s"))
            found.append(EdgeEnds(keys[number], " ".join([*written, *map(_text, points)]),
                                  head_end, tail_end))
    return tuple(found)


def _carried_to(node: Mapping[str, Any], end: Point, before: Point, inset: float,
                geometry: Geometry) -> Point | None:
    """Return how far to move an arrow at `node` so that it reaches what the node shows."""
    icon = _icon_box(node)
    if icon is not None:
        return _carried(end, before, inset, icon, _labels(node, geometry))
    return onto_outline(end, before, inset, outline_of(node))


def _carried(end: Point, before: Point, inset: float, icon: Box,
             labels: Sequence[Box]) -> Point | None:
    """Return how far to move an arrow (along its direction) to end at its node, or None.

    Its drawn tip ends on the icon; or, where the label lies first in its way, LABEL_GAP
    short of the words, so that it points at them without touching them.
    """
    dx, dy = end[0] - before[0], end[1] - before[1]
    length = math.hypot(dx, dy)
    if length == 0:
        return None
    ux, uy = dx / length, dy / length
    tip = (end[0] - ux * inset, end[1] - uy * inset)  # where the arrowhead is drawn to
    if icon.distance(tip) <= REACHED:
        return None
    parts = [*labels, icon]
    reach = max(max(b.x1 for b in parts) - min(b.x0 for b in parts),
                max(b.y1 for b in parts) - min(b.y0 for b in parts))
    far = (tip[0] + ux * reach, tip[1] + uy * reach)
    to_icon = _entry(icon, tip, far)
    # The arrowhead is as wide as this on either side of its line: a label it would brush
    # lies in its way.
    half = inset * ARROW_HALF_WIDTH
    widened = [Box(b.x0 - half, b.y0 - half, b.x1 + half, b.y1 + half) for b in labels]
    # Where its tip would reach the words, or its sides first brush them.
    to_label = min((t for box in labels if (t := _entry(box, tip, far)) is not None),
                   default=None)
    short_of_label = LABEL_GAP
    if to_label is None:  # where its side first comes within `half` of them
        to_label = min((t for box in widened if (t := _entry(box, tip, far)) is not None),
                       default=None)
        short_of_label = max(0.0, LABEL_GAP - half)
    move: float | None
    if to_icon is not None and (to_label is None or to_icon < to_label):
        move = to_icon * reach
    elif to_label is not None:
        move = to_label * reach - short_of_label
    else:
        move = _closest_approach(tip, (ux, uy), reach, icon, labels)
    if move is None or abs(move) < MOVE_AT_LEAST:
        return None
    return (ux * move, uy * move)


def _closest_approach(tip: Point, direction: Point, reach: float, icon: Box,
                      labels: Sequence[Box]) -> float | None:
    """Return how far along `direction` the tip passes nearest the icon, if near enough and
    clear of the label."""
    def at(along: float) -> Point:
        return (tip[0] + direction[0] * along, tip[1] + direction[1] * along)

    steps = [float(step) for step in range(int(reach) + 1)
             if all(b.distance(at(step)) >= LABEL_CLEAR for b in labels)]
    if not steps:
        return None
    best = min(steps, key=lambda along: icon.distance(at(along)))
    near = icon.distance(at(best))
    return best if near <= CLOSE_ENOUGH and near < icon.distance(tip) else None


def onto_outline(end: Point, before: Point, inset: float,
                 outline: Sequence[Point]) -> Point | None:
    """Return how far to move an arrow so that its drawn tip meets a shape's drawn outline.

    Graphviz ends an edge at the shape's polygon; a rounded style cuts its corners, and an
    arrow at a corner then stops short of the outline drawn.
    """
    dx, dy = end[0] - before[0], end[1] - before[1]
    length = math.hypot(dx, dy)
    if length == 0 or len(outline) < 2:
        return None
    ux, uy = dx / length, dy / length
    tip = (end[0] - ux * inset, end[1] - uy * inset)
    if polyline_distance(list(outline), tip) <= REACHED:
        return None
    box = bounds(outline)
    assert box is not None
    reach = box.width + box.height
    hits = [t for a, b in zip(outline, outline[1:])
            if (t := _ray_meets(tip, (ux, uy), a, b)) is not None and 0 < t <= reach]
    if not hits:
        return None
    move = min(hits)
    return (ux * move, uy * move) if move >= MOVE_AT_LEAST else None


def _ray_meets(origin: Point, direction: Point, a: Point, b: Point) -> float | None:
    """Return how far along `direction` from `origin` the ray meets segment a-b, or None."""
    ex, ey = b[0] - a[0], b[1] - a[1]
    denominator = direction[0] * ey - direction[1] * ex
    if abs(denominator) < 1e-9:
        return None
    ox, oy = a[0] - origin[0], a[1] - origin[1]
    along = (ox * ey - oy * ex) / denominator
    share = (ox * direction[1] - oy * direction[0]) / denominator
    return along if 0 <= share <= 1 else None


def outline_of(node: Mapping[str, Any]) -> list[Point]:
    """Return the outline a shape node is drawn with, as a polyline (empty: none drawn)."""
    points: list[Point] = []
    for op in node.get("_draw_", []):
        kind = op.get("op")
        if kind in ("p", "P", "L"):
            polygon = [(float(x), float(y)) for x, y in op.get("points", [])]
            points += [*polygon, polygon[0]] if polygon and kind != "L" else polygon
        elif kind in ("b", "B"):
            points += bezier_points([(float(x), float(y)) for x, y in op.get("points", [])])
    return points


def _entry(box: Box | None, a: Point, b: Point) -> float | None:
    """Return where (0..1) the segment a-b enters the box, or None if it misses it."""
    return box.entry(a, b) if box is not None else None


def _tip_inset(edge: Mapping[str, Any]) -> float:
    """Return how far short of the edge's end point its arrowhead's tip is drawn."""
    try:
        pen = float(edge.get("penwidth") or 1.0)
        size = float(edge.get("arrowsize") or 1.0)
    except ValueError:
        return TIP_INSET
    return TIP_INSET * pen * min(size, 1.0) if size > 0 else 0.0


def _labels(node: Mapping[str, Any], geometry: Geometry) -> list[Box]:
    """Return the boxes of a node's label's lines."""
    return [text.box for text in geometry.labels_of("node", str(node.get("name", "")))]


def _icon_box(node: Mapping[str, Any]) -> Box | None:
    image = str(node.get("image") or "")
    if not image:
        return None
    try:
        x, y = _point(str(node["pos"]))
        width = float(node.get("width", 0)) * POINTS_PER_INCH
        height = float(node.get("height", 0)) * POINTS_PER_INCH
    except (KeyError, ValueError):
        return None
    size = drawn_icon(image, width, height, str(node.get("imagescale") or "false").lower())
    if size is None or str(node.get("imagescale") or "false").lower() not in ("true", "both"):
        return None  # drawn at its own size: where exactly, only Graphviz knows
    place = str(node.get("imagepos") or "mc").lower()
    vertical, horizontal = (place + "mc")[0], (place + "mc")[1]
    left = {"l": x - width / 2, "r": x + width / 2 - size.width}.get(horizontal,
                                                                     x - size.width / 2)
    bottom = {"t": y + height / 2 - size.height, "b": y - height / 2}.get(vertical,
                                                                         y - size.height / 2)
    return Box(left, bottom, left + size.width, bottom + size.height)


def _point(text: str) -> Point:
    x, y = text.split(",")[:2]
    return float(x), float(y)


def _moved(point: Point, by: Point) -> Point:
    return point[0] + by[0], point[1] + by[1]


def _text(point: Point) -> str:
    return f"{point[0]:.2f},{point[1]:.2f}"
