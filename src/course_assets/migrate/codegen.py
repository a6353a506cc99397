"""Write a graph model out as a plain, readable diagrams script."""

from __future__ import annotations

import builtins
import keyword
import re
import textwrap
import unicodedata
from collections.abc import Callable, Iterable
from typing import TypeVar

from course_assets.migrate.model import Attrs, Graph, GraphCluster, GraphEdge, GraphNode

_Item = TypeVar("_Item", GraphNode, GraphEdge)

TODO_MARKER = "TODO(migrate): improve this description."
LINE_LIMIT = 99
# Clusters nested deeper than this are entered without `with`: Python refuses more than 20
# nested blocks, and the Diagram's `with` (and any the author adds later) count too.
MAX_NESTED_WITH = 15
_INDENT = "    "
# Edge() gives every edge its own font settings, which would beat these if set diagram-wide.
_EDGE_SHAREABLE = frozenset({"color", "penwidth", "style", "arrowhead", "arrowtail",
                             "arrowsize"})
_COLOURS = frozenset({"color", "fontcolor", "fillcolor", "bgcolor", "pencolor"})
_RESERVED = frozenset({"Diagram", "Node", "Edge", "Cluster"}) | frozenset(dir(builtins))


def describe(graph: Graph, limit: int = 6) -> str:
    """Return a first description of `graph` built from its node labels."""
    labels = [label for label in dict.fromkeys(graph.labels()) if label]
    kind = "flowchart" if graph.language == "mermaid" else "graph"
    if not labels:
        return f"A {kind}."
    shown = labels[:limit]
    if len(labels) > limit:
        return f"A {kind} of {', '.join(shown)} and {len(labels) - limit} more."
    if len(shown) == 1:
        return f"A {kind} of {shown[0]}."
    return f"A {kind} of {', '.join(shown[:-1])} and {shown[-1]}."


def default_title(graph: Graph) -> str:
    """Return a title for `graph`: its own title, else its first node label."""
    if graph.title:
        return graph.title
    for label in graph.labels():
        if label:
            return label
    return "Figure"


def generate_script(graph: Graph, *, title: str, description: str, origin: str,
                    style: str | None = None, cluster_style: bool = False) -> str:
    """Return the text of a standalone diagrams script that draws `graph`.

    Its colours are the course's (from the helpers of the `style` module) or the library's,
    which the dark variant replaces; never a fixed one that vanishes on a dark page.
    """
    names = _variable_names(graph.nodes)
    node_attrs, shared_node = _factor(graph.nodes, lambda node: node.attrs, None)
    edge_attrs, shared_edge = _factor(graph.edges, lambda edge: edge.attrs, _EDGE_SHAREABLE)
    uses_edge = any(_edge_kwargs(edge, edge_attrs[index]) or edge.arrow == "both"
                    for index, edge in enumerate(graph.edges))
    imports = ["Cluster"] if graph.clusters else []
    imports += ["Diagram"] + (["Edge"] if uses_edge else []) + ["Node"]

    lines = [_docstring(description), ""]
    lines += _comment(f"Converted by `course-assets migrate` from {origin}. Check the layout, "
                      "then edit it like any other figure.")
    for note in graph.notes:
        lines += _comment(f"Note: {note}")
    lines += ["", f"from diagrams import {', '.join(imports)}", ""]
    # Clusters take the course's look too when its style has `cluster_attr`.
    cluster_helper = style is not None and cluster_style and bool(graph.clusters)
    if style is not None:
        helpers = "cluster_attr, " if cluster_helper else ""
        lines[-1:] = ["", f"from {style} import {helpers}edge_attr, graph_attr, node_attr", ""]

    diagram_args = [_str(title), "show=False", f"direction={_str(graph.direction)}"]
    if graph.strict:
        diagram_args.append("strict=True")
    node_defaults = _merge(_without_colours(graph.node_defaults), shared_node)
    edge_defaults = _merge(_without_colours(graph.edge_defaults), shared_edge)
    for keyword_name, attrs in (("graph_attr", graph.graph_attrs), ("node_attr", node_defaults),
                                ("edge_attr", edge_defaults)):
        value = (_style_call(keyword_name, attrs) if style is not None
                 else _dict(attrs, _INDENT))
        diagram_args.append(f"{keyword_name}={value}")
    lines.append("with " + _call("Diagram", diagram_args, "") + ":")

    node_index = {node.id: index for index, node in enumerate(graph.nodes)}
    body: list[str] = []
    _emit_members(None, graph, names, node_attrs, node_index, _INDENT, body,
                  cluster_helper=cluster_helper)
    lines += body
    if graph.edges:
        lines.append("")
        for index, edge in enumerate(graph.edges):
            lines.append(_INDENT + _edge_line(edge, edge_attrs[index], names))
    return "\n".join(lines) + "\n"


