"""Read the geometry of a laid-out figure from Graphviz's JSON layout and its SVG's icons.

Coordinates are Graphviz points with y growing upwards, as in the layout; the SVG draws the
same points with y negated. Nothing here knows how the layout was made.
"""

from __future__ import annotations

import functools
import math
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

SVG = "{http://www.w3.org/2000/svg}"
# The names of the invisible points the build adds to a graph: those that hold a relaid figure's
# corners where Graphviz's own layout put them (layout/labels.py), and those that stack a fitted
# layout's rows (layout/fitting.py). Nothing a reader sees, so the lint and outline skip them.
BUILD_POINT_PREFIX = "__course_assets_"
CORNER_PREFIX = f"{BUILD_POINT_PREFIX}corner_"
ROW_POINT_PREFIX = f"{BUILD_POINT_PREFIX}row_"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
# How far a line of text reaches below and above its baseline, as a share of its font size.
DESCENT, ASCENT = 0.22, 0.78
BEZIER_STEPS = 8
FILLING_STYLES = frozenset({"filled", "radial", "striped", "wedged"})

Point = tuple[float, float]
T = TypeVar("T")
# Graphviz colours that paint nothing: what lies behind shows through.
CLEAR = frozenset({"transparent", "none", "invis"})
# The side of a BoxIndex cell, in points: about one icon node.
CELL = 96.0
# An item spanning more cells than this is not filed by cell (see BoxIndex).
MAX_CELLS = 4096


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle: left, bottom, right, top (y grows upwards)."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return max(0.0, self.x1 - self.x0)

    @property
    def height(self) -> float:
        return max(0.0, self.y1 - self.y0)

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def centre(self) -> Point:
        return ((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2)

    def intersection(self, other: Box) -> Box:
        return Box(max(self.x0, other.x0), max(self.y0, other.y0),
                   min(self.x1, other.x1), min(self.y1, other.y1))

    def overlap(self, other: Box) -> float:
        """Return the area both boxes cover."""
        return self.intersection(other).area

    def contains(self, point: Point) -> bool:
        return self.x0 <= point[0] <= self.x1 and self.y0 <= point[1] <= self.y1

    def shrunk(self, by: float) -> Box:
        return Box(self.x0 + by, self.y0 + by, self.x1 - by, self.y1 - by)

    def distance(self, point: Point) -> float:
        """Return how far `point` lies from the box (0 inside it)."""
        dx = max(self.x0 - point[0], 0.0, point[0] - self.x1)
        dy = max(self.y0 - point[1], 0.0, point[1] - self.y1)
        return math.hypot(dx, dy)

    def crossed_by(self, a: Point, b: Point) -> bool:
        """Say whether the segment a-b passes through the box."""
        return self.entry(a, b) is not None

    def entry(self, a: Point, b: Point) -> float | None:
        """Return where (0..1) the segment a-b enters the box (Liang-Barsky), or None."""
        t0, t1 = 0.0, 1.0
        dx, dy = b[0] - a[0], b[1] - a[1]
        for p, q in ((-dx, a[0] - self.x0), (dx, self.x1 - a[0]),
                     (-dy, a[1] - self.y0), (dy, self.y1 - a[1])):
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


@dataclass(frozen=True)
class Text:
    """One line of text as Graphviz placed it, and what it labels."""

    text: str
    box: Box
    size: float  # font size in points
    colour: str
    owner: str  # "node", "edge", "cluster" or "graph"
    key: str  # the owner's key: node or cluster name, edge number


@dataclass(frozen=True)
class Node:
    key: str
    label: str
    box: Box
    icon: Box | None
    icon_uri: str | None
    fill: str | None
    cluster: str | None
    line: int | None


@dataclass(frozen=True)
class Cluster:
    key: str
    label: str
    box: Box
    fill: str | None
    parent: str | None
    line: int | None


@dataclass(frozen=True)
class Edge:
    key: str
    tail: str
    head: str
    label: str
    path: tuple[Point, ...]
    arrowheads: tuple[tuple[Point, ...], ...]
    tip: Point | None  # where the arrowhead at the head points, if it has one
    colour: str
    style: str
    line: int | None
    # Where the arrowhead at the tail points, if it has one (dir="back" or "both": `a << b`).
    tail_tip: Point | None = None
    # Whether it shows anything: a line, an arrowhead or a label in a colour that paints.
    # An invisible edge, or one all clear, only holds the layout together.
    shown: bool = True


@dataclass(frozen=True)
class Geometry:
    """Everything a reader sees in one laid-out figure."""

    box: Box
    background: str
    nodes: tuple[Node, ...]
    clusters: tuple[Cluster, ...]
    edges: tuple[Edge, ...]
    texts: tuple[Text, ...]
    direction: str
    line: int | None = None

    def node(self, key: str) -> Node | None:
        return self._nodes_by_key.get(key)

    def cluster(self, key: str | None) -> Cluster | None:
        return next((c for c in self.clusters if c.key == key), None)

    def labels_of(self, owner: str, key: str) -> list[Text]:
        return self._texts_by_owner.get((owner, key), [])

    # Lookups by key, made once: a large figure asks them for every edge.
    @functools.cached_property
    def _nodes_by_key(self) -> dict[str, Node]:
        return {node.key: node for node in reversed(self.nodes)}

    @functools.cached_property
    def _texts_by_owner(self) -> dict[tuple[str, str], list[Text]]:
        found: dict[tuple[str, str], list[Text]] = defaultdict(list)
        for text in self.texts:
            found[(text.owner, text.key)].append(text)
        return found

    def background_at(self, point: Point) -> str:
        """Return the colour behind `point`: the innermost filled cluster, or the page."""
        for cluster in self._filled_clusters_smallest_first:
            if cluster.box.contains(point):
                return cluster.fill or self.background
        return self.background

    @functools.cached_property
    def _filled_clusters_smallest_first(self) -> list[Cluster]:
        return sorted((c for c in self.clusters if c.fill), key=lambda c: c.box.area)


def read_geometry(layout: Mapping[str, Any], svg: bytes,
                  lines: Mapping[str, int] | None = None) -> Geometry:
    """Return the geometry of a figure from its JSON layout and its post-processed SVG.

    `lines` maps "node:<name>", "cluster:<name>", "edge:<tail>-><head>#<n>" and "diagram" to
    the script line that made each.
    """
    lines = lines or {}
    count = int(layout.get("_subgraph_cnt", 0))
    objects = list(layout.get("objects", []))
    subgraphs = [o for o in objects if o.get("_gvid", 0) < count]
    clusters = [o for o in subgraphs if str(o.get("name", "")).startswith("cluster")]
    node_objects = [o for o in objects if o.get("_gvid", 0) >= count
                    and not str(o.get("name", "")).startswith(BUILD_POINT_PREFIX)]
    names = {o["_gvid"]: str(o["name"]) for o in objects if "_gvid" in o}
    keys = _cluster_keys(clusters)
    parent_of = {child: keys[c["_gvid"]] for c in clusters for child in c.get("subgraphs", [])}
    texts: list[Text] = []
    texts += _texts(layout.get("_ldraw_", []), "graph", "")
    cluster_list = []
    for obj in clusters:
        name, key = str(obj["name"]), keys[obj["_gvid"]]
        cluster_list.append(Cluster(
            key, _plain(obj.get("label", "")), _bb(obj.get("bb", "0,0,0,0")), _fill(obj),
            parent_of.get(obj["_gvid"]), lines.get(f"cluster:{name}")))
        texts += _texts(obj.get("_ldraw_", []), "cluster", key)
    innermost = _innermost_cluster(clusters, keys)
    icons = BoxIndex(_svg_icons(svg))
    nodes = []
    for obj in node_objects:
        name = str(obj["name"])
        box = _node_box(obj)
        icon = next(((b, uri) for b, uri in icons.near(box) if box.contains(b.centre)), None)
        nodes.append(Node(name, _plain(obj.get("label", name)), box,
                          icon[0] if icon else None, icon[1] if icon else None,
                          _fill(obj), innermost.get(obj["_gvid"]),
                          lines.get(f"node:{name}")))
        texts += _texts(obj.get("_ldraw_", []), "node", name)
    edges = []
    seen: dict[str, int] = {}
    for number, obj in enumerate(layout.get("edges", [])):
        tail, head = names.get(obj.get("tail"), "?"), names.get(obj.get("head"), "?")
        pair = f"{tail}->{head}"
        seen[pair] = seen.get(pair, -1) + 1
        key = str(number)
        draw = obj.get("_draw_", [])
        label_texts = list(_texts(obj.get("_ldraw_", []), "edge", key))
        own_texts = [*label_texts, *(t for part in ("_hldraw_", "_tldraw_")
                                     for t in _texts(obj.get(part, []), "edge", key))]
        texts += own_texts
        label = " ".join(t.text for t in label_texts)
        edges.append(Edge(
            key, tail, head, label, tuple(_path(draw)),
            tuple(tuple(points) for part in ("_hdraw_", "_tdraw_")
                  for points in _polygons(obj.get(part, []))),
            _tip(str(obj.get("pos", ""))), _pen(draw) or "black",
            str(obj.get("style", "solid")), lines.get(f"edge:{pair}#{seen[pair]}"),
            _tip(str(obj.get("pos", "")), "s,"),
            _paints([*draw, *obj.get("_hdraw_", []), *obj.get("_tdraw_", [])])
            or any(not is_clear(t.colour) for t in own_texts),
        ))
    background = str(layout.get("bgcolor", "white"))
    return Geometry(_bb(str(layout.get("bb", "0,0,0,0"))), background, tuple(nodes),
                    tuple(cluster_list), tuple(edges), tuple(texts),
                    str(layout.get("rankdir", "TB")), lines.get("diagram"))


def _plain(label: object) -> str:
    text = str(label)
    text = re.sub(r"\\[nlr]", "\n", text)
    return " ".join(text.split())


def _bb(value: str) -> Box:
    x0, y0, x1, y1 = (float(v) for v in value.split(","))
    return Box(x0, y0, x1, y1)


def _node_box(obj: Mapping[str, Any]) -> Box:
    x, y = (float(v) for v in str(obj.get("pos", "0,0")).split(",")[:2])
    w = float(obj.get("width", 0)) * 72 / 2
    h = float(obj.get("height", 0)) * 72 / 2
    return Box(x - w, y - h, x + w, y + h)


# Shapes that draw no outline: a label wider than such a node's box is drawn whole all the same.
UNDRAWN_SHAPES = frozenset({"none", "plaintext", "plain"})
# How far (points) a line of text may reach past its shape: Graphviz's own rounding.
OVERFLOW_TOLERANCE = 0.5


def label_leaves_shape(obj: Mapping[str, Any]) -> bool:
    """Say whether a laid-out node's label runs out of the shape drawn around it.

    A node without a drawn shape (an icon node of the diagrams library, its label below the
    icon) has no edge for its label to cross: what the label runs into is the lint's to judge.
    """
    style = {part.strip() for part in str(obj.get("style", "")).split(",")}
    if str(obj.get("shape", "ellipse")) in UNDRAWN_SHAPES and not style & FILLING_STYLES:
        return False
    shape = _node_box(obj).shrunk(-OVERFLOW_TOLERANCE)
    return any(not (shape.contains((text.box.x0, text.box.y0))
                    and shape.contains((text.box.x1, text.box.y1)))
               for text in _texts(obj.get("_ldraw_", []), "node", str(obj.get("name", ""))))


def _fill(obj: Mapping[str, Any]) -> str | None:
    style = {part.strip() for part in str(obj.get("style", "")).split(",")}
    # Each of these styles fills the shape with fillcolor, else color, else (a cluster's)
    # bgcolor, as Graphviz draws it: a bgcolor beside a fillcolor shows nowhere.
    if style & FILLING_STYLES:
        return str(obj.get("fillcolor") or obj.get("color") or obj.get("bgcolor")
                   or "lightgrey")
    if obj.get("bgcolor"):
        return str(obj["bgcolor"])
    return None


def _cluster_keys(clusters: list[Mapping[str, Any]]) -> dict[int, str]:
    """Return each cluster's key: its name, or, where an earlier cluster has that name (a
    cluster nested in one of the same title, say), its name and its number among them."""
    keys: dict[int, str] = {}
    seen: dict[str, int] = {}
    for cluster in clusters:
        name = str(cluster["name"])
        seen[name] = seen.get(name, 0) + 1
        keys[cluster["_gvid"]] = name if seen[name] == 1 else f"{name}#{seen[name]}"
    return keys


def _innermost_cluster(clusters: list[Mapping[str, Any]],
                       keys: Mapping[int, str]) -> dict[int, str]:
    found: dict[int, tuple[float, str]] = {}
    for cluster in clusters:
        area = _bb(cluster.get("bb", "0,0,0,0")).area
        for node in cluster.get("nodes", []):
            if node not in found or area < found[node][0]:
                found[node] = (area, keys[cluster["_gvid"]])
    return {node: key for node, (_, key) in found.items()}


def _texts(ops: Iterable[Mapping[str, Any]], owner: str, key: str) -> Iterator[Text]:
    size, colour = 14.0, "black"
    for op in ops:
        kind = op.get("op")
        if kind == "F":
            size = float(op.get("size", size))
        elif kind == "c":
            colour = str(op.get("color", colour))
        elif kind == "T" and str(op.get("text", "")).strip():
            x, y = (float(v) for v in op["pt"])
            width = float(op.get("width", 0))
            left = {"l": x, "r": x - width}.get(str(op.get("align", "c")), x - width / 2)
            yield Text(str(op["text"]), Box(left, y - DESCENT * size, left + width,
                                            y + ASCENT * size), size, colour, owner, key)


# Drawing operations that stroke with the pen colour, and those that fill with the fill colour
# (Graphviz's xdot: filled polygons and ellipses are also outlined with the pen).
STROKING_OPS = frozenset({"b", "B", "L", "p", "P", "e", "E"})
FILLING_OPS = frozenset({"B", "P", "E"})


def _paints(ops: Iterable[Mapping[str, Any]]) -> bool:
    """Say whether drawing operations paint a line or shape in a colour that shows."""
    pen, fill = "black", "black"
    for op in ops:
        kind = op.get("op")
        if kind == "c":
            pen = str(op.get("color", pen))
        elif kind == "C":
            fill = str(op.get("color", fill))
        elif ((kind in STROKING_OPS and not is_clear(pen))
              or (kind in FILLING_OPS and not is_clear(fill))):
            return True
    return False


def is_clear(value: str) -> bool:
    """Say whether a Graphviz colour paints nothing (an element hidden on purpose)."""
    text = value.strip().lower()
    return text in CLEAR or (text.startswith("#") and len(text) == 9 and text[7:] == "00")


def _pen(ops: Iterable[Mapping[str, Any]]) -> str | None:
    colour = None
    for op in ops:
        if op.get("op") == "c":
            colour = str(op.get("color"))
    return colour


def _path(ops: Iterable[Mapping[str, Any]]) -> list[Point]:
    points: list[Point] = []
    for op in ops:
        if op.get("op") in ("b", "B"):
            control = [(float(x), float(y)) for x, y in op["points"]]
            points += bezier_points(control)
        elif op.get("op") in ("L",):
            points += [(float(x), float(y)) for x, y in op["points"]]
    return points


def bezier_points(control: list[Point]) -> list[Point]:
    """Return points along a cubic Bezier path (Graphviz's control points), its ends included."""
    if len(control) < 4:
        return control
    points = [control[0]]
    for start in range(0, len(control) - 3, 3):
        p0, p1, p2, p3 = control[start:start + 4]
        for step in range(1, BEZIER_STEPS + 1):
            t = step / BEZIER_STEPS
            u = 1 - t
            points.append((
                u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0],
                u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1],
            ))
    return points


