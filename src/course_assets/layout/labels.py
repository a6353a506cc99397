"""Place edge and cluster labels where no line crosses them, after Graphviz laid the graph out.

Graphviz's orthogonal edges (the diagrams library's default) are routed without their labels,
so a label may float away from its edge or sit on a line; and an edge may run through a
cluster's title. This reads the finished layout, finds each label a line crosses (or that
sits away from its edge, or across a cluster's border), and picks a free spot beside its own
edge; a crossed cluster title moves to a free corner of its cluster. Nothing else moves.
"""

from __future__ import annotations

import bisect
import collections
import functools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from course_assets.figlint.geometry import (
    Box, Geometry, Point, Text, bounds, polyline_crosses, polyline_distance, read_geometry,
)
from course_assets.layout import CORNER_PREFIX
from course_assets.layout.ends import EdgeEnds, carried_ends

# An SVG with no icons: placement needs the layout's boxes and lines, not the icons' pixels.
NO_ICONS = b'<svg xmlns="http://www.w3.org/2000/svg"/>'
# A line grazing a label's box by this much (points) leaves its words readable.
GRAZE = 1.5
# Room between a placed label and its edge's line.
GAP = 4.0
# Further than this from its edge, a label reads as belonging to something else.
AWAY = 24.0
# A cluster title is tried every this many points along its cluster's top or bottom.
TITLE_STEP = 4.0
# Graphviz sets a title to its cluster's left or right this far (points) from the side.
TITLE_SIDE = 8.0
# Where along its edge a label is tried, as shares of the edge's length: the middle first.
ALONG = (0.5, 0.4, 0.6, 0.3, 0.7, 0.45, 0.55, 0.35, 0.65, 0.25, 0.75, 0.2, 0.8, 0.15, 0.85)


# An edge by its tail's and head's names and its number among the edges between the two.
EdgeKey = tuple[str, str, int]


class Lines:
    """Every edge line and arrowhead of a figure, found by where they run."""

    def __init__(self, lines: Sequence[Sequence[Point]]) -> None:
        self._lines = [(found, list(line)) for line in lines
                       if (found := bounds(line)) is not None]

    def crossing(self, box: Box) -> int:
        """Return how many lines run through `box`."""
        return sum(1 for reach, line in self._lines
                   if reach.x0 <= box.x1 and box.x0 <= reach.x1 and reach.y0 <= box.y1
                   and box.y0 <= reach.y1 and polyline_crosses(line, box))


@dataclass(frozen=True)
class LabelMove:
    """An edge label's new centre: the edge, and lp or xlp."""

    edge: EdgeKey
    attribute: str
    centre: Point


@dataclass(frozen=True)
class TitleMove:
    """A cluster title moved to another corner of its cluster: its new centre (lp)."""

    cluster: str
    centre: Point


@dataclass(frozen=True)
class StuckTitle:
    """A cluster title a line crosses wherever it goes: its side ("t" or "b") and width."""

    cluster: str
    side: str
    width: float


@dataclass(frozen=True)
class Placement:
    """What to move after layout; empty when every label is already clear."""

    labels: tuple[LabelMove, ...] = ()
    titles: tuple[TitleMove, ...] = ()
    ends: tuple[EdgeEnds, ...] = ()  # edges carried on to the icon or label they point at
    # Cluster titles a line crosses wherever they go.
    stuck: tuple[StuckTitle, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.labels or self.titles or self.ends)


def lines_through_text(layout: Mapping[str, Any]) -> int:
    """Return how many times an edge line runs through a label in a finished layout."""
    return TextTroubles(layout).lines_through


def texts_astray(layout: Mapping[str, Any]) -> int:
    """Return how many texts overlap, or sit away from their edges, in a finished layout."""
    return TextTroubles(layout).astray


class TextTroubles:
    """What goes wrong with a finished layout's texts, each counted when first asked for.

    Both counts read the layout's geometry once: fitting asks for both of each drawing it
    compares.
    """

    def __init__(self, layout: Mapping[str, Any]) -> None:
        self._layout = layout

    @functools.cached_property
    def _geometry(self) -> Geometry:
        return read_geometry(self._layout, NO_ICONS)

    @functools.cached_property
    def lines_through(self) -> int:
        """How many times an edge line runs through a label."""
        from course_assets.figlint.placement import edges_through_labels

        if not self._layout.get("edges"):
            return 0
        return len(edges_through_labels(self._geometry))

    @functools.cached_property
    def astray(self) -> int:
        """How many texts overlap, or sit away from their edges."""
        from course_assets.figlint.placement import texts_astray as counted

        return counted(self._geometry)


