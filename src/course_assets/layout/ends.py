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

from course_assets.figlint.geometry import Box, Geometry, Point
from course_assets.layout.nodes import POINTS_PER_INCH, drawn_icon

# An arrow whose tip is this close (points) to its node's icon or label reaches it.
REACHED = 2.0


@dataclass(frozen=True)
class EdgeEnds:
    """An edge's new route, as Graphviz's pos attribute."""

    edge: tuple[str, str, int]  # its tail's and head's names, and its number between them
    pos: str


def carried_ends(layout: Mapping[str, Any], geometry: Geometry,
                 keys: Sequence[tuple[str, str, int]]) -> tuple[EdgeEnds, ...]:
    """Return the new route of every edge with an arrow that stops short of its node."""
    objects = {o["_gvid"]: o for o in layout.get("objects", []) if "_gvid" in o}
    found = []
    for number, edge in enumerate(layout.get("edges", [])):
        route = str(edge.get("pos") or "")
        if not route:
            continue
        parts = route.split()
        points = [_point(p) for p in parts if not p.startswith(("e,", "s,"))]
        if len(points) < 2:
            continue
        ends = {p[0]: _point(p[2:]) for p in parts if p.startswith(("e,", "s,"))}
        changed = False
        head, tail = objects.get(edge.get("head")), objects.get(edge.get("tail"))
        if "e" in ends and head is not None:
            carried = _carried(ends["e"], points[-1], _parts(head, geometry))
            if carried is not None:
                ends["e"] = _moved(ends["e"], carried)
                points[-2:] = [_moved(p, carried) for p in points[-2:]]
                changed = True
        if "s" in ends and tail is not None:
            carried = _carried(ends["s"], points[0], _parts(tail, geometry))
            if carried is not None:
                ends["s"] = _moved(ends["s"], carried)
                points[:2] = [_moved(p, carried) for p in points[:2]]
                changed = True
        if changed:
            # Graphviz reads the end point first, then the start point.
            written = [f"{key},{_text(ends[key])}" for key in ("e", "s") if key in ends]
            found.append(EdgeEnds(keys[number], " ".join([*written, *map(_text, points)])))
    return tuple(found)


def _carried(tip: Point, before: Point, parts: Sequence[Box]) -> Point | None:
    """Return how far to move an arrow tip so that it meets the first part in its way."""
    if not parts or min(box.distance(tip) for box in parts) <= REACHED:
        return None
    dx, dy = tip[0] - before[0], tip[1] - before[1]
    length = math.hypot(dx, dy)
    if length == 0:
        return None
    reach = max(max(b.x1 for b in parts) - min(b.x0 for b in parts),
                max(b.y1 for b in parts) - min(b.y0 for b in parts))
    far = (tip[0] + dx / length * reach, tip[1] + dy / length * reach)
    entries = [t for box in parts if (t := _entry(box, tip, far)) is not None]
    if not entries:
        return None  # nothing ahead: the lint tells the author
    t = min(entries) * reach
    return (dx / length * t, dy / length * t)


def _entry(box: Box, a: Point, b: Point) -> float | None:
    """Return where (0..1) the segment a-b enters the box, or None if it misses it."""
    t0, t1 = 0.0, 1.0
    dx, dy = b[0] - a[0], b[1] - a[1]
    for p, q in ((-dx, a[0] - box.x0), (dx, box.x1 - a[0]),
                 (-dy, a[1] - box.y0), (dy, box.y1 - a[1])):
        if p == 0:
            if q < 0:
                return None
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return None
    return t0


def _parts(node: Mapping[str, Any], geometry: Geometry) -> list[Box]:
    """Return the boxes of what a reader sees of a node: its icon and its label's lines."""
    name = str(node.get("name", ""))
    boxes = [text.box for text in geometry.labels_of("node", name)]
    icon = _icon_box(node)
    if icon is not None:
        boxes.append(icon)
    return boxes


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
