"""Parse Mermaid flowcharts into the graph model, refusing anything it cannot reproduce.

The parser covers the flowchart syntax courses use (shapes, the four link kinds with and without
labels, chains, `&`, subgraphs, `style`, `classDef`/`class` and `linkStyle`). Whenever a
statement could mean more than one thing, or draws something Graphviz has no equal for, it raises
`Unsupported` so the caller keeps the original image instead of guessing.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from course_assets.migrate.model import (
    Arrow,
    Direction,
    Graph,
    GraphCluster,
    GraphEdge,
    GraphNode,
    Unsupported,
)

# What the generated Diagram sets for every node and edge, so Mermaid's compact boxes come back
# instead of the library's fixed 1.4-inch icon cells with labels at the bottom.
NODE_DEFAULTS = (
    ("shape", "box"), ("style", "solid"), ("fixedsize", "false"), ("width", "0.75"),
    ("height", "0.5"), ("margin", "0.2,0.1"), ("labelloc", "c"),
)
EDGE_DEFAULTS = (("color", "#333333"),)
GRAPH_ATTRS = (("splines", "spline"),)

_DIRECTIONS: dict[str, Direction] = {
    "TB": "TB", "TD": "TB", "BT": "BT", "LR": "LR", "RL": "RL",
    "v": "TB", "^": "BT", ">": "LR", "<": "RL",
}
_OTHER_DIAGRAMS = {
    "sequenceDiagram": "sequence", "gantt": "Gantt", "classDiagram": "class",
    "stateDiagram": "state", "stateDiagram-v2": "state", "erDiagram": "entity-relationship",
    "pie": "pie chart", "journey": "user journey", "gitGraph": "git graph",
    "mindmap": "mind map", "timeline": "timeline", "quadrantChart": "quadrant chart",
    "requirementDiagram": "requirement", "C4Context": "C4", "C4Container": "C4",
    "C4Component": "C4", "C4Dynamic": "C4", "C4Deployment": "C4", "sankey-beta": "Sankey",
    "xychart-beta": "XY chart", "block-beta": "block", "packet-beta": "packet",
    "architecture-beta": "architecture", "kanban": "kanban", "radar-beta": "radar",
}

_ID = re.compile(r"\w+(?:-\w+)*")
_CLASS_SUFFIX = re.compile(r":::(\w+(?:-\w+)*)")
# A complete link. Dashes, equals signs and dots are greedy, then back off one for the end mark.
_LINK = re.compile(
    r"(?P<start>[<ox])?(?:"
    r"(?P<normal>-{2,})(?P<nend>[->ox])"
    r"|(?P<thick>={2,})(?P<tend>[=>ox])"
    r"|-(?P<dots>\.+)-(?P<dend>[>ox])?"
    r"|(?P<invisible>~{3,})"
    r")"
)
# The opening half of a link with its text inline, as in `A -- text --> B`.
_LABELLED_OPEN = re.compile(r"(?P<start>[<ox])?(?P<open>--|==|-\.)")
_LABELLED_CLOSE = {
    "--": re.compile(r"(?P<body>-{2,})(?P<end>[->ox])"),
    "==": re.compile(r"(?P<body>={2,})(?P<end>[=>ox])"),
    "-.": re.compile(r"(?P<body>\.+)-(?P<end>[>ox])?"),
}
# Openers longest first; each lists its possible closers and the shape they make.
_SHAPES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("(((", ((")))", "double circle"),)),
    ("((", (("))", "circle"),)),
    ("([", (("])", "stadium"),)),
    ("[[", (("]]", "subroutine"),)),
    ("[(", ((")]", "cylinder"),)),
    ("[/", (("/]", "parallelogram"), ("\\]", "trapezoid"))),
    ("[\\", (("\\]", "left parallelogram"), ("/]", "inverted trapezoid"))),
    ("{{", (("}}", "hexagon"),)),
    ("[", (("]", "rectangle"),)),
    ("(", ((")", "rounded"),)),
    ("{", (("}", "rhombus"),)),
    (">", (("]", "asymmetric"),)),
)
_SHAPE_ATTRS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    # Mermaid shape -> (Graphviz shape or None for the default box, style words)
    "rectangle": (None, ()),
    "rounded": (None, ("rounded",)),
    "stadium": (None, ("rounded",)),
    "circle": ("circle", ()),
    "double circle": ("doublecircle", ()),
    "rhombus": ("diamond", ()),
    "hexagon": ("hexagon", ()),
    "cylinder": ("cylinder", ()),
    "parallelogram": ("parallelogram", ()),
    "trapezoid": ("trapezium", ()),
    "inverted trapezoid": ("invtrapezium", ()),
}
_KEYWORDS = frozenset({"end", "subgraph", "graph", "flowchart", "style", "classDef", "class",
                       "linkStyle", "click", "direction"})

# CSS colour names that Graphviz's X11 scheme lacks or draws differently.
_CSS_COLOURS = {
    "gray": "#808080", "grey": "#808080", "green": "#008000", "maroon": "#800000",
    "purple": "#800080", "aqua": "#00ffff", "fuchsia": "#ff00ff", "lime": "#00ff00",
    "olive": "#808000", "silver": "#c0c0c0", "teal": "#008080", "crimson": "#dc143c",
    "indigo": "#4b0082", "rebeccapurple": "#663399",
}


@dataclass
class _Style:
    """CSS-like properties collected from classDef, class, style and linkStyle."""

    fill: str | None = None
    stroke: str | None = None
    stroke_width: str | None = None
    color: str | None = None
    dashed: bool | None = None

    def update(self, other: _Style) -> None:
        for name in ("fill", "stroke", "stroke_width", "color", "dashed"):
            value = getattr(other, name)
            if value is not None:
                setattr(self, name, value)


@dataclass
class _Node:
    id: str
    text: str | None = None
    shape: str | None = None
    classes: list[str] = field(default_factory=list)
    style: _Style = field(default_factory=_Style)
    subgraphs: list[str] = field(default_factory=list)


@dataclass
class _Edge:
    tail: str
    head: str
    arrow: Arrow
    kind: str  # normal, thick, dotted, invisible
    minlen: int
    label: str


@dataclass
class _Subgraph:
    id: str
    title: str
    parent: str | None
    classes: list[str] = field(default_factory=list)
    style: _Style = field(default_factory=_Style)


def parse_mermaid(source: str) -> Graph:
    """Return the flowchart in `source`; raise Unsupported for anything else or anything unsure."""
    return _Parser(source).parse()


def _strip_directives(source: str) -> str:
    # %%{init: ...}%% only sets the theme and config: the structure is unaffected.
    return re.sub(r"%%\{.*?\}%%", "", source, flags=re.DOTALL)


def _strip_front_matter(source: str) -> tuple[str, str | None]:
    lines = source.splitlines()
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start >= len(lines) or lines[start].strip() != "---":
        return source, None
    for end in range(start + 1, len(lines)):
        if lines[end].strip() == "---":
            title = None
            for line in lines[start + 1:end]:
                match = re.fullmatch(r"title:\s*(.*?)\s*", line)
                if match:
                    title = match.group(1).strip("\"'")
            # Keep the line count so that error messages could still point at lines.
            return "\n" * (end + 1) + "\n".join(lines[end + 1:]), title
    raise Unsupported("the Mermaid front matter (---) is never closed")


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.nodes: dict[str, _Node] = {}
        self.edges: list[_Edge] = []
        self.subgraphs: dict[str, _Subgraph] = {}
        self.stack: list[str] = []
        self.class_defs: dict[str, _Style] = {}
        self.node_styles: list[tuple[str, _Style]] = []
        self.link_styles: list[tuple[str, _Style]] = []
        self.notes: list[str] = []
        self.title: str | None = None
        self.description: str | None = None
        self.direction: Direction = "TB"

    # -- statements --------------------------------------------------------------------------------

    def parse(self) -> Graph:
        body, self.title = _strip_front_matter(_strip_directives(self.source))
        statements = list(self._statements(body))
        if not statements:
            raise Unsupported("the Mermaid source is empty")
        self._header(statements[0])
        for statement in statements[1:]:
            self._statement(statement)
        if self.stack:
            raise Unsupported(f"subgraph {self.stack[-1]!r} is never closed with 'end'")
        return self._graph()

    def _statements(self, body: str):
        for line in body.splitlines():
            stripped = line.strip()
            if not stripped or stripped.startswith("%%"):
                continue
            if re.fullmatch(r"accDescr\s*\{.*", stripped):
                raise Unsupported("multi-line accDescr blocks are not supported")
            for part in _split_statements(stripped):
                if part:
                    yield part

    def _header(self, statement: str) -> None:
        match = re.fullmatch(r"(graph|flowchart)(?:\s+(TB|TD|BT|LR|RL|[v^<>]))?", statement)
        if match is None:
            keyword = re.split(r"\s", statement, maxsplit=1)[0]
            if keyword in _OTHER_DIAGRAMS:
                raise Unsupported(f"Mermaid {_OTHER_DIAGRAMS[keyword]} diagrams have no "
                                  "diagrams equivalent")
            if keyword in ("graph", "flowchart", "flowchart-elk"):
                raise Unsupported(f"unsupported flowchart header {statement!r}")
            raise Unsupported(f"not a Mermaid flowchart (it starts with {keyword!r})")
        self.direction = _DIRECTIONS[match.group(2) or "TB"]

    def _statement(self, statement: str) -> None:
        if "%%" in statement:
            raise Unsupported(f"a comment in the middle of a line: {statement!r}")
        keyword = statement.split(None, 1)[0]
        rest = statement[len(keyword):].strip()
        if keyword == "subgraph":
            self._subgraph(rest)
        elif statement == "end":
            if not self.stack:
                raise Unsupported("'end' without a subgraph")
            self.stack.pop()
        elif keyword == "direction" and rest:
            if not self.stack:
                raise Unsupported("'direction' outside a subgraph")
            self.notes.append(f"Mermaid's direction {rest} for subgraph {self.stack[-1]!r} was "
                              "dropped: Graphviz lays the whole figure out in one direction.")
        elif keyword == "style" and rest:
            target, props = _split_first(rest, statement)
            self.node_styles.append((target, self._css(props, statement)))
        elif keyword == "classDef" and rest:
            names, props = _split_first(rest, statement)
            style = self._css(props, statement)
            for name in names.split(","):
                self.class_defs.setdefault(name.strip(), _Style()).update(style)
        elif keyword == "class" and rest:
            targets, name = _split_first(rest, statement)
            for target in targets.split(","):
                self._add_class(target.strip(), name.strip(), statement)
        elif keyword == "linkStyle" and rest:
            which, props = _split_first(rest, statement)
            self.link_styles.append((which, self._css(props, statement, link=True)))
        elif keyword in ("accTitle:", "accTitle") or statement.startswith("accTitle:"):
            self.title = statement.split(":", 1)[1].strip()
        elif keyword in ("accDescr:", "accDescr") or statement.startswith("accDescr:"):
            self.description = statement.split(":", 1)[1].strip()
        elif keyword in ("click", "callback", "href"):
            raise Unsupported("click actions (links and callbacks) are not supported")
        else:
            self._chain(statement)

    def _subgraph(self, rest: str) -> None:
        if not rest:
            raise Unsupported("a subgraph without a name")
        if rest.startswith('"'):
            title = _quoted_whole(rest)
            sub_id = title
        else:
            match = re.fullmatch(r"(\w+(?:-\w+)*)\s*\[(.*)\]", rest)
            if match:
                sub_id, title = match.group(1), match.group(2).strip()
                if title.startswith('"'):
                    title = _quoted_whole(title)
            else:
                if any(char in rest for char in "[](){}|"):
                    raise Unsupported(f"cannot read the subgraph header {rest!r}")
                sub_id = title = rest
        if sub_id in self.subgraphs:
            raise Unsupported(f"subgraph {sub_id!r} is opened twice")
        if sub_id in self.nodes:
            raise Unsupported(f"{sub_id!r} is both a node and a subgraph")
        parent = self.stack[-1] if self.stack else None
        self.subgraphs[sub_id] = _Subgraph(sub_id, _label(title), parent)
        self.stack.append(sub_id)

    def _add_class(self, target: str, name: str, statement: str) -> None:
        if not target or not name:
            raise Unsupported(f"cannot read the class statement {statement!r}")
        if target in self.subgraphs:
            self.subgraphs[target].classes.append(name)
        else:
            self._node(target).classes.append(name)

    # -- chains of nodes and links -----------------------------------------------------------------

    def _chain(self, statement: str) -> None:
        cursor = _Cursor(statement)
        groups = [self._node_group(cursor)]
        links: list[tuple[Arrow, str, int, str]] = []
        while not cursor.at_end():
            links.append(self._link(cursor))
            groups.append(self._node_group(cursor))
        for (arrow, kind, minlen, label), tails, heads in zip(links, groups, groups[1:]):
            for tail in tails:
                for head in heads:
                    self.edges.append(_Edge(tail, head, arrow, kind, minlen, label))

    def _node_group(self, cursor: _Cursor) -> list[str]:
        ids = [self._vertex(cursor)]
        cursor.skip_space()
        while cursor.peek("&"):
            cursor.pos += 1
            ids.append(self._vertex(cursor))
            cursor.skip_space()
        return ids

    def _vertex(self, cursor: _Cursor) -> str:
        cursor.skip_space()
        match = _ID.match(cursor.text, cursor.pos)
        if match is None:
            raise Unsupported(f"expected a node at {cursor.rest()!r}")
        node_id = match.group()
        if node_id in _KEYWORDS:
            raise Unsupported(f"{node_id!r} is a Mermaid keyword, not a node id")
        cursor.pos = match.end()
        if cursor.peek("@{"):
            raise Unsupported("the @{ shape: ... } node syntax is not supported")
        node = self._node(node_id)
        shape_text = self._shape(cursor)
        if shape_text is not None:
            shape, text = shape_text
            if node.text is not None and (node.text, node.shape) != (text, shape):
                raise Unsupported(f"node {node_id!r} is defined twice with different text or "
                                  "shape")
            node.text, node.shape = text, shape
        suffix = _CLASS_SUFFIX.match(cursor.text, cursor.pos)
        if suffix:
            node.classes.append(suffix.group(1))
            cursor.pos = suffix.end()
        if self.stack and self.stack[-1] not in node.subgraphs:
            node.subgraphs.append(self.stack[-1])
        return node_id

    def _shape(self, cursor: _Cursor) -> tuple[str, str] | None:
        text = cursor.text
        for opener, closers in _SHAPES:
            if not text.startswith(opener, cursor.pos):
                continue
            start = cursor.pos + len(opener)
            found = _shape_body(text, start, closers)
            if found is None:
                continue  # e.g. "[(" that is really "[" with text starting "("
            raw, shape, end = found
            if shape not in _SHAPE_ATTRS:
                raise Unsupported(f"the {shape} node shape has no Graphviz equal")
            cursor.pos = end
            return shape, _label(raw)
        return None

    def _link(self, cursor: _Cursor) -> tuple[Arrow, str, int, str]:
        cursor.skip_space()
        text, pos = cursor.text, cursor.pos
        label = ""
        match = _LINK.match(text, pos)
        if match:
            start = match.group("start") or ""
            if match.group("normal"):
                kind, end, minlen = "normal", match.group("nend"), len(match.group("normal")) - 1
            elif match.group("thick"):
                kind, end, minlen = "thick", match.group("tend"), len(match.group("thick")) - 1
            elif match.group("dots"):
                kind, end, minlen = "dotted", match.group("dend") or "", len(match.group("dots"))
            else:
                kind, end, minlen = "invisible", "", len(match.group("invisible")) - 2
            cursor.pos = match.end()
        else:
            opened = _LABELLED_OPEN.match(text, pos)
            if opened is None:
                raise Unsupported(f"expected a link at {cursor.rest()!r}")
            start, opener = opened.group("start") or "", opened.group("open")
            body_start = opened.end()
            closing, label_end = _find_close(text, body_start, _LABELLED_CLOSE[opener])
            label = _label(text[body_start:label_end].strip())
            if not label:
                raise Unsupported(f"cannot read the link at {cursor.rest()!r}")
            kind = {"--": "normal", "==": "thick", "-.": "dotted"}[opener]
            end = closing.group("end") or ""
            body = closing.group("body")
            minlen = len(body) if opener == "-." else len(body) - 1
            cursor.pos = closing.end()
        if "o" in (start, end) or "x" in (start, end):
            raise Unsupported("circle and cross link ends (--o, --x) have no Graphviz equal")
        if start == "<" and end != ">":
            raise Unsupported(f"cannot read the link at {text[pos:cursor.pos]!r}")
        arrow: Arrow = "both" if start == "<" else "forward" if end == ">" else "none"
        cursor.skip_space()
        if cursor.peek("|"):
            if label:
                raise Unsupported("a link with two labels")
            close = _pipe_end(text, cursor.pos + 1)
            label = _label(text[cursor.pos + 1:close].strip())
            cursor.pos = close + 1
        return arrow, kind, max(1, minlen), label

    def _node(self, node_id: str) -> _Node:
        node = self.nodes.get(node_id)
        if node is None:
            node = self.nodes[node_id] = _Node(node_id)
        return node

    # -- styles ------------------------------------------------------------------------------------

    def _css(self, props: str, statement: str, link: bool = False) -> _Style:
        style = _Style()
        for prop in _split_outside_parens(props, ","):
            prop = prop.strip().removesuffix("!important").strip()
            if not prop:
                continue
            if ":" not in prop:
                raise Unsupported(f"cannot read the style {prop!r} in {statement!r}")
            key, value = (part.strip() for part in prop.split(":", 1))
            key = key.lower()
            if key == "fill":
                if link:
                    continue  # linkStyle fill only paints the inside of the path: nothing shows
                style.fill = "none" if value.lower() == "none" else _colour(value)
            elif key == "stroke":
                style.stroke = "transparent" if value.lower() == "none" else _colour(value)
            elif key == "stroke-width":
                style.stroke_width = _width(value)
            elif key == "color":
                style.color = _colour(value)
            elif key == "stroke-dasharray":
                style.dashed = value.strip().lower() not in ("0", "none", "")
            else:
                self.notes.append(f"The Mermaid style {key}:{value} was dropped.")
        return style

    # -- the result --------------------------------------------------------------------------------

    def _graph(self) -> Graph:
        for sub_id in self.subgraphs:
            if sub_id in self.nodes:
                raise Unsupported(f"a link to subgraph {sub_id!r}: Graphviz cannot link to a "
                                  "cluster box")
        self._apply_styles()
        for name in self._unknown_classes():
            self.notes.append(f"The class {name!r} has no classDef, as in Mermaid it styles "
                              "nothing.")
        clusters = self._clusters()
        nodes = tuple(self._graph_node(node) for node in self.nodes.values())
        edges = tuple(self._graph_edge(index, edge) for index, edge in enumerate(self.edges))
        if not nodes:
            raise Unsupported("the flowchart has no nodes")
        occupied = {node.cluster for node in nodes}
        for cluster in clusters:
            if not self._holds_nodes(cluster.id, occupied, clusters):
                raise Unsupported(f"subgraph {cluster.id!r} is empty; Graphviz does not draw "
                                  "empty clusters")
        stadium = [node.id for node in self.nodes.values() if node.shape == "stadium"]
        if stadium:
            self.notes.append("Stadium-shaped nodes are drawn as rounded boxes.")
        return Graph(
            language="mermaid",
            direction=self.direction,
            nodes=nodes,
            edges=edges,
            clusters=clusters,
            graph_attrs=GRAPH_ATTRS,
            node_defaults=NODE_DEFAULTS,
            edge_defaults=EDGE_DEFAULTS,
            title=self.title or None,
            description=self.description or None,
            notes=tuple(dict.fromkeys(self.notes)),
        )

    def _apply_styles(self) -> None:
        default = self.class_defs.get("default")
        for node in self.nodes.values():
            if default is not None:
                node.style.update(default)
            for name in node.classes:
                if name in self.class_defs:
                    node.style.update(self.class_defs[name])
        for sub in self.subgraphs.values():
            for name in sub.classes:
                if name in self.class_defs:
                    sub.style.update(self.class_defs[name])
        for target, style in self.node_styles:
            if target in self.subgraphs:
                self.subgraphs[target].style.update(style)
            elif target in self.nodes:
                self.nodes[target].style.update(style)
            else:
                raise Unsupported(f"'style {target}' names no node or subgraph")

    def _unknown_classes(self) -> list[str]:
        used = [name for node in self.nodes.values() for name in node.classes]
        used += [name for sub in self.subgraphs.values() for name in sub.classes]
        return [name for name in dict.fromkeys(used) if name not in self.class_defs]

    def _clusters(self) -> tuple[GraphCluster, ...]:
        clusters = []
        for sub in self.subgraphs.values():
            attrs: list[tuple[str, str]] = []
            style = sub.style
            if style.fill and style.fill != "none":
                attrs.append(("bgcolor", style.fill))
            elif style.fill == "none":
                attrs.append(("bgcolor", "transparent"))
            if style.stroke:
                attrs.append(("pencolor", style.stroke))
            if style.stroke_width:
                attrs.append(("penwidth", style.stroke_width))
            if style.color:
                attrs.append(("fontcolor", style.color))
            if style.dashed:
                attrs.append(("style", "rounded,dashed"))
            clusters.append(GraphCluster(sub.id, sub.title, sub.parent, tuple(attrs)))
        return tuple(clusters)

    def _holds_nodes(self, cluster_id: str, occupied: set[str | None],
                     clusters: tuple[GraphCluster, ...]) -> bool:
        if cluster_id in occupied:
            return True
        return any(self._holds_nodes(child.id, occupied, clusters)
                   for child in clusters if child.parent == cluster_id)

    def _graph_node(self, node: _Node) -> GraphNode:
        shape_name = node.shape or "rectangle"
        shape, style_words = _SHAPE_ATTRS[shape_name]
        words = list(style_words)
        attrs: list[tuple[str, str]] = []
        if shape:
            attrs.append(("shape", shape))
        style = node.style
        if style.fill and style.fill != "none":
            words.append("filled")
            attrs.append(("fillcolor", style.fill))
        if style.dashed:
            words.append("dashed")
        if words:
            attrs.insert(1 if shape else 0, ("style", ",".join(words)))
        if style.stroke:
            attrs.append(("color", style.stroke))
        if style.stroke_width:
            attrs.append(("penwidth", style.stroke_width))
        if style.color:
            attrs.append(("fontcolor", style.color))
        label = node.text if node.text is not None else _escape(node.id)
        return GraphNode(node.id, label, tuple(attrs), self._membership(node))

    def _membership(self, node: _Node) -> str | None:
        if not node.subgraphs:
            return None
        # A node belongs to the deepest subgraph that mentions it, if all those that mention it
        # nest inside each other; mentions in two unrelated subgraphs leave its place unclear.
        chains = {sub: self._ancestors(sub) for sub in node.subgraphs}
        deepest = max(node.subgraphs, key=lambda sub: len(chains[sub]))
        if not all(sub in chains[deepest] for sub in node.subgraphs):
            raise Unsupported(f"node {node.id!r} appears in separate subgraphs "
                              f"{', '.join(map(repr, node.subgraphs))}")
        return deepest

    def _ancestors(self, sub_id: str) -> list[str]:
        chain = []
        current: str | None = sub_id
        while current is not None:
            chain.append(current)
            current = self.subgraphs[current].parent
        return chain

    def _graph_edge(self, index: int, edge: _Edge) -> GraphEdge:
        style = _Style()
        for which, link_style in self.link_styles:
            if which == "default":
                style.update(link_style)
        for which, link_style in self.link_styles:
            if which == "default":
                continue
            indexes = set()
            for part in which.split(","):
                part = part.strip()
                if not part.isdigit() or int(part) >= len(self.edges):
                    raise Unsupported(f"linkStyle {which} names a link that does not exist")
                indexes.add(int(part))
            if index in indexes:
                style.update(link_style)
        attrs: list[tuple[str, str]] = []
        words = []
        if edge.kind == "dotted" or style.dashed:
            words.append("dashed")
        if edge.kind == "invisible":
            words.append("invis")
        if words:
            attrs.append(("style", ",".join(words)))
        if style.stroke:
            attrs.append(("color", style.stroke))
        if style.stroke_width:
            attrs.append(("penwidth", style.stroke_width))
        elif edge.kind == "thick":
            attrs.append(("penwidth", "3"))
        if style.color:
            attrs.append(("fontcolor", style.color))
        if edge.minlen > 1:
            attrs.append(("minlen", str(edge.minlen)))
        return GraphEdge(edge.tail, edge.head, edge.label, edge.arrow, tuple(attrs))


# -- lexical helpers -------------------------------------------------------------------------------

class _Cursor:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    def at_end(self) -> bool:
        self.skip_space()
        return self.pos >= len(self.text)

    def rest(self) -> str:
        return self.text[self.pos:self.pos + 40]


def _split_statements(line: str) -> list[str]:
    """Split `line` at semicolons that are outside quotes, brackets and |link text|."""
    parts, current = [], []
    depth, quote, pipe = 0, False, False
    for char in line:
        if char == '"':
            quote = not quote
        elif not quote:
            if char in "[({":
                depth += 1
            elif char in "])}" and depth:
                depth -= 1
            elif char == "|" and not depth:
                pipe = not pipe
            elif char == ";" and not depth and not pipe:
                parts.append("".join(current).strip())
                current = []
                continue
        current.append(char)
    parts.append("".join(current).strip())
    return parts


def _split_first(rest: str, statement: str) -> tuple[str, str]:
    parts = rest.split(None, 1)
    if len(parts) != 2:
        raise Unsupported(f"cannot read {statement!r}")
    return parts[0], parts[1]


def _split_outside_parens(text: str, separator: str) -> list[str]:
    parts, current, depth = [], [], 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _shape_body(text: str, start: int, closers: tuple[tuple[str, str], ...]
                ) -> tuple[str, str, int] | None:
    """Return (raw text, shape, end position) of a node body that starts at `start`."""
    inner = start
    while inner < len(text) and text[inner] == " ":
        inner += 1
    if inner < len(text) and text[inner] == '"':
        close_quote = text.find('"', inner + 1)
        if close_quote < 0:
            raise Unsupported(f"an unclosed quote in {text[start - 1:]!r}")
        after = close_quote + 1
        while after < len(text) and text[after] == " ":
            after += 1
        for closer, shape in closers:
            if text.startswith(closer, after):
                return text[inner:close_quote + 1], shape, after + len(closer)
        return None
    best: tuple[int, str, str] | None = None
    for closer, shape in closers:
        found = text.find(closer, start)
        if found >= 0 and (best is None or found < best[0]):
            best = (found, closer, shape)
    if best is None:
        return None
    found, closer, shape = best
    raw = text[start:found]
    if '"' in raw:
        raise Unsupported(f"a stray quote in node text {raw!r}")
    return raw, shape, found + len(closer)


def _find_close(text: str, start: int, pattern: re.Pattern[str]) -> tuple[re.Match[str], int]:
    """Find where the text of a `A -- text --> B` link ends and its closing half."""
    search_from = start
    stripped = text[start:].lstrip()
    if stripped.startswith('"'):
        open_quote = text.index('"', start)
        close_quote = text.find('"', open_quote + 1)
        if close_quote < 0:
            raise Unsupported("an unclosed quote in link text")
        search_from = close_quote + 1
    position = search_from
    while True:
        match = pattern.search(text, position)
        if match is None:
            raise Unsupported(f"cannot find where the link text ends in {text[start:]!r}")
        if match.start() > start and text[start:match.start()].strip():
            return match, match.start()
        position = match.start() + 1


def _pipe_end(text: str, start: int) -> int:
    inner = start
    while inner < len(text) and text[inner] == " ":
        inner += 1
    if inner < len(text) and text[inner] == '"':
        close_quote = text.find('"', inner + 1)
        if close_quote < 0:
            raise Unsupported("an unclosed quote in link text")
        end = text.find("|", close_quote + 1)
    else:
        end = text.find("|", start)
    if end < 0:
        raise Unsupported("link text |...| is never closed")
    return end


def _quoted_whole(text: str) -> str:
    match = re.fullmatch(r'"([^"]*)"', text.strip())
    if match is None:
        raise Unsupported(f"cannot read the quoted text {text!r}")
    return match.group(1)


def _label(raw: str) -> str:
    """Turn Mermaid node or link text into a Graphviz escString."""
    text = raw.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1]
        if text.startswith("`"):
            raise Unsupported("Markdown strings in labels are not supported")
    if '"' in text:
        raise Unsupported(f"a stray quote in the text {raw!r}")
    if re.search(r"\bfa[bsrl]?:fa-", text):
        raise Unsupported("Font Awesome icons in labels are not supported")
    text = re.sub(r"<br\s*/?>", "\n", text, flags=re.IGNORECASE)
    if re.search(r"</?[A-Za-z][^>]*>", text):
        raise Unsupported(f"HTML in the text {raw!r} is not supported")
    # Mermaid writes entities as #name; or #123; where HTML has &name; and &#123;.
    text = re.sub(r"#([A-Za-z][A-Za-z0-9]*|[0-9]+);",
                  lambda m: html.unescape(("&#" if m.group(1).isdigit() else "&") + m.group(1)
                                          + ";"),
                  text)
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return _escape("\n".join(lines).strip("\n"))


def _escape(text: str) -> str:
    # A lone backslash would start a Graphviz escape sequence; text shown as is needs it doubled.
    escaped = text.replace("\\", "\\\\")
    if escaped.startswith("<") and escaped.endswith(">"):
        # The graphviz library would send such a string as an HTML label.
        raise Unsupported(f"the text {text!r} would be read as an HTML label")
    return escaped


def _colour(value: str) -> str:
    """Translate a CSS colour into one Graphviz draws the same."""
    value = value.strip()
    lowered = value.lower()
    if re.fullmatch(r"#[0-9a-f]{3,4}", lowered):
        return "#" + "".join(char * 2 for char in lowered[1:])
    if re.fullmatch(r"#[0-9a-f]{6}([0-9a-f]{2})?", lowered):
        return lowered
    match = re.fullmatch(r"rgba?\(([^)]*)\)", lowered)
    if match:
        parts = [part.strip() for part in re.split(r"[,\s/]+", match.group(1).strip()) if part]
        if len(parts) in (3, 4):
            try:
                channels = [_channel(part) for part in parts[:3]]
                if len(parts) == 4:
                    alpha = float(parts[3][:-1]) / 100 if parts[3].endswith("%") \
                        else float(parts[3])
                    channels.append(round(max(0.0, min(1.0, alpha)) * 255))
            except ValueError:
                raise Unsupported(f"cannot read the colour {value!r}") from None
            return "#" + "".join(f"{channel:02x}" for channel in channels)
    if lowered in _CSS_COLOURS:
        return _CSS_COLOURS[lowered]
    if re.fullmatch(r"[a-z]+", lowered):
        return lowered
    raise Unsupported(f"cannot translate the colour {value!r}")


def _channel(part: str) -> int:
    if part.endswith("%"):
        return round(max(0.0, min(100.0, float(part[:-1]))) * 2.55)
    return max(0, min(255, round(float(part))))


def _width(value: str) -> str:
    match = re.fullmatch(r"(\d+(?:\.\d+)?|\.\d+)\s*(px)?", value.strip().lower())
    if match is None:
        raise Unsupported(f"cannot translate the width {value!r}")
    number = float(match.group(1))
    return f"{number:g}"