# -- structure -------------------------------------------------------------------------------------

def _emit_members(cluster_id: str | None, graph: Graph, names: dict[str, str],
                  node_attrs: list[tuple[tuple[str, str], ...]], node_index: dict[str, int],
                  indent: str, out: list[str], depth: int = 0, *,
                  cluster_helper: bool = False) -> None:
    """Emit the nodes and clusters directly inside `cluster_id`, in order of appearance."""
    members: list[tuple[int, GraphNode | GraphCluster]] = []
    for node in graph.nodes:
        if node.cluster == cluster_id:
            members.append((node_index[node.id], node))
    for cluster in graph.clusters:
        if cluster.parent == cluster_id:
            members.append((_first_position(cluster, graph, node_index), cluster))
    members.sort(key=lambda member: member[0])
    labels = [cluster.label for cluster in graph.clusters]
    for _, member in members:
        if isinstance(member, GraphNode):
            attrs = node_attrs[node_index[member.id]]
            args = [_str(member.label)] + [f"{name}={_str(value)}" for name, value in attrs]
            out.append(f"{indent}{names[member.id]} = " + _call(
                "Node", args, indent, prefix_len=len(names[member.id]) + 3))
        else:
            args = [_str(member.label)]
            graph_attr = dict(member.attrs)
            # Cluster names its subgraph "cluster_" + label: a repeated or empty label needs
            # a distinct name, with the label shown set apart.
            if not member.label or labels.count(member.label) > 1:
                args = [_str(_cluster_name(member.id))]
                graph_attr = {"label": member.label, **graph_attr}
            if cluster_helper:
                args.append("graph_attr=" + _style_call("cluster_attr",
                                                        tuple(graph_attr.items())))
            elif graph_attr:
                args.append(f"graph_attr={_dict(tuple(graph_attr.items()), indent + _INDENT)}")
            if depth < MAX_NESTED_WITH:
                out.append(f"{indent}with " + _call("Cluster", args, indent, prefix_len=5) + ":")
                _emit_members(member.id, graph, names, node_attrs, node_index, indent + _INDENT,
                              out, depth + 1, cluster_helper=cluster_helper)
                continue
            # Python compiles at most 20 nested blocks: deeper groups open and close by hand.
            if depth == MAX_NESTED_WITH:
                out.append(f"{indent}# Too deep for `with`: entered and left by hand.")
            group = f"_group_{len(out)}"
            out.append(f"{indent}{group} = " + _call("Cluster", args, indent,
                                                     prefix_len=len(group) + 3))
            out.append(f"{indent}{group}.__enter__()")
            _emit_members(member.id, graph, names, node_attrs, node_index, indent, out,
                          depth + 1, cluster_helper=cluster_helper)
            out.append(f"{indent}{group}.__exit__(None, None, None)")


def _first_position(cluster: GraphCluster, graph: Graph, node_index: dict[str, int]) -> int:
    positions = [node_index[node.id] for node in graph.nodes if node.cluster == cluster.id]
    positions += [_first_position(child, graph, node_index)
                  for child in graph.clusters if child.parent == cluster.id]
    return min(positions, default=len(graph.nodes))


def _cluster_name(cluster_id: str) -> str:
    ascii_id = ascii_words(cluster_id)
    return ascii_id or "group"


def _edge_kwargs(edge: GraphEdge, attrs: tuple[tuple[str, str], ...]) -> list[str]:
    kwargs = []
    if edge.label:
        kwargs.append(f"label={_str(edge.label)}")
    kwargs += [f"{name}={_str(value)}" for name, value in attrs]
    return kwargs


def _edge_line(edge: GraphEdge, attrs: tuple[tuple[str, str], ...], names: dict[str, str]) -> str:
    tail, head = names[edge.tail], names[edge.head]
    kwargs = _edge_kwargs(edge, attrs)
    if edge.arrow == "both":
        # `>>` marks the head; reverse=True adds the tail arrowhead as well.
        kwargs.append("reverse=True")
    operator = {"forward": ">>", "both": ">>", "back": "<<", "none": "-"}[edge.arrow]
    if not kwargs:
        return f"{tail} {operator} {head}"
    edge_call = _call("Edge", kwargs, _INDENT, prefix_len=len(tail) + len(operator) + 2)
    return f"{tail} {operator} {edge_call} {operator} {head}"


