"""Lay out and draw a DOT graph in-process with the Graphviz that pygraphviz bundles.

Only worker processes and the children they fork import this module's Graphviz side: the
command line's own process never loads pygraphviz, so a build with nothing to do stays quick.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import locale
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from course_assets.errors import FigureError

if TYPE_CHECKING:
    from course_assets.layout.labels import Placement

FONTS = Path(__file__).resolve().parent.parent / "fonts"
BUNDLED_FONT = "DejaVu Sans"
# Text is measured with the bundled font alone, so the SVG names it first; the fallbacks are
# the faces closest to its metrics where a viewer lacks it.
FONT_FAMILY = "DejaVu Sans,Bitstream Vera Sans,Verdana,Geneva,sans-serif"
PX_PER_PT = 4 / 3
# A graph's own pixels an inch, which Graphviz's devices would draw at.
RESOLUTION_ATTRIBUTES = ("dpi", "resolution")
# Graphviz's words when orthogonal edges (the diagrams library's default) leave their labels
# unplaced: the build places them after layout (layout/labels.py), so the author need not.
ORTHO_LABELS = "Orthogonal edges do not currently handle edge labels"
# Graphviz's words for a label larger than its fixed-size node, and the node's id.
TOO_SMALL = re.compile(r"node '?(n[0-9]+)'?, graph .* size too small for label")
# A node id in Graphviz's words, with the quotes some messages put around it.
NODE_ID = re.compile(r"'?\b(n[0-9]+)\b'?")
SVG_SIZE = re.compile(rb'<svg width="([0-9.]+)pt" height="([0-9.]+)pt"')
FONT_ATTRIBUTE = re.compile(rb'font-family="[^"]*"')
# Graphviz writes a layout's coordinates to five significant digits: a twentieth of a point
# on a page smaller than this (in points), whole points on a larger one. Larger figures are
# laid out again rather than drawn from a kept layout.
EXACT_POSITIONS = 10_000.0
# Graphs that do not come back as they were drawn, so are laid out again: read back from
# "dot" output, a record grows by a point, a node with more than one outline (doublecircle,
# peripheries) by the outlines' gap, a leaning or skewed one by a few points; a graph's
# `ratio` stretches its nodes once more (not their edges); and words that look like the
# drawing operations `XDOT_DRAWING` strips from the kept text would be cut out of a label.
LAID_OUT_AGAIN = re.compile(
    r"\bshape\s*=\s*\"?(?:m?record|double\w*|triple\w*|egg|parallelogram)\b"
    r"|\b(?:peripheries|skew|distortion|ratio)\s*=|draw_\s*=|xdotversion\s*=", re.IGNORECASE)
# A node name that reads the same in double quotes, escaping nothing. Quoted, it names that node
# even where it is a DOT keyword (a script's `nodeid="Edge"`, say).
PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# In a default statement's attributes: a quoted string (skipped whole), an HTML value's start,
# or the statement's end.
DEFAULTS_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[<\]]', re.DOTALL)
# How far nop2's page may be from the kept layout's, in points: Graphviz writes the kept one
# to five digits (`EXACT_POSITIONS`) and nop2's to a point, so rounding is all this allows.
SAME_PAGE = 0.6
# What a theme may change without moving anything: colours, and icons (the dark theme's are
# on tiles). An assignment of one of them, or a quoted string (skipped whole: a label's words).
PAINT_ATTRIBUTES = ("bgcolor", "color", "fillcolor", "fontcolor", "labelfontcolor", "pencolor",
                    "image")
PAINT_ASSIGNMENT = re.compile(
    r'"(?:[^"\\]|\\.)*"'
    rf'|\b({"|".join(PAINT_ATTRIBUTES)})\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,;\]]+)[\s,;]*',
    re.DOTALL)
# How far an icon's shape may be from the one its box was fitted to (a dark tile's rounded
# margins): at most a point on a 100-point icon, where the box is letterboxed.
SAME_SHAPE = 0.01
# An HTML-like label: its colours are in its text.
HTML_LABEL = re.compile(r"=\s*<")
# The drawing operations Graphviz's JSON output leaves in a graph's attributes: "dot" output
# writes them too, and a graph read back with them paints their page over its own (a clear
# page comes out white).
XDOT_DRAWING = re.compile(rb'\b_(?:l|h|t|hl|tl)?draw_="(?:[^"\\]|\\.)*",?\s*'
                             rb'|\bxdotversion=[0-9.]+,?\s*', re.DOTALL)

_fonts_ready = False
_warm = False
_messages: list[bytes] = []
_error_hook: Any = None


@dataclass(frozen=True)
class Drawing:
    """A graph laid out once and drawn from that layout: its SVG, its PNG, Graphviz's words."""

    svg: bytes
    png: bytes | None
    messages: tuple[str, ...]
    # Every object's position and drawing operations, as Graphviz's JSON output gives them:
    # what the figure lint reads.
    layout: Mapping[str, Any] = field(default_factory=dict)
    # The graph as laid out and drawn (where asked for): its PNG is painted from it later,
    # in another process, without laying the graph out again.
    positions: Positions | None = None


