"""Fit a figure to where it is shown: per embedding, pick a layout whose text is readable there.

A figure is shown in a chapter's column and on a deck slide. Where the author's layout would show
its smallest text under the readable size in one of them, the build considers the same graph
laid out in a few other ways (another direction, its top-level parts wrapped into rows). Each
is estimated from the parts' sizes in the author's layout and scored for the place: smallest
text first, then edge crossings, then a shape near the place's, then area. The best is drawn,
and kept only where the drawing proves better than what it replaces (render/figure.py). The
author's layout stays wherever it is readable. What cannot be made readable on one slide is
shown on several: the whole figure, then zoomed crops of the same drawing (`zoom_boxes`).

Everything here runs in the child that laid the author's graph out (Graphviz lives there); the
choice is a `Fit`, which the dark variant applies again to its own graph.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from course_assets.layout import ROW_POINT_PREFIX

PX_PER_PT = 4 / 3
# An author turns fitting off for one figure with this comment anywhere in its script.
FIT_OFF_MARKER = re.compile(r"^\s*#\s*course-assets:\s*fit\s+off\b", re.M)
# How much context a zoomed crop keeps around what it shows, in points.
CROP_CONTEXT = 12.0
# Slides are fitted to a little above the readable size: the room a deck gives a figure is
# an estimate (to within about 25 px of what Chromium gives it).
SLIDE_MARGIN = 1.05
# A text counts as shown by a crop when it is inside with this much to spare, as a share of its
# font size: browsers measure a line of text a little taller than its glyphs.
TEXT_SPARE = 0.25
# Units wrapped into rows: at most this many units a row are considered.
MOST_PER_ROW = 12
# How many of the candidates whose estimated shape suits a room best are scored in full.
SCORED = 3
# How many of them the build draws for the chapter at most, best estimate first.
TRIED = 3
# A slide layout is drawn only where its estimated text reaches this share of the readable
# size (it then needs at most about three zoomed slides), or grows the text this many times
# (a tall strip's overview becomes a picture of it). Otherwise the chapter's drawing is zoomed
# instead: a layout drawn for slides costs as much again as the figure itself.
WORTH_A_SLIDE_LAYOUT = 0.6
WORTH_A_SLIDE_LAYOUT_GROWTH = 3.0

# The names of the invisible edges a fit adds to line its rows up (prefix; a number follows).
ROW_EDGE_KEY = "course-assets-row-"


@dataclass(frozen=True)
class Room:
    """Where a figure is shown: the box it gets (CSS px), the text it needs, how far it grows."""

    name: str
    width: float
    height: float
    minimum: float
    growth: float
    aspect: float  # the width to height a layout should have to suit the room best

    def text_size(self, width: float, height: float, smallest_text: float) -> float:
        """Return the smallest text, in CSS px, of a figure of this size (CSS px) shown here."""
        if width <= 0 or height <= 0:
            return smallest_text
        return smallest_text * min(self.width / width, self.height / height, self.growth)


def rooms() -> tuple[Room, Room]:
    """Return the chapter column and the deck slide, as the readable-size check judges them."""
    from course_assets.figlint.report import (
        CHAPTER_COLUMN, CHAPTER_MINIMUM, SLIDE_GROWTH, SLIDE_MINIMUM, SLIDE_ROOM,
    )

    # A chapter's image is never grown, and a reader scrolls down a tall one.
    return (Room("chapter", CHAPTER_COLUMN, math.inf, CHAPTER_MINIMUM, 1.0, 4 / 3),
            Room("slide", SLIDE_ROOM[0], SLIDE_ROOM[1], SLIDE_MINIMUM * SLIDE_MARGIN,
                 SLIDE_GROWTH, SLIDE_ROOM[0] / SLIDE_ROOM[1]))


@dataclass(frozen=True)
class Fit:
    """A change to the author's graph that gives another layout of the same figure.

    `rankdir` replaces the direction; `loose` are edges (tail, head) that stop ranking the
    graph (constraint=false), and `rows` stack the wrapped rows: for each unit with another
    below it, the nodes that end it and the nodes that start the one below.
    """

    name: str = "as drawn"
    rankdir: str | None = None
    loose: tuple[tuple[str, str], ...] = ()
    rows: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()

    @property
    def as_drawn(self) -> bool:
        return self.rankdir is None and not self.loose and not self.rows

    def apply(self, graph: Any) -> None:
        """Change a pygraphviz AGraph (not yet laid out) into this layout's graph."""
        if self.rankdir is not None:
            graph.graph_attr["rankdir"] = self.rankdir
        loose = set(self.loose)
        if loose:
            for edge in graph.edges():
                if (str(edge[0]), str(edge[1])) in loose:
                    edge.attr["constraint"] = "false"
        for number, (ends, starts) in enumerate(self.rows):
            # The dark variant is drawn in the light one's layout: a script that draws fewer
            # nodes there would have the missing ends added, drawn as nodes named by their ids.
            above = [n for n in ends if graph.has_node(n)]
            below = [n for n in starts if graph.has_node(n)]
            links = [(tail, head, "1") for tail in above for head in below]
            if len(links) > len(above) + len(below):
                # Between two wide units, one invisible point: the ends lead to it, and it leads
                # to the starts. As strict as an edge from every end to every start, with far
                # fewer edges. Its edges keep to ranks of their own: on the starts' rank, a
                # point would be ordered before every start there, and each row hung below the
                # one before it (half as large again), and with edge labels in the graph,
                # Graphviz's ordering of such edges could abort (mincross.c: fixLabelOrder).
                # (Where one side is a single node, the point would only take room beside it.)
                point = f"{ROW_POINT_PREFIX}{number}"
                graph.add_node(point, shape="point", style="invis", width="0", height="0",
                               label="", xlabel="")
                links = [*((tail, point, "1") for tail in above),
                         *((point, head, "1") for head in below)]
            for link, (tail, head, minlen) in enumerate(links):
                graph.add_edge(tail, head, key=f"{ROW_EDGE_KEY}{number}-{link}", style="invis",
                               arrowhead="none", label="", xlabel="", minlen=minlen)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "rankdir": self.rankdir, "loose": [list(e) for e in self.loose],
                "rows": [[list(ends), list(starts)] for ends, starts in self.rows]}


