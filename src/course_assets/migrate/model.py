"""A small graph model that both source parsers produce and the code generator consumes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Direction = Literal["TB", "BT", "LR", "RL"]
Arrow = Literal["forward", "back", "both", "none"]
# Graphviz attributes as ordered (name, value) pairs: ordered so generated code is deterministic,
# pairs (not a dict) so the dataclasses stay frozen and hashable.
Attrs = tuple[tuple[str, str], ...]


class Unsupported(Exception):
    """The source uses something the converter cannot reproduce faithfully."""


@dataclass(frozen=True)
class GraphNode:
    """One box of the figure.

    `label` is a Graphviz escString: it may hold real newlines and DOT escapes such as `\\n`.
    """

    id: str
    label: str
    attrs: Attrs = ()
    cluster: str | None = None


@dataclass(frozen=True)
class GraphEdge:
    """One connection from `tail` to `head`; `arrow` says which ends carry an arrowhead."""

    tail: str
    head: str
    label: str = ""
    arrow: Arrow = "forward"
    attrs: Attrs = ()


@dataclass(frozen=True)
class GraphCluster:
    """A labelled group of nodes, nested in `parent` when that is set."""

    id: str
    label: str
    parent: str | None = None
    attrs: Attrs = ()


@dataclass(frozen=True)
class Graph:
    """A whole figure: what a diagrams script needs to draw it again."""

    language: str
    direction: Direction
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    clusters: tuple[GraphCluster, ...] = ()
    graph_attrs: Attrs = ()
    node_defaults: Attrs = ()
    edge_defaults: Attrs = ()
    strict: bool = False
    title: str | None = None
    description: str | None = None
    notes: tuple[str, ...] = ()

    def labels(self) -> list[str]:
        """Return the node labels as displayed, in declaration order."""
        return [display_text(node.label) for node in self.nodes]


def innermost_cluster(node_id: str, mentions: Sequence[str],
                      parents: Mapping[str, str | None], what: str) -> str | None:
    """Return the cluster a node belongs to, given the clusters whose source mentions it.

    It is the deepest of them, if they all nest inside each other; mentions in two unrelated
    clusters leave its place unclear, so that is `Unsupported`. `what` names the clusters as the
    source language does ("clusters", "subgraphs").
    """
    if not mentions:
        return None
    chains = {cluster: _enclosing(cluster, parents) for cluster in mentions}
    deepest = max(mentions, key=lambda cluster: len(chains[cluster]))
    if not all(cluster in chains[deepest] for cluster in mentions):
        raise Unsupported(f"node {node_id!r} is in separate {what} "
                          f"{', '.join(map(repr, mentions))}")
    return deepest


def _enclosing(cluster: str, parents: Mapping[str, str | None]) -> list[str]:
    """Return `cluster` and every cluster around it, innermost first."""
    chain = []
    current: str | None = cluster
    while current is not None:
        chain.append(current)
        current = parents[current]
    return chain


def refuse_empty_clusters(nodes: Iterable[GraphNode], clusters: Sequence[GraphCluster],
                          what: str) -> None:
    """Raise `Unsupported` for the first cluster that holds no node, even through nested ones."""
    parents = {cluster.id: cluster.parent for cluster in clusters}
    held: set[str] = set()
    for node in nodes:
        current = node.cluster
        while current is not None and current not in held:
            held.add(current)
            current = parents[current]
    for cluster in clusters:
        if cluster.id not in held:
            raise Unsupported(f"{what} {cluster.id!r} is empty; Graphviz does not draw empty "
                              "clusters")


def display_text(label: str) -> str:
    """Return what Graphviz shows for escString `label`, on one line."""
    return " ".join(display_lines(label))


def display_lines(label: str) -> list[str]:
    """Return the lines Graphviz draws for escString `label`, blank lines dropped."""
    lines: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(label):
        char = label[i]
        if char == "\\" and i + 1 < len(label):
            nxt = label[i + 1]
            if nxt in "nlr":
                lines.append("".join(current))
                current = []
            else:
                current.append(nxt)
            i += 2
            continue
        if char == "\n":
            lines.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    lines.append("".join(current))
    return [" ".join(line.split()) for line in lines if line.strip()]
