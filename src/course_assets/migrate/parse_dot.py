"""Parse the common subset of Graphviz DOT into the graph model.

Covers graph and digraph, strict, node/edge/graph attribute statements, node and edge statements
(chains and `{a b}` groups), attributes, and `subgraph cluster_*` clusters. Ports, HTML labels,
rank constraints and external images raise `Unsupported`: the caller keeps the original image.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field

from course_assets.migrate.model import (
    Arrow, Direction, Graph, GraphCluster, GraphEdge, GraphNode, Unsupported, innermost_cluster,
    refuse_empty_clusters,
)

# Graphviz's own defaults, restated so the diagrams library's icon-cell defaults do not apply.
NODE_DEFAULTS = (
    ("shape", "ellipse"), ("style", "solid"), ("fixedsize", "false"), ("width", "0.75"),
    ("height", "0.5"), ("labelloc", "c"),
)
EDGE_DEFAULTS = (("color", "black"),)
GRAPH_DEFAULTS = (("splines", "spline"),)

_DIRECTIONS: dict[str, Direction] = {"TB": "TB", "BT": "BT", "LR": "LR", "RL": "RL"}
_ARROWS: dict[str, Arrow] = {"forward": "forward", "back": "back", "both": "both", "none": "none"}
# Attributes that point outside the figure or only matter to an interactive viewer; the build
# strips links from the SVG anyway.
_DROPPED = frozenset({"url", "href", "target", "id", "class", "edgeurl", "edgehref",
                      "edgetarget", "headurl", "headhref", "headtarget", "tailurl", "tailhref",
                      "tailtarget", "labelurl", "labelhref", "labeltarget", "layer", "layers",
                      "comment"})
_REFUSED = {"image": "an external image", "shapefile": "an external image",
            "imagepath": "external images", "stylesheet": "an external style sheet",
            "rank": "rank constraints", "samehead": "shared edge ends",
            "sametail": "shared edge ends", "group": "node groups"}

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<edgeop>->|--)
  | (?P<punct>[{}\[\]=;,:+])
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>-?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?))
  | (?P<id>[A-Za-z_\x80-\U0010ffff][A-Za-z_0-9\x80-\U0010ffff]*)
  | (?P<html><)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # id, string, number, html, edgeop, punct
    text: str
    line: int


@dataclass
class _Scope:
    node_defaults: dict[str, str]
    edge_defaults: dict[str, str]
    cluster: str | None


@dataclass
class _Node:
    id: str
    attrs: dict[str, str]
    clusters: list[str] = field(default_factory=list)


def parse_dot(source: str) -> Graph:
    """Return the graph in DOT `source`; raise Unsupported for anything outside the subset."""
    start = re.match(r"(?:\s+|//[^\n]*|/\*.*?\*/|(?m:^#[^\n]*))*(\S*)", source, re.DOTALL)
    first = start.group(1) if start else ""
    if not re.match(r"(?i)(strict|graph|digraph)\b", first):
        raise Unsupported(f"not a DOT graph (it starts with {first[:20]!r})")
    return _Parser(_tokens(source)).parse()


def _tokens(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos, line = 0, 1
    # Lines starting with "#" are C preprocessor output, which DOT ignores.
    source = re.sub(r"(?m)^#[^\n]*", "", source)
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None:
            raise Unsupported(f"DOT line {line}: cannot read {source[pos:pos + 20]!r}")
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "html":
            raise Unsupported(f"DOT line {line}: HTML-like labels (<...>) are not supported")
        if kind == "string":
            # A backslash before a newline continues the string on the next line.
            text = text[1:-1].replace("\\\r\n", "").replace("\\\n", "")
        if kind not in ("space", "comment"):
            tokens.append(_Token(kind, text, line))
        line += match.group().count("\n")
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.directed = True
        self.nodes: dict[str, _Node] = {}
        self.edges: list[GraphEdge] = []
        self.clusters: dict[str, GraphCluster] = {}
        self.cluster_attrs: dict[str, dict[str, str]] = {}
        self.cluster_order: list[str] = []
        self.graph_attrs: dict[str, str] = {}
        self.notes: list[str] = []
        self.graph_name = ""
        self.mentions: list[str] = []

    # -- token stream ------------------------------------------------------------------------------

    def peek(self, offset: int = 0) -> _Token | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def next(self) -> _Token:
        token = self.peek()
        if token is None:
            raise Unsupported("DOT source ends too early")
        self.pos += 1
        return token

    def expect(self, text: str) -> _Token:
        token = self.next()
        if token.text != text or token.kind == "string":
            raise Unsupported(f"DOT line {token.line}: expected {text!r}, found {token.text!r}")
        return token

    def line(self) -> int:
        """Return the line of the next token (0 at the end)."""
        token = self.peek()
        return token.line if token is not None else 0

    def at(self, text: str) -> bool:
        token = self.peek()
        return token is not None and token.kind in ("punct", "edgeop") and token.text == text

    def at_keyword(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "id" and token.text.lower() == word

    def identifier(self) -> str:
        token = self.next()
        if token.kind not in ("id", "string", "number"):
            raise Unsupported(f"DOT line {token.line}: expected a name, found {token.text!r}")
        text = token.text
        # "a" + "b" joins quoted strings.
        while token.kind == "string" and self.at("+"):
            self.next()
            part = self.next()
            if part.kind != "string":
                raise Unsupported(f"DOT line {part.line}: '+' must join two quoted strings")
            text += part.text
        return text

    # -- grammar -----------------------------------------------------------------------------------

    def parse(self) -> Graph:
        strict = False
        if self.at_keyword("strict"):
            self.next()
            strict = True
        if self.at_keyword("digraph"):
            self.directed = True
        elif self.at_keyword("graph"):
            self.directed = False
        else:
            token = self.peek()
            found = token.text if token else "nothing"
            raise Unsupported(f"not a DOT graph (it starts with {found!r})")
        self.next()
        if not self.at("{"):
            self.graph_name = self.identifier()
        scope = _Scope({}, {}, None)
        self.expect("{")
        self.statements(scope, top=True)
        self.expect("}")
        if self.peek() is not None:
            raise Unsupported("DOT source continues after the graph (only one graph per figure)")
        return self.graph(strict)

    def statements(self, scope: _Scope, top: bool) -> None:
        while not self.at("}"):
            if self.peek() is None:
                raise Unsupported("DOT source ends inside braces")
            self.statement(scope, top)
            if self.at(";") or self.at(","):
                self.next()

    def statement(self, scope: _Scope, top: bool) -> None:
        token = self.peek()
        assert token is not None
        lowered = token.text.lower() if token.kind == "id" else ""
        if lowered in ("graph", "node", "edge") and self._next_is("["):
            self.next()
            attrs = self.attr_lists()
            if lowered == "node":
                scope.node_defaults.update(attrs)
            elif lowered == "edge":
                scope.edge_defaults.update(attrs)
            else:
                self.set_graph_attrs(scope, attrs, top)
            return
        if token.kind in ("id", "string", "number") and self._next_is("="):
            name = self.identifier()
            self.expect("=")
            self.set_graph_attrs(scope, {name: self.identifier()}, top)
            return
        endpoints = self.endpoint(scope)
        if self.at("->") or self.at("--"):
            self.edge_chain(scope, endpoints)
            return
        attrs = self.attr_lists() if self.at("[") else {}
        if token.kind == "punct" or lowered == "subgraph":
            if attrs:
                raise Unsupported(f"DOT line {token.line}: attributes after a subgraph")
            return
        node = self.nodes[endpoints[0]]
        self.check_attrs(attrs, token.line)
        node.attrs.update(attrs)

    def _next_is(self, text: str) -> bool:
        token = self.peek(1)
        return token is not None and token.kind == "punct" and token.text == text

    def endpoint(self, scope: _Scope) -> list[str]:
        """Read a node id or a subgraph; return the node ids it stands for."""
        if self.at("{") or self.at_keyword("subgraph"):
            return self.subgraph(scope)
        token = self.peek()
        name = self.identifier()
        if self.at(":"):
            raise Unsupported(f"DOT line {token.line if token else '?'}: ports (node:port) are "
                              "not supported")
        self.touch(name, scope)
        return [name]

    def touch(self, name: str, scope: _Scope) -> None:
        node = self.nodes.get(name)
        if node is None:
            self.check_attrs(scope.node_defaults, None)
            node = self.nodes[name] = _Node(name, dict(scope.node_defaults))
        if scope.cluster is not None and scope.cluster not in node.clusters:
            node.clusters.append(scope.cluster)
        self.mentions.append(name)

    def subgraph(self, scope: _Scope) -> list[str]:
        name = ""
        line = self.line()
        if self.at_keyword("subgraph"):
            self.next()
            if not self.at("{"):
                name = self.identifier()
        is_cluster = name.lower().startswith("cluster")
        cluster = scope.cluster
        if is_cluster:
            if name not in self.clusters:
                self.clusters[name] = GraphCluster(name, "", scope.cluster)
                self.cluster_attrs[name] = {}
                self.cluster_order.append(name)
            elif self.clusters[name].parent != scope.cluster:
                raise Unsupported(f"DOT line {line}: cluster {name!r} is reopened elsewhere")
            cluster = name
        inner = _Scope(dict(scope.node_defaults), dict(scope.edge_defaults), cluster)
        first_mention = len(self.mentions)
        self.expect("{")
        self.statements(inner, top=False)
        self.expect("}")
        # As an edge end, a subgraph stands for every node named inside it.
        return list(dict.fromkeys(self.mentions[first_mention:]))

    def edge_chain(self, scope: _Scope, first: list[str]) -> None:
        line = self.line()
        ends = [first]
        while self.at("->") or self.at("--"):
            op = self.next()
            if (op.text == "->") != self.directed:
                kind = "digraph" if self.directed else "graph"
                raise Unsupported(f"DOT line {op.line}: '{op.text}' in a {kind}")
            ends.append(self.endpoint(scope))
        attrs = dict(scope.edge_defaults)
        if self.at("["):
            attrs.update(self.attr_lists())
        self.check_attrs(attrs, line)
        for tails, heads in zip(ends, ends[1:]):
            for tail in tails:
                for head in heads:
                    self.edges.append(self.make_edge(tail, head, attrs, line))

    def make_edge(self, tail: str, head: str, attrs: dict[str, str], line: int) -> GraphEdge:
        attrs = dict(attrs)
        default = "forward" if self.directed else "none"
        arrow = _ARROWS.get(attrs.pop("dir", default).lower(), "forward")
        label = attrs.pop("label", "")
        for name in ("headport", "tailport", "lhead", "ltail"):
            if name in attrs:
                raise Unsupported(f"DOT line {line}: the edge attribute {name} is not supported")
        return GraphEdge(tail, head, _substitute_edge(label, tail, head, self.graph_name),
                         arrow, self.kept(attrs))

    def attr_lists(self) -> dict[str, str]:
        attrs: dict[str, str] = {}
        while self.at("["):
            self.next()
            while not self.at("]"):
                name = self.identifier()
                if self.at("="):
                    self.next()
                    value = self.identifier()
                else:
                    value = "true"
                attrs[name] = value
                if self.at(",") or self.at(";"):
                    self.next()
            self.expect("]")
        return attrs

    def set_graph_attrs(self, scope: _Scope, attrs: dict[str, str], top: bool) -> None:
        self.check_attrs(attrs, None)
        if top:
            self.graph_attrs.update(attrs)
        elif scope.cluster is not None:
            self.cluster_attrs[scope.cluster].update(attrs)
        else:
            # Attributes of a plain subgraph draw nothing; only "rank" would, and it is refused.
            pass

    def check_attrs(self, attrs: dict[str, str], line: int | None) -> None:
        where = f"DOT line {line}: " if line else ""
        for name in attrs:
            if name.lower() in _REFUSED:
                raise Unsupported(f"{where}{_REFUSED[name.lower()]} ({name}=...) cannot be "
                                  "converted")

    def kept(self, attrs: dict[str, str]) -> tuple[tuple[str, str], ...]:
        out = []
        for name, value in attrs.items():
            if name.lower() in _DROPPED:
                self.notes.append(f"The DOT attribute {name} was dropped (figures carry no "
                                  "links or ids).")
                continue
            if not name.isidentifier() or keyword.iskeyword(name):
                raise Unsupported(f"the attribute name {name!r} cannot be passed from Python")
            _check_value(value)
            out.append((name, value))
        return tuple(out)

    # -- the result --------------------------------------------------------------------------------

    def graph(self, strict: bool) -> Graph:
        attrs = dict(self.graph_attrs)
        rankdir = attrs.pop("rankdir", "TB").upper()
        if rankdir not in _DIRECTIONS:
            raise Unsupported(f"unknown rankdir {rankdir!r}")
        title = attrs.pop("label", None)
        if title is not None:
            title = _substitute(title, {"G": self.graph_name})
        graph_attrs = dict(GRAPH_DEFAULTS)
        graph_attrs.update(attrs)
        parents = {name: cluster.parent for name, cluster in self.clusters.items()}
        nodes = tuple(self.graph_node(node, parents) for node in self.nodes.values())
        if not nodes:
            raise Unsupported("the DOT graph has no nodes")
        clusters = []
        for name in self.cluster_order:
            cluster_attrs = dict(self.cluster_attrs[name])
            label = _substitute(cluster_attrs.pop("label", ""), {"G": name})
            if "color" in cluster_attrs and "pencolor" not in cluster_attrs:
                # Cluster() sets its own pencolor, which would hide the outline colour.
                cluster_attrs["pencolor"] = cluster_attrs["color"]
            clusters.append(GraphCluster(name, label, self.clusters[name].parent,
                                         self.kept(cluster_attrs)))
        refuse_empty_clusters(nodes, clusters, "cluster")
        return Graph(
            language="graphviz",
            direction=_DIRECTIONS[rankdir],
            nodes=nodes,
            edges=tuple(self.edges),
            clusters=tuple(clusters),
            graph_attrs=self.kept(graph_attrs),
            node_defaults=NODE_DEFAULTS,
            edge_defaults=EDGE_DEFAULTS,
            strict=strict,
            title=_display_title(title) if title else None,
            notes=tuple(dict.fromkeys(self.notes)),
        )

    def graph_node(self, node: _Node, parents: dict[str, str | None]) -> GraphNode:
        attrs = dict(node.attrs)
        label = attrs.pop("label", "\\N")
        # Graphviz puts the node name in as written, then reads the escapes of the result.
        label = _substitute(label, {"N": node.id, "G": self.graph_name})
        kept = self.kept(attrs)
        return GraphNode(node.id, label, kept,
                         innermost_cluster(node.id, node.clusters, parents, "clusters"))


def _substitute(label: str, values: dict[str, str]) -> str:
    """Replace \\N and \\G as Graphviz does; refuse the escapes that need layout context."""

    def replace(match: re.Match[str]) -> str:
        letter = match.group(1)
        if letter in values:
            return values[letter]
        if letter in "ETHL":
            raise Unsupported(f"the label escape \\{letter} is not supported")
        return match.group(0)

    result = re.sub(r"\\(.)", replace, label, flags=re.DOTALL)
    _check_value(result)
    return result


def _substitute_edge(label: str, tail: str, head: str, graph_name: str) -> str:
    values = {"T": tail, "H": head, "G": graph_name, "E": f"{tail}->{head}"}
    return _substitute(label, {**values, "N": values["E"]}) if label else ""


def _check_value(value: str) -> None:
    if value.startswith("<") and value.endswith(">"):
        # The graphviz library would pass such a string on as an HTML label.
        raise Unsupported(f"the value {value!r} would be read as an HTML label")


def _display_title(label: str) -> str:
    return " ".join(re.sub(r"\\[nlr]", " ", label).replace('\\"', '"').split())
