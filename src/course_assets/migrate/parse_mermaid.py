"""Parse Mermaid flowcharts into the graph model, refusing anything it cannot reproduce.

The parser covers the flowchart syntax courses use (shapes, the four link kinds with and without
labels, chains, `&`, subgraphs, `style`, `classDef`/`class` and `linkStyle`). Whenever a
statement could mean more than one thing, or draws something Graphviz has no equal for, it raises
`Unsupported` so the caller keeps the original image instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from course_assets.migrate.mermaid_style import (
    EDGE_DEFAULTS, GRAPH_ATTRS, NODE_DEFAULTS, SHAPE_ATTRS, Style, cascade, cluster_attrs,
    edge_attrs, link_style, node_attrs, parse_css,
)
from course_assets.migrate.mermaid_text import (
    CLASS_SUFFIX, KEYWORDS, NODE_ID, Cursor, Link, escape, label_text, quoted_whole, read_link,
    read_shape, split_first, split_statements, strip_directives, strip_front_matter,
)
from course_assets.migrate.model import (
    Direction, Graph, GraphCluster, GraphEdge, GraphNode, Unsupported, innermost_cluster,
    refuse_empty_clusters,
)

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


@dataclass
class _Node:
    id: str
    text: str | None = None
    shape: str | None = None
    classes: list[str] = field(default_factory=list)
    subgraphs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Edge:
    tail: str
    head: str
    link: Link


@dataclass
class _Subgraph:
    id: str
    title: str
    parent: str | None
    classes: list[str] = field(default_factory=list)


def parse_mermaid(source: str) -> Graph:
    """Return the flowchart in `source`; raise Unsupported for anything else or anything unsure."""
    return _Parser(source).parse()


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.nodes: dict[str, _Node] = {}
        self.edges: list[_Edge] = []
        self.subgraphs: dict[str, _Subgraph] = {}
        self.stack: list[str] = []
        self.class_defs: dict[str, Style] = {}
        self.node_styles: list[tuple[str, Style]] = []
        self.link_styles: list[tuple[str, Style]] = []
        self.notes: list[str] = []
        self.title: str | None = None
        self.description: str | None = None
        self.direction: Direction = "TB"

    # -- statements --------------------------------------------------------------------------------

    def parse(self) -> Graph:
        body, self.title = strip_front_matter(strip_directives(self.source))
        statements = list(self._statements(body))
        if not statements:
            raise Unsupported("the Mermaid source is empty")
        self._header(statements[0])
        for statement in statements[1:]:
            self._statement(statement)
        if self.stack:
            raise Unsupported(f"subgraph {self.stack[-1]!r} is never closed with 'end'")
        return self._graph()

    def _statements(self, body: str) -> Iterator[str]:
        for line in body.splitlines():
            stripped = line.strip()
            if not stripped or stripped.startswith("%%"):
                continue
            if re.fullmatch(r"accDescr\s*\{.*", stripped):
                raise Unsupported("multi-line accDescr blocks are not supported")
            for part in split_statements(stripped):
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
            target, props = split_first(rest, statement)
            self.node_styles.append((target, self._css(props, statement)))
        elif keyword == "classDef" and rest:
            names, props = split_first(rest, statement)
            style = self._css(props, statement)
            for name in (name.strip() for name in names.split(",")):
                self.class_defs[name] = self.class_defs.get(name, Style()).over(style)
        elif keyword == "class" and rest:
            targets, name = split_first(rest, statement)
            for target in targets.split(","):
                self._add_class(target.strip(), name.strip(), statement)
        elif keyword == "linkStyle" and rest:
            which, props = split_first(rest, statement)
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
            title = quoted_whole(rest)
            sub_id = title
        else:
            match = re.fullmatch(r"(\w+(?:-\w+)*)\s*\[(.*)\]", rest)
            if match:
                sub_id, title = match.group(1), match.group(2).strip()
                if title.startswith('"'):
                    title = quoted_whole(title)
            else:
                if any(char in rest for char in "[](){}|"):
                    raise Unsupported(f"cannot read the subgraph header {rest!r}")
                sub_id = title = rest
        if sub_id in self.subgraphs:
            raise Unsupported(f"subgraph {sub_id!r} is opened twice")
        if sub_id in self.nodes:
            raise Unsupported(f"{sub_id!r} is both a node and a subgraph")
        parent = self.stack[-1] if self.stack else None
        self.subgraphs[sub_id] = _Subgraph(sub_id, label_text(title), parent)
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
        cursor = Cursor(statement)
        groups = [self._node_group(cursor)]
        links: list[Link] = []
        while not cursor.at_end():
            links.append(read_link(cursor))
            groups.append(self._node_group(cursor))
        for link, tails, heads in zip(links, groups, groups[1:]):
            for tail in tails:
                for head in heads:
                    self.edges.append(_Edge(tail, head, link))

    def _node_group(self, cursor: Cursor) -> list[str]:
        ids = [self._vertex(cursor)]
        cursor.skip_space()
        while cursor.peek("&"):
            cursor.pos += 1
            ids.append(self._vertex(cursor))
            cursor.skip_space()
        return ids

    def _vertex(self, cursor: Cursor) -> str:
        cursor.skip_space()
        match = NODE_ID.match(cursor.text, cursor.pos)
        if match is None:
            raise Unsupported(f"expected a node at {cursor.rest()!r}")
        node_id = match.group()
        if node_id in KEYWORDS:
            raise Unsupported(f"{node_id!r} is a Mermaid keyword, not a node id")
        cursor.pos = match.end()
        if cursor.peek("@{"):
            raise Unsupported("the @{ shape: ... } node syntax is not supported")
        node = self._node(node_id)
        shape_text = read_shape(cursor)
        if shape_text is not None:
            shape, text = shape_text
            if shape not in SHAPE_ATTRS:
                raise Unsupported(f"the {shape} node shape has no Graphviz equal")
            if node.text is not None and (node.text, node.shape) != (text, shape):
                raise Unsupported(f"node {node_id!r} is defined twice with different text or "
                                  "shape")
            node.text, node.shape = text, shape
        suffix = CLASS_SUFFIX.match(cursor.text, cursor.pos)
        if suffix:
            node.classes.append(suffix.group(1))
            cursor.pos = suffix.end()
        if self.stack and self.stack[-1] not in node.subgraphs:
            node.subgraphs.append(self.stack[-1])
        return node_id

    def _node(self, node_id: str) -> _Node:
        node = self.nodes.get(node_id)
        if node is None:
            node = self.nodes[node_id] = _Node(node_id)
        return node

    def _css(self, props: str, statement: str, link: bool = False) -> Style:
        css = parse_css(props, statement, link)
        self.notes.extend(css.dropped)
        return css.style

    # -- the result --------------------------------------------------------------------------------

    def _graph(self) -> Graph:
        for sub_id in self.subgraphs:
            if sub_id in self.nodes:
                raise Unsupported(f"a link to subgraph {sub_id!r}: Graphviz cannot link to a "
                                  "cluster box")
        node_styles, subgraph_styles = self._styles()
        for name in self._unknown_classes():
            self.notes.append(f"The class {name!r} has no classDef, as in Mermaid it styles "
                              "nothing.")
        clusters = tuple(GraphCluster(sub.id, sub.title, sub.parent,
                                      cluster_attrs(subgraph_styles[sub.id]))
                         for sub in self.subgraphs.values())
        parents = {sub.id: sub.parent for sub in self.subgraphs.values()}
        nodes = tuple(
            GraphNode(node.id, node.text if node.text is not None else escape(node.id),
                      node_attrs(node.shape or "rectangle", node_styles[node.id]),
                      innermost_cluster(node.id, node.subgraphs, parents, "subgraphs"))
            for node in self.nodes.values())
        edges = tuple(
            GraphEdge(edge.tail, edge.head, edge.link.label, edge.link.arrow,
                      edge_attrs(edge.link.kind, edge.link.minlen,
                                 link_style(index, self.link_styles, len(self.edges))))
            for index, edge in enumerate(self.edges))
        if not nodes:
            raise Unsupported("the flowchart has no nodes")
        refuse_empty_clusters(nodes, clusters, "subgraph")
        if any(node.shape == "stadium" for node in self.nodes.values()):
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

    def _styles(self) -> tuple[dict[str, Style], dict[str, Style]]:
        """Return each node's and each subgraph's style: classes first, then `style` lines."""
        default = self.class_defs.get("default", Style())
        nodes = {node_id: cascade(default, node.classes, self.class_defs)
                 for node_id, node in self.nodes.items()}
        subgraphs = {sub_id: cascade(Style(), sub.classes, self.class_defs)
                     for sub_id, sub in self.subgraphs.items()}
        for target, style in self.node_styles:
            if target in subgraphs:
                subgraphs[target] = subgraphs[target].over(style)
            elif target in nodes:
                nodes[target] = nodes[target].over(style)
            else:
                raise Unsupported(f"'style {target}' names no node or subgraph")
        return nodes, subgraphs

    def _unknown_classes(self) -> list[str]:
        used = [name for node in self.nodes.values() for name in node.classes]
        used += [name for sub in self.subgraphs.values() for name in sub.classes]
        return [name for name in dict.fromkeys(used) if name not in self.class_defs]
