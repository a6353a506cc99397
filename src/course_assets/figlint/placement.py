"""Find layout defects in a figure's geometry: text on text, edges through labels, and more."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from typing import Any

from course_assets.figlint.findings import Finding
from course_assets.figlint.geometry import (
    Box, BoxIndex, Edge, Geometry, Node, Point, Text, bounds, polyline_crosses,
    polyline_distance,
)

# Thresholds, in points (a point is 4/3 CSS px at the figure's own size), tuned on the
# course's figures and the diagrams documentation's examples (docs/figure-lint.md).
# Two texts overlap when they share more than this share of the smaller one's box.
TEXT_OVERLAP = 0.10
# A label box is shrunk by this much before an edge is tested against it: an edge grazing
# a label's empty corner is not a crossing.
LABEL_MARGIN = 1.5
# An edge label further than this from its edge (and than twice its font size) reads as
# belonging to something else.
LABEL_DISTANCE = 24.0
# Text sticking out of a cluster's box by more than this crosses its border.
BORDER_SLACK = 1.0
# An arrowhead closer than this to a label lands on it: at 3 pt (4 CSS px) the tip reads as
# touching the words (the bundled font's descent leaves an arrow from below 2.6 pt short).
ARROW_LABEL_GAP = 3.0
# An arrow whose tip is within this of the icon's box reaches the icon...
ICON_REACHED = 1.5
# ...and one that stops outside it, further than this from the icon and label of the node it points at
# from the icon's drawn pixels and from its label, ends in empty space.
ARROW_GAP = 6.0


def layout_findings(geometry: Geometry) -> list[Finding]:
    """Return every layout defect of the figure, each once, in a stable order."""
    found = [*_overlapping_texts(geometry), *_edges_through_labels(geometry),
             *_labels_away_from_edges(geometry), *_text_across_cluster_borders(geometry),
             *_arrows_into_empty_space(geometry)]
    return list(dict.fromkeys(found))


def edges_through_labels(geometry: Geometry) -> list[Finding]:
    """Return every edge line or arrowhead that runs through (or touches) a label."""
    return list(dict.fromkeys(_edges_through_labels(geometry)))


def texts_astray(geometry: Geometry) -> int:
    """Return how many texts overlap one another, and edge labels sit away from their edges."""
    return (len(set(_overlapping_texts(geometry)))
            + len(set(_labels_away_from_edges(geometry))))


def owner_line(geometry: Geometry, text: Text) -> int | None:
    """Return the script line that made the element a text labels."""
    if text.owner == "node":
        node = geometry.node(text.key)
        return node.line if node else None
    if text.owner == "cluster":
        cluster = geometry.cluster(text.key)
        return cluster.line if cluster else None
    if text.owner == "edge":
        return next((e.line for e in geometry.edges if e.key == text.key), None)
    return geometry.line


def describe(geometry: Geometry, text: Text) -> str:
    """Name a text for a message: its words and what it labels."""
    kind = {"node": "node label", "cluster": "cluster label", "edge": "edge label",
            "graph": "title"}[text.owner]
    return f'{kind} "{text.text}"'


def _lines(*lines: int | None) -> tuple[int, ...]:
    return tuple(sorted({line for line in lines if line is not None}))


def _overlapping_texts(geometry: Geometry) -> Iterator[Finding]:
    index = BoxIndex((t.box, number) for number, t in enumerate(geometry.texts))
    for i, first in enumerate(geometry.texts):
        for _, j in index.near(first.box):
            if j <= i:
                continue
            second = geometry.texts[j]
            if (first.owner, first.key) == (second.owner, second.key):
                continue  # lines of one label are stacked by Graphviz itself
            shared = first.box.overlap(second.box)
            smaller = min(first.box.area, second.box.area)
            if smaller and shared / smaller > TEXT_OVERLAP:
                yield Finding(
                    "text-overlap",
                    f"{describe(geometry, first)} and {describe(geometry, second)} overlap",
                    _lines(owner_line(geometry, first), owner_line(geometry, second)))


def _edge_name(geometry: Geometry, edge: Edge) -> str:
    tail, head = geometry.node(edge.tail), geometry.node(edge.head)
    name = f'edge "{tail.label if tail else edge.tail}" -> "{head.label if head else edge.head}"'
    return name


def _edges_through_labels(geometry: Geometry) -> Iterator[Finding]:
    labels = BoxIndex((t.box, t) for t in geometry.texts
                      if t.owner in ("node", "cluster", "edge"))
    for edge in geometry.edges:
        # Only labels near the edge's bounds can meet it: in a large figure that is a handful.
        reach = bounds([*edge.path, *(p for head in edge.arrowheads for p in head)])
        if reach is None:
            continue
        reach = reach.shrunk(-ARROW_LABEL_GAP)
        for _, label in labels.near(reach):
            if not reach.overlap(label.box):
                continue
            box = label.box.shrunk(LABEL_MARGIN)
            if box.width <= 0 or box.height <= 0:
                continue
            if label.owner == "edge":
                # An edge label is read beside its line: a line through it, the edge's own
                # included, strikes its words out.
                if polyline_crosses(edge.path, box):
                    whose = "its own" if label.key == edge.key else "the"
                    yield Finding(
                        "edge-crosses-label",
                        f"the line of {_edge_name(geometry, edge)} crosses {whose} "
                        f"{describe(geometry, label)}",
                        _lines(edge.line, owner_line(geometry, label)))
                continue
            if any(polyline_crosses(head, box) for head in edge.arrowheads):
                part, verb = "arrowhead", "crosses"
            elif any(label.box.distance(p) < ARROW_LABEL_GAP
                     for head in edge.arrowheads for p in head):
                part, verb = "arrowhead", "touches"
            elif polyline_crosses(edge.path, box):
                part, verb = "line", "crosses"
            else:
                continue
            yield Finding(
                "edge-crosses-label",
                f"the {part} of {_edge_name(geometry, edge)} {verb} the "
                f"{describe(geometry, label)}",
                _lines(edge.line, owner_line(geometry, label)))


def _labels_away_from_edges(geometry: Geometry) -> Iterator[Finding]:
    for edge in geometry.edges:
        if len(edge.path) < 2:
            continue
        for label in geometry.labels_of("edge", edge.key):
            corners = _sample_box(label.box)
            distance = min(polyline_distance(edge.path, p) for p in corners)
            limit = max(LABEL_DISTANCE, 2 * label.size)
            if distance > limit:
                yield Finding(
                    "edge-label-away",
                    f'{describe(geometry, label)} sits {distance:.0f} pt from its '
                    f"{_edge_name(geometry, edge)}",
                    _lines(edge.line))


def _sample_box(box: Box) -> list[tuple[float, float]]:
    xs = [box.x0 + box.width * k / 4 for k in range(5)]
    ys = [box.y0, box.centre[1], box.y1]
    return [(x, y) for x in xs for y in ys]


def _text_across_cluster_borders(geometry: Geometry) -> Iterator[Finding]:
    for text in geometry.texts:
        for cluster in geometry.clusters:
            inside = cluster.box.overlap(text.box)
            if not inside:
                continue
            grown = Box(cluster.box.x0 - BORDER_SLACK, cluster.box.y0 - BORDER_SLACK,
                        cluster.box.x1 + BORDER_SLACK, cluster.box.y1 + BORDER_SLACK)
            if grown.overlap(text.box) >= text.box.area - 1e-6:
                continue
            yield Finding(
                "text-leaves-cluster",
                f'{describe(geometry, text)} crosses the border of cluster "{cluster.label}"',
                _lines(owner_line(geometry, text), cluster.line))


def _arrows_into_empty_space(geometry: Geometry) -> Iterator[Finding]:
    for edge in geometry.edges:
        if not edge.arrowheads:
            continue
        # The arrow at the head, and the one at the tail that `a << b` draws.
        for tip, key in ((edge.tip, edge.head), (edge.tail_tip, edge.tail)):
            node = geometry.node(key)
            if tip is None or node is None or node.icon is None:
                continue
            if node.box.distance(tip) > max(node.box.width, node.box.height):
                continue  # not an arrow Graphviz ended at this node (e.g. curved splines)
            labels = [t.box.distance(tip) for t in geometry.labels_of("node", node.key)]
            if node.icon.distance(tip) <= ICON_REACHED or min(labels, default=ARROW_GAP) < 1:
                continue  # an arrow that reaches the icon's box is not lost, margins or not
            gap = min(ink_distance(node, tip, ARROW_GAP * 2), *labels)
            if gap > ARROW_GAP:
                yield Finding(
                    "arrow-in-empty-space",
                    f"the arrow of {_edge_name(geometry, edge)} ends {gap:.0f} pt away from the "
                    f'icon and label of "{node.label}"',
                    _lines(edge.line, node.line))


def ink_distance(node: Node, point: Point, reach: float) -> float:
    """Return how far `point` lies from the drawn (opaque) pixels of the node's icon.

    Only pixels within `reach` points are looked at; further returns `reach` or more.
    """
    assert node.icon is not None
    box = node.icon
    outside = box.distance(point)
    if outside > reach or not node.icon_uri:
        return outside
    image = _alpha(node.icon_uri)
    scale_x, scale_y = image.width / box.width, image.height / box.height
    # Icon pixels run down from the box's top; layout y runs up.
    px, py = (point[0] - box.x0) * scale_x, (box.y1 - point[1]) * scale_y
    left, top = max(0, int(px - reach * scale_x)), max(0, int(py - reach * scale_y))
    right = min(image.width, int(px + reach * scale_x) + 1)
    bottom = min(image.height, int(py + reach * scale_y) + 1)
    best = reach * 2
    if right <= left or bottom <= top:
        return best
    window = image.crop((left, top, right, bottom))
    data = window.tobytes()
    for index, alpha in enumerate(data):
        if alpha >= 128:
            x, y = left + index % window.width + 0.5, top + index // window.width + 0.5
            best = min(best, math.hypot((x - px) / scale_x, (y - py) / scale_y))
    return best


@functools.lru_cache(maxsize=64)
def _alpha(data_uri: str) -> Any:
    import base64
    import io

    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(data_uri.split(",", 1)[1]))) as image:
        return image.convert("RGBA").getchannel("A")