def plan(layout: Mapping[str, Any]) -> Placement:
    """Return the label moves that clear every crossed, stray or border-straddling label."""
    if not layout.get("edges"):
        return Placement()
    geometry = read_geometry(layout, NO_ICONS)
    edges = list(layout.get("edges", []))
    keys = edge_keys(layout)
    lines = Lines([*(edge.path for edge in geometry.edges if len(edge.path) >= 2),
                   *(tuple(head) for edge in geometry.edges for head in edge.arrowheads)])
    fixed = [t.box for t in geometry.texts if t.owner in ("node", "cluster", "graph")]
    fixed += [node.box for node in geometry.nodes]
    placed = {edge.key: _label_box(geometry.labels_of("edge", edge.key))
              for edge in geometry.edges}
    moves: list[LabelMove] = []
    for number, edge in enumerate(geometry.edges):
        box = placed[edge.key]
        if box is None or len(edge.path) < 2:
            continue
        others = [b for key, b in placed.items() if key != edge.key and b is not None]
        if _clear(box, edge.path, lines, [*fixed, *others], geometry):
            continue
        spot = _free_spot(box, edge.path, lines, [*fixed, *others], geometry)
        if spot is None:
            continue  # nowhere better beside its edge: the lint tells the author
        attribute = "lp" if edges[number].get("lp") else "xlp"
        if not edges[number].get(attribute):
            continue
        old_x, old_y = (float(v) for v in str(edges[number][attribute]).split(","))
        centre = box.centre
        moved = (round(old_x + spot.centre[0] - centre[0], 2),
                 round(old_y + spot.centre[1] - centre[1], 2))
        moves.append(LabelMove(keys[number], attribute, moved))
        placed[edge.key] = spot
    texts = [t.box for t in geometry.texts if t.owner in ("node", "graph")]
    labels = [b for b in placed.values() if b is not None]
    obstacles = [*texts, *labels, *(node.box for node in geometry.nodes)]
    # A title is moved by its cluster's name: one two clusters share stays where it is.
    named = collections.Counter(str(o.get("name")) for o in layout.get("objects", []))
    centres = {str(o.get("name")): str(o["lp"]) for o in layout.get("objects", [])
               if o.get("lp") and named[str(o.get("name"))] == 1}
    # Titles keep clear of the arrows where they are drawn: carried on to their nodes.
    ends = carried_ends(layout, geometry, keys)
    heads, extensions = _drawn_arrowheads(geometry, keys, ends)
    drawn = Lines([*(edge.path for edge in geometry.edges if len(edge.path) >= 2),
                   *extensions, *heads])
    titles, stuck = _moved_titles(geometry, drawn, obstacles, centres, ArrowTips(heads))
    return Placement(tuple(moves), titles, ends, stuck)


def _drawn_arrowheads(geometry: Geometry, keys: Sequence[EdgeKey], ends: Sequence[EdgeEnds],
                      ) -> tuple[list[tuple[Point, ...]], list[tuple[Point, Point]]]:
    """Return every arrowhead where it is drawn once the carried arrows are moved, and the
    stretch of line each carried arrow gains (from where Graphviz ended it to its new end)."""
    carried = {end.edge: end for end in ends}
    heads: list[tuple[Point, ...]] = []
    extensions: list[tuple[Point, Point]] = []
    for key, edge in zip(keys, geometry.edges):
        end = carried.get(key)
        moved = [(old, new) for old, new in ((edge.tip, end.head), (edge.tail_tip, end.tail))
                 if old is not None and new is not None] if end else []
        extensions += [(old, new) for old, new in moved if old != new]
        for head in edge.arrowheads:
            reach = bounds(head)
            if not moved or reach is None:
                heads.append(tuple(head))
                continue
            # An arrowhead belongs to the end it is drawn at: the nearer one.
            old, new = min(moved, key=lambda m: math.dist(m[0], reach.centre))
            heads.append(tuple((x + new[0] - old[0], y + new[1] - old[1]) for x, y in head))
    return heads, extensions