def _polygons(ops: Iterable[Mapping[str, Any]]) -> Iterator[list[Point]]:
    for op in ops:
        if op.get("op") in ("P", "p", "L"):
            yield [(float(x), float(y)) for x, y in op["points"]]
        elif op.get("op") in ("E", "e"):
            x, y, w, h = (float(v) for v in op["rect"])
            yield [(x - w, y), (x, y + h), (x + w, y), (x, y - h)]


def _tip(pos: str, end: str = "e,") -> Point | None:
    for part in pos.split():
        if part.startswith(end):
            x, y = part[2:].split(",")[:2]
            return (float(x), float(y))
    return None


def _svg_icons(svg: bytes) -> list[tuple[Box, str]]:
    """Return each icon's box (in layout points) and its data URI, from the SVG."""
    root = ET.fromstring(svg)
    # An icon is an <image> in <defs> shown by each <use> naming it (moved by its x and y),
    # or a plain <image> where it stands.
    defined = {id(e) for defs in root.iter(f"{SVG}defs") for e in defs.iter(f"{SVG}image")}
    named = {e.get("id"): e for e in root.iter(f"{SVG}image") if e.get("id")}
    icons = []
    for element in root.iter():
        if element.tag == f"{SVG}image" and id(element) not in defined:
            image, moved = element, {}
        elif element.tag == f"{SVG}use" and element.get(XLINK_HREF, "")[1:] in named:
            image, moved = named[element.get(XLINK_HREF, "")[1:]], element.attrib
        else:
            continue
        try:
            x = float(moved.get("x", "0")) + float(image.get("x", "0"))
            y = float(moved.get("y", "0")) + float(image.get("y", "0"))
            w, h = float(image.get("width", "0")), float(image.get("height", "0"))
        except ValueError:
            continue
        icons.append((Box(x, -(y + h), x + w, -y), image.get(XLINK_HREF, "")))
    return icons