AS_DRAWN = Fit()


@dataclass(frozen=True)
class Shape:
    """What a layout gives: its own size (CSS px, margins included) and its edge crossings."""

    width: float
    height: float
    crossings: int


@dataclass(frozen=True)
class Choice:
    """The layout kept for one room, how readable it is there, and how it compares."""

    fit: Fit
    shape: Shape
    text: float  # smallest text in CSS px as the room shows it

    def readable(self, room: Room) -> bool:
        return self.text >= room.minimum


@dataclass(frozen=True)
class Figure:
    """The author's laid-out graph as fitting reads it: units, positions, text, margins."""

    layout: Mapping[str, Any]
    # The margin Graphviz adds around the bounding box on each side, in points.
    margin: tuple[float, float]
    smallest_text: float  # CSS px at the figure's own size
    units: tuple[tuple[str, ...], ...] = ()

    @property
    def direction(self) -> str:
        return str(self.layout.get("rankdir", "TB")).upper()


def read_figure(graph: Any, layout: Mapping[str, Any], svg_size: tuple[float, float]) -> Figure:
    """Read the author's graph (pygraphviz) and its layout; `svg_size` is the SVG's in points."""
    box = _bb(layout)
    margin = (max(0.0, (svg_size[0] - box[2] + box[0]) / 2),
              max(0.0, (svg_size[1] - box[3] + box[1]) / 2))
    sizes = [float(op.get("size", 14.0)) for op in _ops(layout) if op.get("op") == "F"]
    smallest = min(sizes) * PX_PER_PT if sizes else 14.0 * PX_PER_PT
    return Figure(layout, margin, smallest, _ordered_units(graph, layout))


def choose(figure: Figure, room: Room, author: Shape) -> Choice:
    """Return the layout for `room`: the author's when readable there, else the best estimate.

    Only estimated: the build draws the choice (it must, to show it) and keeps it only where it
    proves better than what it replaces (`improves`). Laying every candidate out to judge it
    cost half as much again as the figure itself (see the bench).
    """
    drawn = Choice(AS_DRAWN, author, room.text_size(author.width, author.height,
                                                     figure.smallest_text))
    if drawn.readable(room):
        return drawn
    return max([drawn, *candidates(figure, room, author)], key=lambda c: _score(c, room))