def _label_box(texts: Sequence[Text]) -> Box | None:
    corners = [p for t in texts for p in ((t.box.x0, t.box.y0), (t.box.x1, t.box.y1))]
    return bounds(corners)


def _clear(box: Box, own: Sequence[Point], lines: Lines,
           obstacles: Sequence[Box], geometry: Geometry) -> bool:
    """Say whether a label box is free of lines and texts, inside the figure, near its edge."""
    return _cost(box, own, lines, obstacles, geometry) == 0


def _cost(box: Box, own: Sequence[Point], lines: Lines,
          obstacles: Sequence[Box], geometry: Geometry) -> float:
    """Score what is wrong with a label at `box`: 0 for nothing; a line through it the worst."""
    inner = box.shrunk(GRAZE)
    cost = 100.0 * lines.crossing(inner)
    cost += 50.0 * sum(inner.overlap(other) > 0 for other in obstacles)
    # Across a cluster's border, or beyond the figure's, it is still read.
    cost += 10.0 * sum(_straddles(box, cluster.box) for cluster in geometry.clusters)
    if inner.intersection(geometry.box).area < inner.area - 1e-6:
        cost += 5.0
    corners = [(box.x0, box.y0), (box.x1, box.y0), (box.x0, box.y1), (box.x1, box.y1),
               box.centre]
    if min(polyline_distance(list(own), p) for p in corners) > AWAY:
        cost += 60.0
    return cost


def _straddles(box: Box, cluster: Box) -> bool:
    inside = box.overlap(cluster)
    return 0 < inside < box.area - 1.0


def _free_spot(box: Box, path: Sequence[Point], lines: Lines,
               obstacles: Sequence[Box], geometry: Geometry) -> Box | None:
    """Return the first best spot beside the edge, or None where none beats where it is."""
    best, best_cost = None, _cost(box, path, lines, obstacles, geometry)
    for candidate in _candidates(box, path):
        cost = _cost(candidate, path, lines, obstacles, geometry)
        if cost < best_cost:
            best, best_cost = candidate, cost
            if cost == 0:
                break
    return best


def _candidates(box: Box, path: Sequence[Point]) -> Iterator[Box]:
    """Yield label boxes beside the edge, from its middle outwards, right or above first."""
    width, height = box.width, box.height
    lengths = [0.0]
    for a, b in zip(path, path[1:]):
        lengths.append(lengths[-1] + ((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2) ** 0.5)
    total = lengths[-1]
    if total <= 0:
        return
    for share in ALONG:
        at = share * total
        index = next(i for i in range(1, len(lengths)) if lengths[i] >= at or i == len(lengths) - 1)
        a, b = path[index - 1], path[index]
        step = lengths[index] - lengths[index - 1]
        t = 0.0 if step == 0 else (at - lengths[index - 1]) / step
        x, y = a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])
        upright = abs(b[1] - a[1]) >= abs(b[0] - a[0])
        beside = [(x + GAP + width / 2, y), (x - GAP - width / 2, y)]
        over = [(x, y + GAP + height / 2), (x, y - GAP - height / 2)]
        for cx, cy in (beside + over) if upright else (over + beside):
            yield Box(cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)


class ArrowTips:
    """The points of every arrowhead, found by height: what a title must keep its distance from.

    The lint reads an arrowhead closer than ARROW_LABEL_GAP to a label as landing on it, even
    where no line crosses the words.
    """

    def __init__(self, arrowheads: Iterable[Sequence[Point]]) -> None:
        from course_assets.figlint.placement import ARROW_LABEL_GAP

        self.gap = ARROW_LABEL_GAP
        self._points = sorted((p[1], p[0]) for head in arrowheads for p in head)

    def near(self, box: Box) -> bool:
        """Say whether an arrowhead lands on `box` (comes closer than the gap)."""
        low = bisect.bisect_left(self._points, (box.y0 - self.gap, -math.inf))
        for y, x in self._points[low:]:
            if y > box.y1 + self.gap:
                return False
            if box.distance((x, y)) < self.gap:
                return True
        return False