class BoxIndex(Generic[T]):
    """Find the items whose boxes may meet a box, without looking at every item."""

    def __init__(self, items: Iterable[tuple[Box, T]]) -> None:
        self._items = list(items)
        self._cells: dict[tuple[int, int], list[int]] = defaultdict(list)
        # Items too large to file cell by cell (a node pinned far off stretches its edges
        # over millions of cells): every query returns them.
        self._everywhere: list[int] = []
        for number, (box, _) in enumerate(self._items):
            span = _span(box)
            if _count(span) > MAX_CELLS:
                self._everywhere.append(number)
                continue
            for cell in _cells(span):
                self._cells[cell].append(number)

    def near(self, box: Box) -> list[tuple[Box, T]]:
        """Return, in the order they were given, the items sharing a cell with `box`."""
        span = _span(box)
        if _count(span) > len(self._cells):
            # A query wider than the index: look at the filled cells, not at every empty one.
            c0, r0, c1, r1 = span
            numbers = {n for (column, row), found in self._cells.items()
                       if c0 <= column <= c1 and r0 <= row <= r1 for n in found}
        else:
            numbers = {n for cell in _cells(span) for n in self._cells.get(cell, ())}
        numbers.update(self._everywhere)
        return [self._items[n] for n in sorted(numbers)]