def ranked(figure: Figure, room: Room, author: Shape) -> list[Choice]:
    """Return the other layouts for `room`, best estimate first (none where the author's reads)."""
    drawn = Choice(AS_DRAWN, author, room.text_size(author.width, author.height,
                                                     figure.smallest_text))
    if drawn.readable(room):
        return []
    found = sorted(candidates(figure, room, author), key=lambda c: _score(c, room), reverse=True)
    return [choice for choice in found if _score(choice, room) > _score(drawn, room)]


def improves(figure: Figure, room: Room, new: Shape, old: Shape) -> bool:
    """Say whether a layout of shape `new`, as drawn, reads better in `room` than `old`."""
    def judged(shape: Shape) -> Choice:
        return Choice(AS_DRAWN, shape, room.text_size(shape.width, shape.height,
                                                      figure.smallest_text))

    return _score(judged(new), room) > _score(judged(old), room)


def _score(choice: Choice, room: Room) -> tuple[float, ...]:
    # Readable ties with readable: then fewer crossings, a shape nearer the room's, less area;
    # the author's layout wins a tie (it comes first, and max keeps the first of equals).
    shape = choice.shape
    aspect = abs(math.log(max(shape.width, 1.0) / max(shape.height, 1.0) / room.aspect))
    return (round(min(choice.text, room.minimum), 1), -shape.crossings, -round(aspect, 1),
            -round(shape.width * shape.height))


def candidates(figure: Figure, room: Room, author: Shape) -> list[Choice]:
    """Return the layouts worth trying for `room`, the most promising first.

    The direction turned, and the top-level units (clusters, and nodes outside any) wrapped
    into rows in either direction, each row length once. They are ranked by the text size
    their estimated shape would show in the room (a turned figure is estimated as the author's
    shape turned); the best SCORED of them are returned, with their estimated shapes.
    """
    turned = {"TB": "LR", "BT": "RL", "LR": "TB", "RL": "BT"}.get(figure.direction, "LR")
    shapes = [(Shape(author.height, author.width, 0), 1, 0, f"direction {turned}", turned, 0)]
    if len(figure.units) >= 3:
        sizes = _unit_sizes(figure)
        for order, direction in enumerate((figure.direction, turned)):
            for per_row in range(2, min(MOST_PER_ROW, len(figure.units) - 1) + 1):
                width, height = _grid_size(figure, sizes, per_row, direction)
                shapes.append((Shape(width, height, 0), 0, order * 100 + per_row, "", direction,
                               per_row))
    ranked = []
    for shape, turn, order, name, direction, per_row in shapes:
        text = room.text_size(shape.width, shape.height, figure.smallest_text)
        ranked.append((text, turn, order, shape, name, direction, per_row))
    # Readable ties with readable; then the turned figure (one change), then fewer a row.
    ranked.sort(key=lambda item: (-round(min(item[0], room.minimum), 1), -item[1], item[2]))
    found = []
    for text, _, _, shape, name, direction, per_row in ranked[:SCORED]:
        fit = (Fit(name, rankdir=direction) if not per_row
               else wrapped(figure, per_row, direction))
        found.append(Choice(fit, shape, text))
    return found


def wrapped(figure: Figure, per_row: int, direction: str) -> Fit:
    """Return the Fit that lays the units out `per_row` a row, rows following each other.

    Rows run across the direction (side by side in TB, one above the other in LR), snaking so
    that the last unit of a row sits above (or before) the first of the next. Edges between
    units stop ranking the graph; the ends of each unit are ranked before the starts of the
    unit below it (`Fit.apply`), which stacks the rows.
    """
    units = figure.units
    where = {node: number for number, unit in enumerate(units) for node in unit}
    graph_edges = _edges(figure.layout)
    loose = tuple(sorted({(t, h) for t, h in graph_edges
                          if t in where and h in where and where[t] != where[h]}))
    inside = [(t, h) for t, h in graph_edges if t in where and where.get(h) == where[t] and t != h]
    grid: dict[tuple[int, int], int] = {}
    for number in range(len(units)):
        row, column = divmod(number, per_row)
        grid[(row, column if row % 2 == 0 else per_row - 1 - column)] = number
    rows = []
    for (row, column), number in sorted(grid.items()):
        below = grid.get((row + 1, column))
        if below is None:
            continue
        upper, lower = units[number], units[below]
        ends = [n for n in upper if not any(t == n and where[h] == number for t, h in inside)]
        starts = [n for n in lower if not any(h == n and where[t] == below for t, h in inside)]
        rows.append((tuple(ends or upper[-1:]), tuple(starts or lower[:1])))
    name = f"direction {direction}, {per_row} a row"
    return Fit(name, rankdir=direction if direction != figure.direction else None,
               loose=loose, rows=tuple(rows))


