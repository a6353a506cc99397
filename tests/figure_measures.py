"""Measure a built SVG as a reader sees it: where arrows end, and which lines cross text.

Everything is read from the SVG with an XML parser, in the SVG's own user units (points):
node icons (<use> or <image>), node shapes, every <text> (its box from the bundled font's
advance widths), each edge's <path> and its arrowhead <polygon>s.
"""

from __future__ import annotations

import functools
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from PIL import ImageFont

from svgtools import SVG, XLINK_HREF

FONT = Path(__file__).resolve().parents[1] / "src/course_assets/fonts/DejaVuSans.ttf"
BOLD = FONT.with_name("DejaVuSans-Bold.ttf")
# How far letters reach above and below the baseline, as a share of the font size.
ASCENT, DESCENT = 0.78, 0.22
# An arrowhead must end this close to a part of a node (its icon, its shape or its label).
REACH = 4.0
# A line that only grazes a text's box by this much does not cross the text.
GRAZE = 1.5
# A line's first and last points may touch what it starts or ends at.
END_ALLOWANCE = 2.0

Point = tuple[float, float]


@dataclass(frozen=True)
class Rect:
    x0: float
    y0: float
    x1: float
    y1: float

    def distance(self, p: Point) -> float:
        dx = max(self.x0 - p[0], 0.0, p[0] - self.x1)
        dy = max(self.y0 - p[1], 0.0, p[1] - self.y1)
        return math.hypot(dx, dy)

    def shrunk(self, by: float) -> Rect:
        return Rect(self.x0 + by, self.y0 + by, self.x1 - by, self.y1 - by)

    def crossed_by(self, a: Point, b: Point) -> bool:
        t0, t1 = 0.0, 1.0
        dx, dy = b[0] - a[0], b[1] - a[1]
        for p, q in ((-dx, a[0] - self.x0), (dx, self.x1 - a[0]),
                     (-dy, a[1] - self.y0), (dy, self.y1 - a[1])):
            if p == 0:
                if q < 0:
                    return False
                continue
            t = q / p
            if p < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
            if t0 > t1:
                return False
        return True


@dataclass(frozen=True)
class Label:
    text: str
    box: Rect
    owner: str  # "node", "edge", "cluster" or "graph"


@dataclass
class NodeParts:
    boxes: list[Rect] = field(default_factory=list)  # icons and shapes
    labels: list[Label] = field(default_factory=list)

    def distance(self, p: Point) -> float:
        return min((b.distance(p) for b in [*self.boxes, *(t.box for t in self.labels)]),
                   default=math.inf)


@dataclass
class EdgeDrawing:
    element_id: str
    path: list[Point]
    tips: list[Point]
    labels: list[Label]


@dataclass
class Measured:
    """What a reader sees of one figure."""

    name: str
    nodes: list[NodeParts]
    edges: list[EdgeDrawing]
    labels: list[Label]

    def short_arrows(self) -> list[str]:
        """Describe every arrowhead that ends more than REACH from every part of every node."""
        found = []
        for edge in self.edges:
            for tip in edge.tips:
                gap = min((n.distance(tip) for n in self.nodes), default=math.inf)
                if gap > REACH:
                    found.append(f"{self.name}: {edge.element_id} ends {gap:.1f} pt from a node")
        return found

    def crossings(self) -> list[str]:
        """Describe every edge line that runs through a text, its own ends aside."""
        found = []
        for edge in self.edges:
            line = _trimmed(edge.path, END_ALLOWANCE)
            for label in self.labels:
                box = label.box.shrunk(GRAZE)
                if box.x1 <= box.x0 or box.y1 <= box.y0:
                    continue
                if any(box.crossed_by(a, b) for a, b in zip(line, line[1:])):
                    found.append(f'{self.name}: {edge.element_id} crosses {label.owner} label '
                                 f'"{label.text}"')
        return found


def measure(path: Path) -> Measured:
    """Read a built SVG figure."""
    root = ET.fromstring(path.read_bytes())
    images = {e.get("id"): e for e in root.iter(f"{SVG}image") if e.get("id")}
    nodes, edges, labels = [], [], []
    for group in root.iter(f"{SVG}g"):
        kind = group.get("class", "")
        if kind == "graph":
            labels += [_label(t, "graph") for t in group.findall(f"{SVG}text")]
        elif kind == "cluster":
            labels += [_label(t, "cluster") for t in group.findall(f"{SVG}text")]
        elif kind == "node":
            parts = NodeParts()
            for element in group.iter():
                box = _drawn_box(element, images)
                if box is not None:
                    parts.boxes.append(box)
            parts.labels = [_label(t, "node") for t in group.iter(f"{SVG}text")]
            labels += parts.labels
            nodes.append(parts)
        elif kind == "edge":
            path_points = [p for e in group.iter(f"{SVG}path")
                           for p in _path_points(e.get("d", ""))]
            heads = [_points(e.get("points", "")) for e in group.iter(f"{SVG}polygon")]
            own = [_label(t, "edge") for t in group.iter(f"{SVG}text")]
            labels += own
            edges.append(EdgeDrawing(group.get("id", "?"), path_points,
                                     [_tip(h, path_points) for h in heads if h], own))
    return Measured(path.name, nodes, edges, labels)


