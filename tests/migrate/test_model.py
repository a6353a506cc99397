"""The cluster rules both converters share: where a node belongs, and which clusters are empty."""

from __future__ import annotations

import pytest

from course_assets.migrate.model import (
    GraphCluster, GraphNode, Unsupported, innermost_cluster, refuse_empty_clusters,
)
from course_assets.migrate.parse_dot import parse_dot
from course_assets.migrate.parse_mermaid import parse_mermaid

PARENTS = {"outer": None, "inner": "outer", "deepest": "inner", "aside": None}


def test_a_node_belongs_to_the_deepest_of_nested_clusters_that_mention_it() -> None:
    assert innermost_cluster("a", ["outer", "deepest", "inner"], PARENTS, "clusters") == "deepest"
    assert innermost_cluster("a", ["inner"], PARENTS, "clusters") == "inner"
    assert innermost_cluster("a", [], PARENTS, "clusters") is None


def test_a_node_mentioned_in_unrelated_clusters_has_no_clear_place() -> None:
    with pytest.raises(Unsupported, match=r"node 'a' is in separate subgraphs 'inner', 'aside'"):
        innermost_cluster("a", ["inner", "aside"], PARENTS, "subgraphs")


def test_a_cluster_holding_only_a_cluster_with_nodes_is_not_empty() -> None:
    clusters = [GraphCluster(name, name, parent) for name, parent in PARENTS.items()
                if name != "aside"]
    refuse_empty_clusters([GraphNode("a", "a", cluster="deepest")], clusters, "cluster")
    with pytest.raises(Unsupported, match=r"subgraph 'deepest' is empty"):
        refuse_empty_clusters([GraphNode("a", "a", cluster="inner")], clusters, "subgraph")


@pytest.mark.parametrize("source", [
    "digraph { subgraph cluster_a { subgraph cluster_b { } } x }",
    "graph LR\n  subgraph A\n    subgraph B\n    end\n  end\n  x --> y\n",
])
def test_both_converters_refuse_an_empty_cluster(source: str) -> None:
    parse = parse_dot if source.startswith("digraph") else parse_mermaid
    with pytest.raises(Unsupported, match="is empty; Graphviz does not draw empty clusters"):
        parse(source)


def test_both_converters_place_a_node_mentioned_again_in_a_nested_cluster() -> None:
    dot = parse_dot("digraph { subgraph cluster_a { x; subgraph cluster_b { x } } }")
    mermaid = parse_mermaid("graph LR\n  subgraph A\n    x\n    subgraph B\n      x\n    end\n"
                            "  end\n")
    assert [node.cluster for node in dot.nodes] == ["cluster_b"]
    assert [node.cluster for node in mermaid.nodes] == ["B"]