def _grid_size(figure: Figure, sizes: list[tuple[float, float]], per_row: int,
               direction: str) -> tuple[float, float]:
    """Estimate the CSS px size of the units wrapped `per_row` a row in `direction`."""
    gap_across, gap_along = _gaps(figure)
    turned = (direction in ("LR", "RL")) != (figure.direction in ("LR", "RL"))
    across_total, along_total = 0.0, 0.0
    for start in range(0, len(sizes), per_row):
        row = sizes[start:start + per_row]
        # A unit is assumed to keep its shape, turned with the direction.
        across = [(h if turned else w) if direction in ("TB", "BT") else (w if turned else h)
                  for w, h in row]
        along = [(w if turned else h) if direction in ("TB", "BT") else (h if turned else w)
                 for w, h in row]
        across_total = max(across_total, sum(across) + gap_across * (len(row) - 1))
        along_total += max(along) + gap_along
    along_total -= gap_along
    width, height = ((across_total, along_total) if direction in ("TB", "BT")
                     else (along_total, across_total))
    return ((width + 2 * figure.margin[0]) * PX_PER_PT,
            (height + 2 * figure.margin[1]) * PX_PER_PT)


def _gaps(figure: Figure) -> tuple[float, float]:
    """Return the node and rank separation in points (Graphviz's defaults when unset)."""
    def inches(name: str, default: float) -> float:
        try:
            return float(str(figure.layout.get(name, default)).split()[0]) * 72
        except ValueError:
            return default * 72

    return inches("nodesep", 0.25), inches("ranksep", 0.5)


def _unit_sizes(figure: Figure) -> list[tuple[float, float]]:
    """Return each unit's width and height in points, as the author's layout drew it."""
    boxes = _node_boxes(figure.layout)
    clusters = {frozenset(_cluster_nodes(figure.layout, c)): _bb(c) for c in _clusters(figure.layout)}
    sizes = []
    for unit in figure.units:
        box = clusters.get(frozenset(unit))
        if box is None:
            found = [boxes[n] for n in unit if n in boxes]
            box = (min(b[0] for b in found), min(b[1] for b in found),
                   max(b[2] for b in found), max(b[3] for b in found)) if found else (0, 0, 0, 0)
        sizes.append((box[2] - box[0], box[3] - box[1]))
    return sizes


def _ordered_units(graph: Any, layout: Mapping[str, Any]) -> tuple[tuple[str, ...], ...]:
    """Return the top-level units in reading order: each top-level cluster, each other node.

    Reading order follows the author's layout: along the direction, then across it.
    """
    units: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for subgraph in graph.subgraphs():
        if not str(subgraph.name).startswith("cluster"):
            continue
        members = tuple(sorted(str(n) for n in subgraph.nodes() if str(n) not in seen))
        if members:
            units.append(members)
            seen.update(members)
    units += [(str(n),) for n in graph.nodes() if str(n) not in seen]
    centres = {name: ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
               for name, b in _node_boxes(layout).items()}
    direction = str(layout.get("rankdir", "TB")).upper()

    def key(unit: tuple[str, ...]) -> tuple[float, float]:
        points = [centres[n] for n in unit if n in centres] or [(0.0, 0.0)]
        x, y = min(p[0] for p in points), max(p[1] for p in points)
        along = {"TB": -y, "BT": -min(p[1] for p in points), "LR": x,
                 "RL": -max(p[0] for p in points)}.get(direction, -y)
        across = x if direction in ("TB", "BT") else -y
        return (round(along, 1), round(across, 1))

    return tuple(sorted(units, key=key))