def _span(box: Box) -> tuple[int, int, int, int]:
    return (math.floor(box.x0 / CELL), math.floor(box.y0 / CELL),
            math.floor(box.x1 / CELL), math.floor(box.y1 / CELL))


def _count(span: tuple[int, int, int, int]) -> int:
    return (span[2] - span[0] + 1) * (span[3] - span[1] + 1)


def _cells(span: tuple[int, int, int, int]) -> Iterator[tuple[int, int]]:
    for column in range(span[0], span[2] + 1):
        for row in range(span[1], span[3] + 1):
            yield column, row


def bounds(points: Iterable[Point]) -> Box | None:
    """Return the smallest box holding every point, or None for no points."""
    xs, ys = [], []
    for x, y in points:
        xs.append(x)
        ys.append(y)
    return Box(min(xs), min(ys), max(xs), max(ys)) if xs else None


def polyline_crosses(points: tuple[Point, ...] | list[Point], box: Box) -> bool:
    """Say whether a polyline passes through `box`."""
    return any(box.crossed_by(a, b) for a, b in zip(points, points[1:]))


def polyline_distance(points: tuple[Point, ...] | list[Point], point: Point) -> float:
    """Return the shortest distance from `point` to a polyline."""
    best = math.inf
    for a, b in zip(points, points[1:]):
        dx, dy = b[0] - a[0], b[1] - a[1]
        length = dx * dx + dy * dy
        t = 0.0 if length == 0 else max(0.0, min(1.0, ((point[0] - a[0]) * dx
                                                       + (point[1] - a[1]) * dy) / length))
        best = min(best, math.hypot(point[0] - a[0] - t * dx, point[1] - a[1] - t * dy))
    return best