def _drawn_box(element: ET.Element, images: dict[str | None, ET.Element]) -> Rect | None:
    tag = element.tag
    if tag == f"{SVG}use":
        image = images.get(element.get(XLINK_HREF, "")[1:])
        if image is None:
            return None
        x = float(element.get("x", "0")) + float(image.get("x", "0"))
        y = float(element.get("y", "0")) + float(image.get("y", "0"))
        return Rect(x, y, x + float(image.get("width", "0")), y + float(image.get("height", "0")))
    if tag == f"{SVG}image":
        x, y = float(element.get("x", "0")), float(element.get("y", "0"))
        width, height = float(element.get("width", "0")), float(element.get("height", "0"))
        return Rect(x, y, x + width, y + height)
    if tag in (f"{SVG}polygon", f"{SVG}polyline"):
        return _bounds(_points(element.get("points", "")))
    if tag == f"{SVG}path":
        return _bounds(_path_points(element.get("d", "")))
    if tag == f"{SVG}ellipse":
        cx, cy = float(element.get("cx", "0")), float(element.get("cy", "0"))
        rx, ry = float(element.get("rx", "0")), float(element.get("ry", "0"))
        return Rect(cx - rx, cy - ry, cx + rx, cy + ry)
    return None


def _label(element: ET.Element, owner: str) -> Label:
    text = "".join(element.itertext())
    size = float(element.get("font-size", "14"))
    bold = element.get("font-weight", "") in ("bold", "700")
    width = _font(size, bold).getlength(text)
    x, y = float(element.get("x", "0")), float(element.get("y", "0"))
    anchor = element.get("text-anchor", "start")
    left = {"middle": x - width / 2, "end": x - width}.get(anchor, x)
    return Label(text, Rect(left, y - ASCENT * size, left + width, y + DESCENT * size), owner)


@functools.lru_cache(maxsize=64)
def _font(size: float, bold: bool) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(BOLD if bold else FONT), size=size)


def _points(text: str) -> list[Point]:
    numbers = [float(v) for v in re.findall(r"-?[0-9.]+(?:e-?[0-9]+)?", text)]
    return list(zip(numbers[::2], numbers[1::2]))


def _path_points(d: str) -> list[Point]:
    """Sample a Graphviz path (M then cubic C segments) into a polyline."""
    points: list[Point] = []
    for command, body in re.findall(r"([MCL])([^MCL]*)", d):
        coordinates = _points(body)
        if command in ("M", "L"):
            points += coordinates
            continue
        for start in range(0, len(coordinates) - 2, 3):
            p0 = points[-1]
            p1, p2, p3 = coordinates[start:start + 3]
            for step in range(1, 17):
                t = step / 16
                u = 1 - t
                x, y = (u**3 * a + 3 * u * u * t * b + 3 * u * t * t * c + t**3 * d
                        for a, b, c, d in zip(p0, p1, p2, p3))
                points.append((x, y))
    return points


def _tip(head: list[Point], path: list[Point]) -> Point:
    """Return the point of an arrowhead furthest from the line it finishes."""
    if not path:
        return head[0]
    centre = (sum(p[0] for p in head) / len(head), sum(p[1] for p in head) / len(head))
    end = min((path[0], path[-1]), key=lambda p: math.dist(p, centre))
    return max(head, key=lambda p: math.dist(p, end))


def _bounds(points: list[Point]) -> Rect | None:
    if not points:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return Rect(min(xs), min(ys), max(xs), max(ys))


def _trimmed(path: list[Point], by: float) -> list[Point]:
    """Return the polyline less `by` of its length at each end."""
    def cut(points: list[Point]) -> list[Point]:
        left = by
        while len(points) >= 2:
            step = math.dist(points[0], points[1])
            if step > left:
                t = left / step
                start = (points[0][0] + t * (points[1][0] - points[0][0]),
                         points[0][1] + t * (points[1][1] - points[0][1]))
                return [start, *points[1:]]
            left -= step
            points = points[1:]
        return points
    return cut(list(reversed(cut(list(path)))))[::-1] if len(path) >= 2 else path


def measure_folder(folder: Path) -> tuple[list[str], list[str]]:
    """Return the short arrows and the crossings of every light SVG figure in `folder`."""
    short, crossing = [], []
    for svg in sorted(folder.glob("*.svg")):
        if svg.name.endswith(".dark.svg"):
            continue
        measured = measure(svg)
        short += measured.short_arrows()
        crossing += measured.crossings()
    return short, crossing