@dataclass(frozen=True)
class Positions:
    """A laid-out graph as Graphviz's "dot" output gives it, with the size of its SVG's page.

    Every node, edge, label and cluster carries its position, so the "nop2" engine draws it
    again as it was, routing nothing: a fifth of the CPU of laying it out again (`paint`).
    Graphviz writes five significant digits: kept only for pages it writes to a twentieth of
    a point (`EXACT_POSITIONS`).
    """

    dot: bytes
    points: tuple[float, float]  # the SVG's page, in points: the PNG's size follows it
    html_images: bool  # an HTML label holds an <IMG>: Cairo's own PNG paints those


class Layout(Mapping[str, Any]):
    """Graphviz's JSON layout of a drawing, parsed when first read, sent on as its JSON text.

    A figure's layout goes from the child that drew it to its worker, to the main process and
    on to the worker that lints it: as text it crosses each process boundary for nothing,
    where the parsed dict took longer to pickle and unpickle each time than to parse once.
    """

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._parsed: dict[str, Any] | None = None

    def _read(self) -> dict[str, Any]:
        if self._parsed is None:
            self._parsed = _json(self._data) if self._data else {}
        return self._parsed

    def __getitem__(self, key: str) -> Any:
        return self._read()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())

    def get(self, key: str, default: Any = None) -> Any:
        return self._read().get(key, default)

    def __reduce__(self) -> tuple[type[Layout], tuple[bytes]]:
        return (Layout, (self._data,))


def use_bundled_fonts() -> None:
    """Point fontconfig at the package's fonts alone; call before Graphviz draws any text."""
    global _fonts_ready
    if _fonts_ready:
        return
    config = _private_font_config()
    os.environ["FONTCONFIG_FILE"] = str(config)
    os.environ.pop("FONTCONFIG_PATH", None)
    os.environ.pop("FONTCONFIG_SYSROOT", None)
    _fonts_ready = True


def _private_font_config() -> Path:
    """Write (once per machine, user and font set) a fontconfig setup of the bundled fonts alone.

    The fonts are copied next to it: fontconfig writes bookkeeping files into the font folders
    it scans, and the installed package must stay as installed.
    """
    sources = sorted(FONTS.glob("*.ttf"))
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    user = os.getuid() if hasattr(os, "getuid") else 0
    folder = Path(tempfile.gettempdir()) / f"course-assets-fonts-{user}-{digest.hexdigest()[:16]}"
    config = folder / "fonts.conf"
    text = f"""<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<!-- Written by course-assets: Graphviz sees the bundled fonts and nothing else. -->
<fontconfig>
  <dir>{_xml((folder / "fonts").as_posix())}</dir>
  <cachedir>{_xml((folder / "cache").as_posix())}</cachedir>
  <config><rescan><int>0</int></rescan></config>
  <match target="pattern">
    <edit name="family" mode="assign" binding="strong"><string>{BUNDLED_FONT}</string></edit>
  </match>
  <match target="font">
    <edit name="antialias" mode="assign"><bool>true</bool></edit>
    <edit name="hinting" mode="assign"><bool>false</bool></edit>
    <edit name="hintstyle" mode="assign"><const>hintnone</const></edit>
    <edit name="rgba" mode="assign"><const>none</const></edit>
    <edit name="lcdfilter" mode="assign"><const>lcdnone</const></edit>
    <edit name="embeddedbitmap" mode="assign"><bool>false</bool></edit>
  </match>
</fontconfig>
""".encode()
    try:
        if config.read_bytes() == text:
            return config
    except OSError:
        pass
    from course_assets.state.files import atomic_write

    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for source in sources:
        atomic_write(folder / "fonts" / source.name, source.read_bytes())
    atomic_write(config, text)  # last: its presence says the folder is complete
    return config


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def warm_up() -> None:
    """Load Graphviz, its plugins and the fonts once, so that every forked child inherits them."""
    global _warm
    if _warm:
        return
    _warm = True
    # Some fontconfig builds complain about the system's optional config files while they
    # list them; our config never includes them, so that noise is not the author's concern.
    sys.stderr.flush()
    saved = os.dup(2)
    quiet = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(quiet, 2)
        draw('digraph { a [label="Aa"] }', png_max_side=100)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(quiet)