def zoom_boxes(layout: Mapping[str, Any], own: tuple[float, float], room: Room,
               smallest_text: float) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Return the zoomed crops that show every text of a layout at `room`'s readable size.

    Each crop is (caption, box in layout points: x0, y0, x1, y1). Texts the whole figure
    already shows readably need none, and neither does the figure's title (the Diagram's
    name): the overview shows it, and a slide for a title alone would show nothing else. A top-level cluster whose crop (with a
    little context) is readable on its own slide is one crop, captioned with its label, in the
    script's order; the texts still left are covered by windows as large as a readable slide
    allows, taken in reading order.
    """
    # The largest box, in points, whose smallest text still reaches the readable size.
    scale = room.minimum / smallest_text  # CSS px per CSS px of the figure
    window = (room.width / scale / PX_PER_PT, room.height / scale / PX_PER_PT)
    texts = _text_boxes(layout, title=False)
    whole = room.text_size(own[0], own[1], 1.0)
    crops: list[tuple[str, tuple[float, float, float, float]]] = []
    covered = {i for i, t in enumerate(texts) if t[4] * PX_PER_PT * whole >= room.minimum}

    def fits(box: tuple[float, float, float, float]) -> bool:
        return box[2] - box[0] <= window[0] and box[3] - box[1] <= window[1]

    def take(caption: str, box: tuple[float, float, float, float]) -> None:
        crops.append((caption, box))
        covered.update(i for i, t in enumerate(texts) if _inside(t, box))

    top = [c for c in _clusters(layout) if _is_top_level(layout, c)]
    for cluster in sorted(top, key=lambda c: int(c.get("_gvid", 0))):
        box = _grown(_bb(cluster), CROP_CONTEXT)
        if fits(box):
            take(_label(cluster) or "Part", box)
    for number, text in sorted(enumerate(texts), key=lambda item: (-item[1][3], item[1][0])):
        if number in covered:
            continue
        # A window with this text at its top left (less the context), kept inside the figure.
        x0, y0, x1, y1 = _bb(layout)
        left = max(x0 - CROP_CONTEXT, min(text[0] - CROP_CONTEXT, x1 + CROP_CONTEXT - window[0]))
        top_edge = min(y1 + CROP_CONTEXT, max(text[3] + CROP_CONTEXT, y0 - CROP_CONTEXT + window[1]))
        take("", (left, top_edge - window[1], left + window[0], top_edge))
    parts = 0
    named = []
    for caption, box in crops:
        if not caption:
            parts += 1
            caption = f"part {parts}"
        named.append((caption, box))
    return named


def shown_sizes(layout: Mapping[str, Any], own: tuple[float, float], room: Room,
                smallest_text: float, boxes: Sequence[tuple[float, float, float, float]]
                ) -> float:
    """Return the smallest text, in CSS px, that the best view of each text shows it at."""
    texts = _text_boxes(layout, title=False)
    whole = room.text_size(own[0], own[1], 1.0)
    worst = math.inf
    for text in texts:
        size = text[4] * PX_PER_PT
        best = size * whole
        for box in boxes:
            if _inside(text, box):
                width, height = (box[2] - box[0]) * PX_PER_PT, (box[3] - box[1]) * PX_PER_PT
                best = max(best, size * min(room.width / width, room.height / height))
        worst = min(worst, best)
    return worst if worst < math.inf else smallest_text * whole


def _inside(text: tuple[float, float, float, float, float],
            box: tuple[float, float, float, float]) -> bool:
    spare = TEXT_SPARE * text[4]
    return (box[0] <= text[0] - spare and text[2] + spare <= box[2]
            and box[1] <= text[1] - spare and text[3] + spare <= box[3])


def _grown(box: tuple[float, float, float, float], by: float) -> tuple[float, float, float, float]:
    return (box[0] - by, box[1] - by, box[2] + by, box[3] + by)


def _text_boxes(layout: Mapping[str, Any], title: bool = True,
                ) -> list[tuple[float, float, float, float, float]]:
    """Return every drawn text as (x0, y0, x1, y1, font size in points); the title's too."""
    from course_assets.figlint.geometry import ASCENT, DESCENT

    found = []
    for number, ops in enumerate(_op_lists(layout)):
        if number == 0 and not title:
            continue  # the graph's own label: the figure's title
        size = 14.0
        for op in ops:
            if op.get("op") == "F":
                size = float(op.get("size", size))
            elif op.get("op") == "T" and str(op.get("text", "")).strip():
                x, y = (float(v) for v in op["pt"])
                width = float(op.get("width", 0))
                left = {"l": x, "r": x - width}.get(str(op.get("align", "c")), x - width / 2)
                found.append((left, y - DESCENT * size, left + width, y + ASCENT * size, size))
    return found


def _op_lists(layout: Mapping[str, Any]) -> Iterable[list[Mapping[str, Any]]]:
    yield list(layout.get("_ldraw_", []))
    for obj in [*layout.get("objects", []), *layout.get("edges", [])]:
        for part in ("_ldraw_", "_hldraw_", "_tldraw_"):
            yield list(obj.get(part, []))


