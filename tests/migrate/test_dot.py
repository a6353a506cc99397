"""The DOT parser: the common subset maps to the graph model, the rest is refused."""

from __future__ import annotations

import pytest

from course_assets.migrate.parse_dot import parse_dot
from course_assets.migrate.model import Unsupported, display_lines


def test_digraph_nodes_edges_and_attributes() -> None:
    graph = parse_dot("""
        digraph G {
            rankdir = LR
            a [label="Start", shape=box];
            a -> b [label="go", color=red];
        }
    """)
    assert graph.direction == "LR"
    assert [(n.id, n.label, dict(n.attrs)) for n in graph.nodes] == [
        ("a", "Start", {"shape": "box"}), ("b", "\\N".replace("\\N", "b"), {})]
    assert [(e.tail, e.head, e.label, e.arrow, dict(e.attrs)) for e in graph.edges] == [
        ("a", "b", "go", "forward", {"color": "red"})]


def test_undirected_graphs_have_no_arrowheads() -> None:
    graph = parse_dot("graph { a -- b -- c }")
    assert [(e.tail, e.head, e.arrow) for e in graph.edges] == [("a", "b", "none"),
                                                                ("b", "c", "none")]


def test_defaults_apply_to_nodes_and_edges_made_after_them() -> None:
    graph = parse_dot("""digraph {
        node [shape=box]; edge [color=blue];
        a -> b;
        node [shape=circle]; edge [color=green];
        b -> c;
        subgraph { node [shape=diamond]; d }
        e
    }""")
    shapes = {n.id: dict(n.attrs)["shape"] for n in graph.nodes}
    assert shapes == {"a": "box", "b": "box", "c": "circle", "d": "diamond", "e": "circle"}
    assert [dict(e.attrs)["color"] for e in graph.edges] == ["blue", "green"]


def test_groups_as_edge_ends_expand() -> None:
    graph = parse_dot("digraph { s -> {a b}; {a b} -> t; subgraph x { c } -> t }")
    assert [(e.tail, e.head) for e in graph.edges] == [
        ("s", "a"), ("s", "b"), ("a", "t"), ("b", "t"), ("c", "t")]


def test_clusters_nest_and_keep_their_attributes() -> None:
    graph = parse_dot("""digraph {
        subgraph cluster_outer {
            label="Outer"; color=blue
            subgraph cluster_inner { graph [label="Inner", bgcolor="#eeeeee"]; a }
            b
        }
        a -> b -> c
    }""")
    assert [(c.id, c.label, c.parent, dict(c.attrs)) for c in graph.clusters] == [
        ("cluster_outer", "Outer", None, {"color": "blue", "pencolor": "blue"}),
        ("cluster_inner", "Inner", "cluster_outer", {"bgcolor": "#eeeeee"}),
    ]
    assert {n.id: n.cluster for n in graph.nodes} == {
        "a": "cluster_inner", "b": "cluster_outer", "c": None}


def test_strings_escapes_and_concatenation() -> None:
    graph = parse_dot(r'''digraph "My graph" {
        "two\nlines" -> "x" + "y";
        "quote \"q\"";
        "long \
line"
    }''')
    labels = [display_lines(n.label) for n in graph.nodes]
    assert labels == [["two", "lines"], ["xy"], ['quote "q"'], ["long line"]]


def test_graph_label_becomes_the_title_and_dir_the_arrow() -> None:
    graph = parse_dot('digraph { label="A\\nTitle"; a -> b [dir=both]; b -> c [dir=back]; '
                      'c -> d [dir=none] }')
    assert graph.title == "A Title"
    assert [e.arrow for e in graph.edges] == ["both", "back", "none"]


def test_strict_and_comments() -> None:
    graph = parse_dot("/* c */ strict digraph { // line\n# cpp line\n a -> b }")
    assert graph.strict and len(graph.edges) == 1


def test_links_are_dropped_with_a_note() -> None:
    graph = parse_dot('digraph { a [URL="https://example.com", tooltip="t"]; a -> b }')
    assert dict(graph.nodes[0].attrs) == {"tooltip": "t"}
    assert any("URL" in note for note in graph.notes)


@pytest.mark.parametrize("source, reason", [
    ("digraph { a -> b [label=<<b>x</b>>] }", "HTML"),
    ("digraph { a:n -> b }", "ports"),
    ("digraph { {rank=same; a; b} }", "rank"),
    ('digraph { a [image="logo.png"] }', "external image"),
    ("digraph { a -- b }", "'--' in a digraph"),
    ("graph { a -> b }", "'->' in a graph"),
    ("digraph { a -> b", "ends"),
    ("digraph { a } digraph { b }", "only one graph"),
    ("flowchart LR\n A --> B", "not a DOT graph"),
    ('digraph { a [label="\\E"] }', "escape"),
    ("digraph { subgraph cluster_x { } a }", "empty"),
    ("digraph { subgraph cluster_a { x } subgraph cluster_b { x } }", "separate clusters"),
    ('digraph { a -> b [lhead="cluster_x"] }', "lhead"),
    ("digraph { }", "no nodes"),
    ('digraph { a [label="<x>"] }', "HTML label"),
])
def test_what_it_cannot_be_sure_of_is_refused(source: str, reason: str) -> None:
    with pytest.raises(Unsupported, match=reason):
        parse_dot(source)