def _moved_titles(geometry: Geometry, lines: Lines,
                  obstacles: Sequence[Box], centres: Mapping[str, str], tips: ArrowTips,
                  ) -> tuple[tuple[TitleMove, ...], tuple[StuckTitle, ...]]:
    """Return a move for each cluster title a line crosses or an arrowhead lands on, to the
    nearest free place along its cluster's top or bottom, and the crossed titles that have
    none, each with its side."""
    moves: list[TitleMove] = []
    stuck: list[StuckTitle] = []
    # Every title where it is now: a moved one keeps off the others, and off the clusters
    # inside its own (it would read as theirs, or lie across their borders).
    titles = {cluster.key: _label_box(geometry.labels_of("cluster", cluster.key))
              for cluster in geometry.clusters}
    for cluster in geometry.clusters:
        box = titles[cluster.key]
        if box is None or cluster.key not in centres:
            continue
        crossed = _crossed(box, lines)
        if not crossed and not tips.near(box):
            continue
        x, y = (float(v) for v in centres[cluster.key].split(",")[:2])
        left, right = box.x0 - cluster.box.x0, cluster.box.x1 - box.x1
        below, above = box.y0 - cluster.box.y0, cluster.box.y1 - box.y1
        loc = "t" if above <= below else "b"
        # Kept from the cluster's sides wherever the title goes: a centred title's too may
        # step aside, as far as a title set to one side sits from it.
        margin = min(left, right, TITLE_SIDE)
        others = [b for key, b in titles.items() if key != cluster.key and b is not None]
        inner = [c.box for c in geometry.clusters if _inside(geometry, c.key, cluster.key)]
        for dy in (0.0, above - below):  # its own side first; y grows upwards
            spot = _free_along(box, dy, cluster.box.x0 + margin, cluster.box.x1 - margin,
                               lines, [*obstacles, *others], tips, inner)
            if spot is not None:
                moves.append(TitleMove(cluster.key, (round(x + spot, 2), round(y + dy, 2))))
                titles[cluster.key] = Box(box.x0 + spot, box.y0 + dy, box.x1 + spot, box.y1 + dy)
                break
        else:
            # A title an arrowhead only comes close to is left where it is: worth no new layout.
            if crossed:
                stuck.append(StuckTitle(cluster.key, loc, box.width))
    return tuple(moves), tuple(stuck)


def _free_along(box: Box, dy: float, start: float, stop: float, lines: Lines,
                obstacles: Sequence[Box], tips: ArrowTips, inner: Sequence[Box] = (),
                ) -> float | None:
    """Return the smallest sideways move (after moving `dy` up) that frees a title, or None.

    A free place is clear of lines and arrowheads, overlaps no obstacle (but for a graze),
    and touches none of the `inner` clusters' boxes.
    """
    shifts = [start - box.x0 + step * TITLE_STEP
              for step in range(int((stop - start - box.width) / TITLE_STEP) + 1)]
    for dx in sorted(shifts, key=abs):
        moved = Box(box.x0 + dx, box.y0 + dy, box.x1 + dx, box.y1 + dy)
        if not _crossed(moved, lines) and not tips.near(moved) and not any(
                moved.shrunk(GRAZE).overlap(other) > 0 for other in obstacles) and not any(
                moved.overlap(cluster) > 0 for cluster in inner):
            return dx
    return None


def _inside(geometry: Geometry, key: str, outer: str) -> bool:
    """Say whether cluster `key` lies inside cluster `outer` (at any depth)."""
    cluster = geometry.cluster(key)
    while cluster is not None and cluster.parent is not None:
        if cluster.parent == outer:
            return True
        cluster = geometry.cluster(cluster.parent)
    return False


def _crossed(box: Box, lines: Lines) -> bool:
    inner = box.shrunk(GRAZE)
    return lines.crossing(inner) > 0


def _other(side: str) -> str:
    return {"t": "b", "b": "t"}[side]


# Invisible points at two corners of the laid-out figure: "nop2" sizes the drawing to what it
# holds, and without them it would drop the margin Graphviz's own layout left around it.
CORNER = CORNER_PREFIX


# What Graphviz's JSON (xdot) output leaves in a graph's attributes: drawing operations that
# the "nop2" engine would draw again, on top of the drawing it makes itself.
XDOT_ATTRIBUTES = ("_background", "_draw_", "_ldraw_", "_hdraw_", "_tdraw_", "_hldraw_",
                   "_tldraw_", "xdotversion")