def _ops(layout: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for ops in _op_lists(layout):
        yield from ops


def _bb(obj: Mapping[str, Any]) -> tuple[float, float, float, float]:
    try:
        x0, y0, x1, y1 = (float(v) for v in str(obj.get("bb", "0,0,0,0")).split(","))
    except ValueError:
        return (0.0, 0.0, 0.0, 0.0)
    return (x0, y0, x1, y1)


def _clusters(layout: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    count = int(layout.get("_subgraph_cnt", 0))
    return [o for o in layout.get("objects", [])
            if o.get("_gvid", 0) < count and str(o.get("name", "")).startswith("cluster")]


def _is_top_level(layout: Mapping[str, Any], cluster: Mapping[str, Any]) -> bool:
    children = {child for c in _clusters(layout) for child in c.get("subgraphs", [])}
    return cluster.get("_gvid") not in children


def _cluster_nodes(layout: Mapping[str, Any], cluster: Mapping[str, Any]) -> list[str]:
    names = {o["_gvid"]: str(o["name"]) for o in layout.get("objects", []) if "_gvid" in o}
    return [names[n] for n in cluster.get("nodes", []) if n in names]


def _label(cluster: Mapping[str, Any]) -> str:
    return " ".join(str(op.get("text", "")) for op in cluster.get("_ldraw_", [])
                    if op.get("op") == "T").strip()


def _node_boxes(layout: Mapping[str, Any]) -> dict[str, tuple[float, float, float, float]]:
    count = int(layout.get("_subgraph_cnt", 0))
    boxes = {}
    for obj in layout.get("objects", []):
        if obj.get("_gvid", 0) < count or "pos" not in obj:
            continue
        x, y = (float(v) for v in str(obj["pos"]).split(",")[:2])
        half_w = float(obj.get("width", 0)) * 36
        half_h = float(obj.get("height", 0)) * 36
        boxes[str(obj["name"])] = (x - half_w, y - half_h, x + half_w, y + half_h)
    return boxes


def _edges(layout: Mapping[str, Any]) -> list[tuple[str, str]]:
    names = {o["_gvid"]: str(o["name"]) for o in layout.get("objects", []) if "_gvid" in o}
    return [(names.get(e.get("tail"), ""), names.get(e.get("head"), ""))
            for e in layout.get("edges", []) if str(e.get("style", "")) != "invis"]


def crossings(layout: Mapping[str, Any]) -> int:
    """Count the pairs of visible edges whose straight chords (tail to head centre) cross."""
    boxes = _node_boxes(layout)
    centres = {n: ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for n, b in boxes.items()}
    chords = [(centres[t], centres[h]) for t, h in _edges(layout)
              if t in centres and h in centres and t != h]
    # Only chords whose spans overlap can cross: swept along one axis, each chord is compared
    # with those still open where it starts. Comparing every pair took most of a second on a
    # 1,000-node figure.
    axis = min((0, 1), key=lambda axis: _overlapping_pairs(chords, axis))
    count = 0
    open_chords: list[tuple[float, tuple[float, float], tuple[float, float]]] = []
    for start, end, a, b in sorted((min(a[axis], b[axis]), max(a[axis], b[axis]), a, b)
                                   for a, b in chords):
        open_chords = [chord for chord in open_chords if chord[0] >= start]
        for _, c, d in open_chords:
            if a in (c, d) or b in (c, d):
                continue  # edges that share a node meet there; that is no crossing
            if _cross(a, b, c, d):
                count += 1
        open_chords.append((end, a, b))
    return count


def _overlapping_pairs(chords: list[tuple[tuple[float, float], tuple[float, float]]],
                       axis: int) -> int:
    """Return how many pairs of chords overlap along `axis`: what a sweep along it compares."""
    import bisect

    spans = sorted((min(a[axis], b[axis]), max(a[axis], b[axis])) for a, b in chords)
    starts = [start for start, _ in spans]
    return sum(bisect.bisect_right(starts, end) - number - 1
               for number, (_, end) in enumerate(spans))


def _cross(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float],
           d: tuple[float, float]) -> bool:
    def side(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    return (side(a, b, c) * side(a, b, d) < 0) and (side(c, d, a) * side(c, d, b) < 0)


def fit_off(source: str) -> bool:
    """Say whether a figure script turns fitting off for itself (`# course-assets: fit off`)."""
    return FIT_OFF_MARKER.search(source) is not None