def _factor(items: Iterable[_Item], get_attrs: Callable[[_Item], Attrs],
            allowed: frozenset[str] | None) -> tuple[list[Attrs], Attrs]:
    """Move attributes that every item sets to the same value up to the diagram defaults."""
    all_attrs = [tuple(get_attrs(item)) for item in items]
    if len(all_attrs) < 2:
        return all_attrs, ()
    shared = []
    for name, value in all_attrs[0]:
        if allowed is not None and name not in allowed:
            continue
        if all(dict(attrs).get(name) == value for attrs in all_attrs):
            shared.append((name, value))
    shared_names = {name for name, _ in shared}
    rest = [tuple((n, v) for n, v in attrs if n not in shared_names) for attrs in all_attrs]
    return rest, tuple(shared)


def _without_colours(defaults: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    # The converter's own defaults set no colour: the course style or the theme picks it.
    return tuple((name, value) for name, value in defaults if name not in _COLOURS)


def _style_call(helper: str, attrs: tuple[tuple[str, str], ...]) -> str:
    if all(name.isidentifier() and not keyword.iskeyword(name) for name, _ in attrs):
        return _call(helper, [f"{name}={_str(value)}" for name, value in attrs], _INDENT,
                     prefix_len=len(helper) + 1)
    return f"{helper}(**{_dict(attrs, _INDENT)})"


def _merge(defaults: tuple[tuple[str, str], ...], extra: tuple[tuple[str, str], ...]
           ) -> tuple[tuple[str, str], ...]:
    merged = dict(defaults)
    merged.update(extra)
    return tuple(merged.items())


def _variable_names(nodes: Iterable[GraphNode]) -> dict[str, str]:
    """Give every node a distinct, readable Python variable name derived from its id."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for node in nodes:
        base = ascii_words(node.id) or "node"
        if base[0].isdigit():
            base = "n" + base
        if keyword.iskeyword(base) or keyword.issoftkeyword(base) or base in _RESERVED:
            base += "_"
        name, counter = base, 2
        while name in used:
            name = f"{base}_{counter}"
            counter += 1
        used.add(name)
        names[node.id] = name
    return names


def ascii_words(text: str) -> str:
    """Return `text` as lower-case ASCII words joined by underscores (camelCase split)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    ascii_text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", ascii_text)
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")


# -- Python source text ----------------------------------------------------------------------------

def _str(value: str) -> str:
    """Return a Python string literal for `value`, in double quotes where that stays simple."""
    literal = repr(value)
    if literal.startswith("'") and '"' not in value and "'" not in value:
        literal = '"' + literal[1:-1] + '"'
    return literal


def _dict(items: tuple[tuple[str, str], ...], indent: str) -> str:
    entries = [f"{_str(name)}: {_str(value)}" for name, value in items]
    one_line = "{" + ", ".join(entries) + "}"
    if len(indent) + len(one_line) + 16 <= LINE_LIMIT:
        return one_line
    inner = indent + _INDENT
    return "{\n" + "".join(f"{inner}{entry},\n" for entry in entries) + indent + "}"


def _call(function: str, args: list[str], indent: str, prefix_len: int = 0) -> str:
    one_line = f"{function}({', '.join(args)})"
    if "\n" not in one_line and len(indent) + prefix_len + len(one_line) <= LINE_LIMIT:
        return one_line
    inner = indent + _INDENT
    return function + "(\n" + "".join(f"{inner}{arg},\n" for arg in args) + indent + ")"


def _docstring(description: str) -> str:
    text = _escape_unprintable(" ".join(description.split()).replace("\\", "\\\\"))
    # Only a run of three quotes could end the docstring (the closing quotes are on their own
    # line); escape each quote of such a run.
    text = re.sub(r'"{3,}', lambda match: '\\"' * len(match.group()), text)
    wrapped = textwrap.wrap(text, width=LINE_LIMIT - 4, break_long_words=False,
                            break_on_hyphens=False)
    return '"""' + TODO_MARKER + "\n\n" + "\n".join(wrapped) + '\n"""'


def _comment(text: str) -> list[str]:
    flat = _escape_unprintable(" ".join(text.split()))
    return ["# " + line for line in textwrap.wrap(flat, width=LINE_LIMIT - 2,
                                                   break_long_words=False)]


def _escape_unprintable(text: str) -> str:
    """Write control characters as escapes: Python source cannot hold some of them raw."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