def draw(source: str, png_max_side: int | None = None,
         node_lines: Mapping[str, int | None] | None = None,
         adjust: Callable[[Any], None] | None = None,
         with_layout: bool | Callable[[bytes], bool] = True,
         keep_positions: bool = False) -> Drawing:
    """Lay `source` out once, then draw it as SVG and, with `png_max_side`, as PNG.

    The PNG is twice the SVG's size, or smaller so that its longer side stays within
    `png_max_side` pixels.

    Raise FigureError with Graphviz's own words when it rejects the graph. Graphviz keeps the
    icon files it read open (and their read positions shared with any later fork), so call
    this in a process that forks no more: the build calls it in the child that ran the script.
    `adjust` changes the parsed graph before its layout (fitting's other layouts); without
    `with_layout` (or where it says so of the SVG drawn), the Drawing's layout is left empty:
    Graphviz's JSON costs more than the SVG. With `keep_positions`, the Drawing keeps the laid-out
    graph, for `paint` and `draw_recoloured` (unless nop2 would not draw it as it was:
    `LAID_OUT_AGAIN`).
    """
    from pygraphviz import graphviz as gv

    graph = parse(source)
    for resolution in RESOLUTION_ATTRIBUTES:
        if graph.graph_attr.get(resolution):
            # The build sizes the SVG and the PNG itself; a resolution of the author's (plain
            # diagrams users set one for a sharper PNG) would leave the drawing small on a page
            # grown to match it.
            graph.graph_attr[resolution] = ""
    if adjust is not None:
        adjust(graph)
    from course_assets.layout.nodes import fit_icon_nodes

    # After fitting's changes: the icon nodes' geometry follows the direction it chose.
    fit_icon_nodes(graph)
    context = gv.gvContextWithBuiltins()
    try:
        if gv.gvLayout(context, graph.handle, b"dot") != 0:
            raise FigureError(_rejected("the layout failed"))
        unchanged = _place_labels(context, graph)
        keep = keep_positions and not LAID_OUT_AGAIN.search(source)
        return _rendered(context, graph, "<img" in source.lower(), png_max_side, node_lines,
                         with_layout, keep, unchanged)
    finally:
        gv.gvFreeContext(context)


def draw_recoloured(source: str, model_source: str, model: Positions,
                    png_max_side: int | None = None,
                    node_lines: Mapping[str, int | None] | None = None,
                    with_layout: bool = True) -> Drawing | None:
    """Draw `source` where `model` holds the layout of `model_source`, without laying it out.

    The same graph in other colours and icons (the dark theme's, say) is laid out as its model
    was: Graphviz places nothing by colour, and an icon scaled to its node's fixed size
    (`fitted_image`) is drawn within the box the model's icon was fitted to. None where
    `source` is another graph: anything but colours and such icons differs, or an HTML label
    (its colours are its text). Raise FigureError as `draw` does.
    """
    from pygraphviz import graphviz as gv

    if _unpainted(source) != _unpainted(model_source) or HTML_LABEL.search(source):
        return None
    colours = parse(source)
    graph = _kept_graph(model)
    if graph is None or not _recoloured(graph, colours):
        return None
    context = gv.gvContextWithBuiltins()
    try:
        # Every position is in the model's attributes, its labels placed: nop2 moves nothing.
        if not _laid_out_as_kept(context, graph):
            return None
        return _rendered(context, graph, False, png_max_side, node_lines, with_layout,
                         False, None)
    finally:
        gv.gvFreeContext(context)