def apply(graph: Any, placement: Placement) -> None:
    """Write the moves into a pygraphviz graph whose layout is in its attributes."""
    _forget_drawing(graph)
    edges = _edges_by_key(graph)
    for ends in placement.ends:
        if ends.edge in edges:
            edges[ends.edge].attr["pos"] = ends.pos
    for move in placement.labels:
        if move.edge in edges:
            edges[move.edge].attr[move.attribute] = f"{move.centre[0]:g},{move.centre[1]:g}"
    clusters = {str(sub.name): sub for sub in _subgraphs(graph)}
    for title in placement.titles:
        if title.cluster in clusters:
            clusters[title.cluster].graph_attr["lp"] = f"{title.centre[0]:g},{title.centre[1]:g}"
    x0, y0, x1, y1 = (float(v) for v in str(graph.graph_attr["bb"]).split(","))
    for number, (x, y) in enumerate(((x0, y0), (x1, y1))):
        graph.add_node(f"{CORNER}{number}", shape="point", style="invis", width="0",
                       height="0", label="", xlabel="", pos=f"{x:g},{y:g}!")


def _forget_drawing(graph: Any) -> None:
    """Clear the drawing operations a JSON rendering left in the graph's attributes."""
    for attributes in (graph.graph_attr, *(sub.graph_attr for sub in _subgraphs(graph))):
        for name in XDOT_ATTRIBUTES:
            if attributes.get(name):
                attributes[name] = ""
    for item in (*graph.nodes_iter(), *graph.edges_iter()):
        for name in XDOT_ATTRIBUTES:
            if item.attr.get(name):
                item.attr[name] = ""


def edge_keys(layout: Mapping[str, Any]) -> list[EdgeKey]:
    """Return the key of each edge of a JSON layout, in its order."""
    names = {o["_gvid"]: str(o.get("name", "")) for o in layout.get("objects", [])
             if "_gvid" in o}
    counts: dict[tuple[str, str], int] = {}
    keys = []
    for edge in layout.get("edges", []):
        pair = (names.get(edge.get("tail"), "?"), names.get(edge.get("head"), "?"))
        counts[pair] = counts.get(pair, -1) + 1
        keys.append((*pair, counts[pair]))
    return keys


def _edges_by_key(graph: Any) -> dict[EdgeKey, Any]:
    # The JSON lists edges in the order they were made; pygraphviz node by node. Between
    # the same two nodes, both keep the order they were made in.
    counts: dict[tuple[str, str], int] = {}
    found = {}
    for edge in graph.edges_iter():
        pair = (str(edge[0]), str(edge[1]))
        counts[pair] = counts.get(pair, -1) + 1
        found[(*pair, counts[pair])] = edge
    return found


# The ways to give a title no line crosses room, tried in turn with a fresh layout: on its
# cluster's other side; or on its own side, with the cluster wider by the title's width, so
# that lines into the nodes below it leave it room beside them.
ROOM_WAYS = ("other side", "wider")


def title_room(graph: Any, stuck: Sequence[StuckTitle]) -> Callable[[str], None]:
    """Return a function that sets the stuck titles' clusters up one of the ROOM_WAYS, or
    back as the script made them ("as made")."""
    clusters = {str(sub.name): sub for sub in _subgraphs(graph)}
    made = {t.cluster: (str(clusters[t.cluster].graph_attr.get("labelloc") or ""),
                        str(clusters[t.cluster].graph_attr.get("margin") or ""))
            for t in stuck if t.cluster in clusters}

    def set_up(way: str) -> None:
        for title in stuck:
            if title.cluster not in made:
                continue
            attributes = clusters[title.cluster].graph_attr
            labelloc, margin = made[title.cluster]
            attributes["labelloc"] = _other(title.side) if way == "other side" else labelloc
            attributes["margin"] = margin
            if way == "wider":
                try:
                    points = float(margin or 8.0)
                except ValueError:
                    points = 8.0
                attributes["margin"] = f"{points + title.width:.2f}"

    return set_up


def _subgraphs(graph: Any) -> Iterator[Any]:
    for sub in graph.subgraphs_iter():
        yield sub
        yield from _subgraphs(sub)