def _rendered(context: Any, graph: Any, html_images: bool, png_max_side: int | None,
              node_lines: Mapping[str, int | None] | None,
              with_layout: bool | Callable[[bytes], bool], keep_positions: bool,
              unchanged: bytes | None) -> Drawing:
    """Draw the laid-out graph as SVG, its JSON layout and PNG where asked; free its layout.

    `unchanged`: the JSON label placement read, where it moved nothing.
    """
    from pygraphviz import graphviz as gv

    try:
        status, svg = gv.gvRenderData(context, graph.handle, b"svg")
        said = _drained()
        if unchanged is not None:  # nothing moved: the JSON the placement read is this
            layout_status, layout = 0, unchanged
        else:
            wanted = with_layout(svg) if callable(with_layout) else with_layout
            layout_status, layout = (gv.gvRenderData(context, graph.handle, b"json")
                                     if wanted and status == 0 else (1, b""))
        _drained()  # JSON loads no images and says so for each: the SVG's words are enough
        positions = None
        if keep_positions and status == 0 and max(svg_points(svg)) < EXACT_POSITIONS:
            placed_status, placed = gv.gvRenderData(context, graph.handle, b"dot")
            _drained()  # the same words again
            if placed_status == 0 and placed:
                kept = _in_drawing_order(XDOT_DRAWING.sub(b"", placed), graph)
                positions = Positions(kept, svg_points(svg), html_images)
        png = None
        if status == 0 and png_max_side is not None:
            status, png = _painted_png(context, graph, svg_points(svg), png_max_side,
                                       html_images=html_images)
    finally:
        gv.gvFreeLayout(context, graph.handle)
    laid_out = Layout(layout if layout_status == 0 else b"")
    messages = explain(said + _drained(), graph, node_lines or {}, laid_out)
    svg = _made(status, svg, messages, "draw")
    return Drawing(FONT_ATTRIBUTE.sub(f'font-family="{FONT_FAMILY}"'.encode(), svg), png,
                   messages, laid_out, positions)


def _in_drawing_order(placed: bytes, graph: Any) -> bytes:
    """Return the kept "dot" output with every node named first, in the order `graph` made them.

    Graphviz draws (and numbers) nodes, and each node's edges, in the order they were made;
    "dot" output writes a cluster's nodes before the others, so a graph read back from it would
    draw them first, on top of another order than its SVG's. Named just after the graph's node
    defaults (which apply to nodes made after them), they are made in the graph's own order.
    Left as it is where that could change an attribute: a subgraph's own node defaults, an HTML
    default, or a name that would need escaping.
    """
    names = [str(node) for node in graph.nodes_iter()]
    defaults = placed.find(b"\n\tnode [")
    if (not names or defaults < 0 or placed.count(b"node [") != 1
            or not all(PLAIN_NAME.fullmatch(name) for name in names)):
        return placed
    for token in DEFAULTS_TOKEN.finditer(placed, defaults + len(b"\n\tnode [")):
        if token.group() == b"<":
            return placed
        if token.group() == b"]":
            after = placed.find(b"\n", token.end()) + 1
            if after == 0:
                return placed
            declared = ("\t" + "; ".join(f'"{name}"' for name in names) + ";\n").encode()
            return placed[:after] + declared + placed[after:]
    return placed


def _unpainted(source: str) -> str:
    """Return the DOT with every colour left out, and every image named but not said.

    A colour set or not moves nothing; an image set or not may (`_recoloured` says where).
    """
    def leave_out(found: re.Match[str]) -> str:
        name = found.group(1)
        if name is None:
            return found.group(0)  # a quoted string: its words, as they are
        return "image=? " if name == "image" else ""

    return PAINT_ASSIGNMENT.sub(leave_out, source)


def _alike(image: str, model_image: str) -> bool:
    """Say whether an image fills the box its model was fitted to, to a point in a hundred.

    A dark tile keeps its icon's shape to the rounding of its margins.
    """
    from course_assets.layout.nodes import pixel_size

    size, model_size = pixel_size(image), pixel_size(model_image)
    if size is None or model_size is None:
        return False
    aspect, model_aspect = size[0] / size[1], model_size[0] / model_size[1]
    return abs(aspect - model_aspect) <= SAME_SHAPE * model_aspect


def _recoloured(graph: Any, colours: Any) -> bool:
    """Give every part of `graph` the colours and images its part in `colours` has.

    Say False where the two are not the same graph's parts, or a node's other image would
    change its size.
    """
    from course_assets.layout.fitting import ROW_EDGE_KEY
    from course_assets.layout.nodes import fitted_image

    def recolour(attributes: Any, model: Any) -> None:
        for name in PAINT_ATTRIBUTES:
            value = model.get(name)
            if value is not None or attributes.get(name) is not None:
                attributes[name] = value or ""

    recolour(graph.graph_attr, colours.graph_attr)
    # By where they are, not by name alone: clusters named alike in two places are two boxes.
    mine_by_place = dict(_subgraphs_by_place(graph))
    for place, sub in _subgraphs_by_place(colours):
        mine = mine_by_place.get(place)
        if mine is None:
            return False
        recolour(mine.graph_attr, sub.graph_attr)
    for node in colours.nodes_iter():
        if not graph.has_node(node):
            return False
        mine = graph.get_node(node)
        image, model_image = node.attr.get("image"), mine.attr.get("image")
        if image != model_image and not (fitted_image(node.attr)
                                         and _alike(str(image), str(model_image))):
            return False  # it would size its node, or fit it otherwise
        recolour(mine.attr, node.attr)
    edges: dict[tuple[str, str], list[Any]] = {}
    for edge in graph.edges_iter():
        # The build's own (fitting's invisible rows) are in the model's layout alone.
        if not str(edge.key or "").startswith(ROW_EDGE_KEY):
            edges.setdefault((str(edge[0]), str(edge[1])), []).append(edge)
    for edge in colours.edges_iter():
        same_ends = edges.get((str(edge[0]), str(edge[1])))
        if not same_ends:
            return False
        recolour(same_ends.pop(0).attr, edge.attr)
    return not any(edges.values())


def _subgraphs_by_place(graph: Any, within: tuple[str, ...] = ()
                        ) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Yield every subgraph with the names of the subgraphs it is in, and its own, in turn."""
    for sub in graph.subgraphs_iter():
        place = (*within, str(sub.name))
        yield place, sub
        yield from _subgraphs_by_place(sub, place)


def paint(positions: Positions, png_max_side: int) -> bytes | None:
    """Return the PNG of a graph `draw` laid out and kept (`keep_positions`), laid out no more.

    None where nop2 would not draw it on the kept page (`_laid_out_as_kept`): lay it out again.
    Call it in a process that forks no more, as `draw`.
    """
    from pygraphviz import graphviz as gv

    graph = _kept_graph(positions)
    if graph is None:
        return None
    context = gv.gvContextWithBuiltins()
    try:
        if not _laid_out_as_kept(context, graph):
            return None
        try:
            status, png = _painted_png(context, graph, positions.points, png_max_side,
                                       html_images=positions.html_images)
        finally:
            gv.gvFreeLayout(context, graph.handle)
    finally:
        gv.gvFreeContext(context)
    return _made(status, png, explain(_drained(), graph, {}, Layout(b"")), "paint")


def _made(status: int, made: bytes | None, messages: tuple[str, ...], verb: str) -> bytes:
    """Return what Graphviz made; raise FigureError with its words unless it made it cleanly.

    Graphviz goes on after most errors (a malformed HTML label is drawn as plain text, say),
    but a figure that is not what its script says is that figure's error.
    """
    if status != 0 or not made or any(m.startswith("Error") for m in messages):
        detail = "; ".join(messages) or f"Graphviz could not {verb} the graph"
        raise FigureError(f"Graphviz rejected the graph: {detail}")
    return made


def _kept_graph(positions: Positions) -> Any | None:
    """Return the kept layout read back; None where Graphviz cannot read what it wrote.

    That would be the build's own fault, not the author's: the graph is laid out again.
    """
    try:
        return parse(positions.dot.decode("utf-8"))
    except FigureError:
        return None


def _laid_out_as_kept(context: Any, graph: Any) -> bool:
    """Lay a kept layout out with nop2; say whether it lies on the page dot gave it.

    nop2 sizes the page by what it draws, not by the kept `bb`: dot leaves room around a
    cluster at the page's edge, which nop2 would leave out, moving everything. Where the pages
    differ, the layout is freed (False): the graph is laid out again.
    """
    from pygraphviz import graphviz as gv

    kept = _numbers(graph.graph_attr.get("bb"))
    if gv.gvLayout(context, graph.handle, b"nop2") != 0:
        raise FigureError(_rejected("the layout failed"))
    drawn = _numbers(graph.graph_attr.get("bb"))
    if len(kept) == len(drawn) == 4 and all(abs(a - b) <= SAME_PAGE
                                            for a, b in zip(kept, drawn, strict=True)):
        return True
    gv.gvFreeLayout(context, graph.handle)
    return False


def _numbers(value: Any) -> list[float]:
    """Return the numbers of a Graphviz point list ("0,0,86,140" or "0 0 86 140")."""
    return [float(number) for number in re.findall(r"-?[0-9.]+(?:e[-+]?[0-9]+)?",
                                                    str(value or ""))]


def _painted_png(context: Any, graph: Any, points: tuple[float, float], max_side: int,
                 html_images: bool = False) -> tuple[int, bytes | None]:
    """Paint the laid-out graph as its PNG: Cairo's pixels, encoded once (`raster.painted_png`).

    The PNG is twice the SVG's size, or smaller to fit a slide `max_side` pixels wide.
    `html_images`: the graph's source has an HTML label's <IMG>.
    """
    from pygraphviz import graphviz as gv

    from course_assets.render import raster
    from course_assets.render.isolate import painting_turn

    svg_pixels = (round(points[0] * PX_PER_PT), round(points[1] * PX_PER_PT))
    size = raster.png_size(svg_pixels, max_side)
    zoom = raster.png_zoom(svg_pixels, max_side)
    cairo = _cairo() if not html_images and _images_fill_their_boxes(graph) else None
    if cairo is not None:
        # Painting holds the picture: half the pool's workers at most (two of 2 or 3) paint at
        # once, so that their peaks do not all add up. Its rows are packed and compressed after.
        with painting_turn():
            painted = _painted_in_place(cairo, context, graph, size, zoom)
        png = raster.painted_png(*painted) if painted is not None else None
        del painted
        if png is not None:
            return 0, png
    # A page that is not opaque (`bgcolor="transparent"`): Cairo's own PNG keeps its alpha.
    # (Or an image at its own size, or a pygraphviz whose Cairo cannot be reached: the same
    # drawing, compressed twice.) The
    # viewport's zoom paints the same layout bigger (a second layout at another dpi could move
    # things); its size is the PNG's in the PNG device's points, at 4/3 pixel a point.
    graph.graph_attr["viewport"] = (
        f"{size[0] / PX_PER_PT:.3f},{size[1] / PX_PER_PT:.3f},{zoom:.6f}")
    status, data = gv.gvRenderData(context, graph.handle, b"png:cairo")
    return status, (raster.normalized_png(data, size) if status == 0 and data else None)


# Cairo's image format with 8 bits each of alpha, red, green and blue; its "no error" status.
CAIRO_FORMAT_ARGB32, CAIRO_STATUS_SUCCESS = 0, 0
# A Cairo device of Graphviz's that writes no file of its own: painting into a picture the build
# made leaves the pixels there. It counts 72 points an inch, where the PNG device counts 96
# pixels.
IN_PLACE_DEVICE = b"svg:cairo"


@functools.cache
def _cairo() -> Any | None:
    """Return Cairo's and Graphviz's functions for painting into a picture of the build's own.

    Found through pygraphviz's extension, which links the Graphviz (and the Cairo) it bundles;
    None where they cannot be reached (the PNG then comes from Cairo's own PNG writer).
    """
    from pygraphviz import _graphviz

    pointer, number = ctypes.c_void_p, ctypes.c_int
    signatures: dict[str, tuple[Any, list[Any]]] = {
        "cairo_format_stride_for_width": (number, [number, number]),
        "cairo_image_surface_create_for_data": (pointer, [pointer, number, number, number,
                                                           number]),
        "cairo_surface_status": (number, [pointer]),
        "cairo_create": (pointer, [pointer]),
        "cairo_destroy": (None, [pointer]),
        "cairo_surface_destroy": (None, [pointer]),
        "gvRenderContext": (number, [pointer, pointer, ctypes.c_char_p, pointer]),
    }
    try:
        library = ctypes.CDLL(_graphviz.__file__)
        for name, (result, arguments) in signatures.items():
            function = getattr(library, name)
            function.restype, function.argtypes = result, arguments
    except (OSError, AttributeError):  # another build of pygraphviz, without them
        return None
    return library


# The image scalings that fit a node's image to its box whatever the image's own size.
FILLING_IMAGE_SCALES = frozenset({"true", "both"})


def _images_fill_their_boxes(graph: Any) -> bool:
    """Say whether every node's image is scaled to the node's box (the library's icons are).

    Painting in place measures an image's own size at 72 pixels an inch where the PNG device
    (and the layout) measure 96: an image drawn at its own size (a node's image without
    imagescale, an HTML label's <IMG>) would come out a third too big. Such a graph keeps
    Cairo's own PNG.
    """
    for node in graph.nodes_iter():
        if node.attr.get("image") and (node.attr.get("imagescale") or "").lower() not in (
                FILLING_IMAGE_SCALES):
            return False
    return True


def _painted_in_place(cairo: Any, context: Any, graph: Any, size: tuple[int, int], zoom: float,
                      ) -> tuple[ctypes.Array[ctypes.c_char], tuple[int, int], int] | None:
    """Paint the graph into pixels of the build's own, exactly `size`: the pixels, the size, and
    the bytes from one row to the next. None where Graphviz would not paint it there.
    """
    try:
        addresses = int(context), int(graph.handle)
    except (TypeError, ValueError):  # another pygraphviz's handles: Cairo's own PNG instead
        return None
    # The viewport's size is in this device's points, here one a pixel; its zoom makes up for
    # the PNG device's 96 pixels an inch, so the drawing is the PNG device's.
    graph.graph_attr["viewport"] = f"{size[0]},{size[1]},{zoom * PX_PER_PT:.6f}"
    if not graph.graph_attr.get("bgcolor"):
        # The PNG device paints a page the graph leaves uncoloured white; this one leaves it
        # clear unless the graph says so.
        graph.graph_attr["bgcolor"] = "white"
    stride = cairo.cairo_format_stride_for_width(CAIRO_FORMAT_ARGB32, size[0])
    # The pixels are the build's own (zeroed: clear). The device finishes its surface when the
    # page ends, which would free pixels Cairo owned, but leaves these.
    pixels = (ctypes.c_char * (stride * size[1]))()
    surface = cairo.cairo_image_surface_create_for_data(pixels, CAIRO_FORMAT_ARGB32, *size,
                                                        stride)
    painter = cairo.cairo_create(surface)
    try:
        if cairo.cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS:
            return None
        if cairo.gvRenderContext(*addresses, IN_PLACE_DEVICE, painter) != 0:
            _drained()  # Graphviz's complaint is its own: Cairo's PNG is tried next
            return None
    finally:
        cairo.cairo_destroy(painter)
        cairo.cairo_surface_destroy(surface)
    return pixels, size, stride


def _place_labels(context: Any, graph: Any) -> bytes | None:
    """Move the labels a line crosses, keeping everything else where Graphviz laid it out.

    Return the layout's JSON when nothing moved (None when it did).
    """
    from pygraphviz import graphviz as gv

    from course_assets.layout import labels

    said = _drained()  # the layout's own words, kept for the author
    try:
        placement, data = _planned(context, graph)
        if placement.stuck:
            # A cluster title crossed wherever it goes: Graphviz lays the graph out again in
            # the ways that may leave it room; unless one frees more titles, the author's own
            # layout stays.
            first, best = placement, None
            set_up = labels.title_room(graph, first.stuck)
            for way in labels.ROOM_WAYS:
                _relaid(context, graph, lambda: set_up(way))  # noqa: B023 - called at once
                placement, data = _planned(context, graph)
                if len(placement.stuck) < len(first.stuck):
                    best = way
                    break
            if best is None:
                _relaid(context, graph, lambda: set_up("as made"))
                placement, data = _planned(context, graph)
        if placement:
            _redraw(context, graph, placement)
            return None
        return data
    finally:
        _drained()
        _messages.append(said)


def _relaid(context: Any, graph: Any, change: Callable[[], None]) -> None:
    """Free the graph's layout, change its attributes, and lay it out with dot again."""
    from pygraphviz import graphviz as gv

    gv.gvFreeLayout(context, graph.handle)
    change()
    if gv.gvLayout(context, graph.handle, b"dot") != 0:
        raise FigureError(_rejected("the layout failed"))


def _planned(context: Any, graph: Any) -> tuple[Placement, bytes | None]:
    """Return what to move in the graph's current layout, and that layout's JSON."""
    from pygraphviz import graphviz as gv

    from course_assets.layout import labels

    status, data = gv.gvRenderData(context, graph.handle, b"json")
    # JSON loads no images and says so for each: the drawing's own words are enough.
    _drained()
    if status != 0:
        return labels.Placement(), None
    return labels.plan(_json(data)), data


def _redraw(context: Any, graph: Any, placement: Placement) -> None:
    """Lay the graph out again where it was, with the labels moved as `placement` says.

    Call it right after `_planned` rendered the current layout's JSON.
    """
    from pygraphviz import graphviz as gv

    from course_assets.layout import labels

    # The layout is in the graph's attributes already: Graphviz's JSON output, which the
    # placement was read from, writes it there (as its "dot" output would). Change the labels
    # there and draw it again from those positions: the "nop2" engine moves and routes nothing.
    gv.gvFreeLayout(context, graph.handle)  # first: Graphviz frees what its layout made
    labels.apply(graph, placement)
    if gv.gvLayout(context, graph.handle, b"nop2") != 0:
        raise FigureError(_rejected("the layout failed"))


def parse(source: str) -> Any:
    """Return `source` as a pygraphviz AGraph; raise FigureError with Graphviz's own words."""
    use_bundled_fonts()
    # Graphviz reads numbers such as pad="0.15" with the C library, which follows the locale:
    # after a script's locale.setlocale(LC_ALL, ""), a decimal-comma locale would read 0.
    locale.setlocale(locale.LC_NUMERIC, "C")
    import pygraphviz

    _capture_messages()
    _set_graphviz_defaults()
    del _messages[:]
    try:
        return pygraphviz.AGraph(string=source)
    except Exception as exc:  # noqa: BLE001 - pygraphviz raises bare errors for bad DOT
        raise FigureError(_rejected(str(exc))) from None


@functools.cache
def _set_graphviz_defaults() -> None:
    """Have Graphviz set its defaults before any graph is read (once a process).

    Graphviz sets the default node label (the node's name) when a context is made: a graph read
    before a process's first context gave every node without a label of its own an empty one.
    """
    from pygraphviz import graphviz as gv

    gv.gvFreeContext(gv.gvContextWithBuiltins())


def _json(data: bytes) -> dict[str, Any]:
    import json

    try:
        layout: dict[str, Any] = json.loads(data)
    except ValueError:
        return {}  # the lint then reads nothing; the figure itself is fine
    return layout


def svg_points(svg: bytes) -> tuple[float, float]:
    """Return the width and height, in points, of the SVG Graphviz wrote."""
    # Near the start, after Graphviz's header comment (which holds the title, however long).
    match = SVG_SIZE.search(svg[:2000]) or SVG_SIZE.search(svg)
    if match is None:
        raise FigureError("Graphviz wrote an SVG without a size in points")
    return float(match.group(1)), float(match.group(2))


def _rejected(fallback: str) -> str:
    detail = "; ".join(_split(_drained())) or fallback
    return f"Graphviz rejected the graph: {detail}"


def _drained() -> bytes:
    data = b"".join(_messages)
    del _messages[:]
    return data


def _split(data: bytes) -> list[str]:
    return [line.strip() for line in data.decode("utf-8", "replace").splitlines() if line.strip()]


def explain(data: bytes, graph: Any, node_lines: Mapping[str, int | None],
            layout: Mapping[str, Any] | None = None) -> tuple[str, ...]:
    """Return Graphviz's messages in the author's terms, each once.

    With the `layout`, "size too small for label" is kept only where the label, as laid out,
    runs out of the shape drawn around it.
    """
    explained: list[str] = []
    for line in _split(data):
        if ORTHO_LABELS in line:
            continue
        too_small = TOO_SMALL.search(line)
        if too_small and layout and not _label_leaves_shape(layout, too_small.group(1)):
            continue

        def name_node(match: re.Match[str]) -> str:
            node_id = match.group(1)
            if node_id not in node_lines or not graph.has_node(node_id):
                return match.group(0)
            label = " ".join(str(graph.get_node(node_id).attr.get("label") or "").split())
            if label == "\\N":
                label = ""
            where = node_lines[node_id]
            named = f"'{label}'" if label else "(unlabelled node)"
            return f"{named} (line {where})" if where else named

        explained.append(NODE_ID.sub(name_node, line))
    return tuple(dict.fromkeys(explained))


def _label_leaves_shape(layout: Mapping[str, Any], node_id: str) -> bool:
    from course_assets.figlint.geometry import label_leaves_shape

    found = next((o for o in layout.get("objects", []) if o.get("name") == node_id), None)
    return found is None or label_leaves_shape(found)


def _capture_messages() -> None:
    """Route Graphviz's warnings and errors into this process instead of stderr."""
    global _error_hook
    if _error_hook is not None:
        return
    library = _bundled_library("cgraph")
    if library is None:
        return  # Graphviz then prints them, into the figure's captured output
    hook_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p)

    def collect(message: bytes | None) -> int:
        if message:
            _messages.append(message)
        return 0

    _error_hook = hook_type(collect)
    library.agseterrf.argtypes = [hook_type]
    library.agseterrf.restype = ctypes.c_void_p
    library.agseterrf(_error_hook)


@functools.cache
def _bundled_library(stem: str) -> ctypes.CDLL | None:
    """Open a Graphviz library pygraphviz itself loaded (the wheel's own copy, never another)."""
    import pygraphviz

    package = Path(pygraphviz.__file__).resolve().parent
    patterns = (f"lib{stem}*.so*", f"lib{stem}*.dylib", f"{stem}*.dll")
    for folder in (package.parent / "pygraphviz.libs", package / ".dylibs", package):
        for pattern in patterns:
            found = sorted(folder.glob(pattern))
            if found:
                try:
                    return ctypes.CDLL(str(found[0]))
                except OSError:
                    return None
    return None
