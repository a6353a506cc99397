"""The Mermaid flowchart parser: each construct maps to the right graph, the rest is refused."""

from __future__ import annotations

import pytest

from course_assets.migrate.parse_mermaid import parse_mermaid
from course_assets.migrate.model import Graph, Unsupported


def nodes(graph: Graph) -> dict[str, tuple[str, dict[str, str], str | None]]:
    return {node.id: (node.label, dict(node.attrs), node.cluster) for node in graph.nodes}


def edges(graph: Graph) -> list[tuple[str, str, str, str, dict[str, str]]]:
    return [(e.tail, e.head, e.label, e.arrow, dict(e.attrs)) for e in graph.edges]


@pytest.mark.parametrize("header, direction", [
    ("graph TB", "TB"), ("graph TD", "TB"), ("graph BT", "BT"), ("graph LR", "LR"),
    ("graph RL", "RL"), ("flowchart TD", "TB"), ("flowchart LR", "LR"), ("graph", "TB"),
    ("flowchart RL;", "RL"), ("graph >", "LR"),
])
def test_directions(header: str, direction: str) -> None:
    assert parse_mermaid(f"{header}\n  A --> B\n").direction == direction


def test_shapes_map_to_graphviz_shapes() -> None:
    graph = parse_mermaid("""flowchart LR
        A[Rect] --> B(Round) --> C((Circle)) --> D{Diamond} --> E[(Cylinder)]
        F([Stadium]) --> G{{Hexagon}} --> H(((Double)))
    """)
    found = nodes(graph)
    assert found["A"] == ("Rect", {}, None)
    assert found["B"] == ("Round", {"style": "rounded"}, None)
    assert found["C"] == ("Circle", {"shape": "circle"}, None)
    assert found["D"] == ("Diamond", {"shape": "diamond"}, None)
    assert found["E"] == ("Cylinder", {"shape": "cylinder"}, None)
    assert found["F"][1] == {"style": "rounded"}
    assert found["G"][1] == {"shape": "hexagon"}
    assert found["H"][1] == {"shape": "doublecircle"}
    assert any("Stadium" in note for note in graph.notes)


def test_a_node_without_text_is_labelled_with_its_id() -> None:
    assert nodes(parse_mermaid("graph LR\n  alpha --> beta\n"))["alpha"][0] == "alpha"


@pytest.mark.parametrize("link, arrow, attrs", [
    ("-->", "forward", {}),
    ("---", "none", {}),
    ("-.->", "forward", {"style": "dashed"}),
    ("-.-", "none", {"style": "dashed"}),
    ("==>", "forward", {"penwidth": "3"}),
    ("===", "none", {"penwidth": "3"}),
    ("<-->", "both", {}),
    ("~~~", "none", {"style": "invis"}),
    ("--->", "forward", {"minlen": "2"}),
    ("-..->", "forward", {"style": "dashed", "minlen": "2"}),
])
def test_link_kinds(link: str, arrow: str, attrs: dict[str, str]) -> None:
    graph = parse_mermaid(f"graph LR\n  A {link} B\n")
    assert edges(graph) == [("A", "B", "", arrow, attrs)]


@pytest.mark.parametrize("statement, label, arrow, attrs", [
    ("A -->|yes| B", "yes", "forward", {}),
    ("A -->|\"quoted | text\"| B", "quoted | text", "forward", {}),
    ("A -- yes --> B", "yes", "forward", {}),
    ("A --yes-->B", "yes", "forward", {}),
    ("A -- \"a -- b\" --> B", "a -- b", "forward", {}),
    ("A ---|text| B", "text", "none", {}),
    ("A -- text --- B", "text", "none", {}),
    ("A -.->|maybe| B", "maybe", "forward", {"style": "dashed"}),
    ("A -. maybe .-> B", "maybe", "forward", {"style": "dashed"}),
    ("A == sure ==> B", "sure", "forward", {"penwidth": "3"}),
    ("A ==>|sure| B", "sure", "forward", {"penwidth": "3"}),
])
def test_link_labels(statement: str, label: str, arrow: str, attrs: dict[str, str]) -> None:
    assert edges(parse_mermaid(f"flowchart TD\n  {statement}\n")) == [("A", "B", label, arrow,
                                                                       attrs)]


def test_chains_and_ampersands_expand_in_mermaid_order() -> None:
    graph = parse_mermaid("graph TD\n  A & B --> C & D --> E\n")
    assert [(e.tail, e.head) for e in graph.edges] == [
        ("A", "C"), ("A", "D"), ("B", "C"), ("B", "D"), ("C", "E"), ("D", "E")]


def test_chain_with_labels() -> None:
    graph = parse_mermaid("graph LR\n  A[a] -->|one| B[b] -- two --> C[c] --> D\n")
    assert [(e.tail, e.head, e.label) for e in graph.edges] == [
        ("A", "B", "one"), ("B", "C", "two"), ("C", "D", "")]


def test_semicolons_separate_statements_but_not_inside_text() -> None:
    graph = parse_mermaid('graph LR; A["x; y"]-->B; B-->C;')
    assert nodes(graph)["A"][0] == "x; y"
    assert len(graph.edges) == 2


def test_subgraphs_and_membership() -> None:
    graph = parse_mermaid("""flowchart TB
        c1 --> a2
        subgraph one [First]
            a1 --> a2
        end
        subgraph two
            subgraph inner ["Inner part"]
                b1
            end
            b1 --> b2
        end
    """)
    assert [(c.id, c.label, c.parent) for c in graph.clusters] == [
        ("one", "First", None), ("two", "two", None), ("inner", "Inner part", "two")]
    found = nodes(graph)
    assert found["c1"][2] is None
    assert found["a2"][2] == "one"  # mentioned first outside, then inside: it is inside
    assert found["b1"][2] == "inner"  # the deepest subgraph that mentions it
    assert found["b2"][2] == "two"


def test_style_statements_set_fill_stroke_width_text_and_dashes() -> None:
    graph = parse_mermaid("""graph LR
        A --> B
        style A fill:#f9f,stroke:#333,stroke-width:4px
        style B fill:#bbf,stroke:#f66,stroke-width:2px,color:#fff,stroke-dasharray: 5 5
    """)
    found = nodes(graph)
    # A kept fill without a text colour gets the one that reads on it in both themes.
    assert found["A"][1] == {"style": "filled", "fillcolor": "#ff99ff", "color": "#333333",
                             "penwidth": "4", "fontcolor": "#000000"}
    assert found["B"][1] == {"style": "filled,dashed", "fillcolor": "#bbbbff",
                             "color": "#ff6666", "penwidth": "2", "fontcolor": "#ffffff"}


def test_class_definitions_apply_in_order_and_style_wins() -> None:
    graph = parse_mermaid("""flowchart TD
        classDef default fill:#eee;
        classDef hot fill:#f00,stroke:#900;
        classDef round stroke:#00f
        A:::hot --> B --> C((C))
        class B,C hot
        class C round
        style C fill:#0f0
    """)
    found = nodes(graph)
    assert found["A"][1] == {"style": "filled", "fillcolor": "#ff0000", "color": "#990000",
                             "fontcolor": "#000000"}
    assert found["B"][1] == found["A"][1]
    assert found["C"][1] == {"shape": "circle", "style": "filled", "fillcolor": "#00ff00",
                             "color": "#0000ff", "fontcolor": "#000000"}


def test_link_styles_by_index_and_default() -> None:
    graph = parse_mermaid("""graph LR
        A --> B --> C
        C -->|label| D
        linkStyle default stroke:#888
        linkStyle 0,2 stroke:#2ecd71,stroke-width:2px,color:red,fill:none;
    """)
    assert [dict(e.attrs) for e in graph.edges] == [
        {"color": "#2ecd71", "penwidth": "2", "fontcolor": "red"},
        {"color": "#888888"},
        {"color": "#2ecd71", "penwidth": "2", "fontcolor": "red"},
    ]


def test_subgraph_styles() -> None:
    graph = parse_mermaid("""graph TB
        subgraph s1 [One]
          A
        end
        style s1 fill:#eef,stroke:#336,stroke-width:2px,color:#111,stroke-dasharray:3
    """)
    assert dict(graph.clusters[0].attrs) == {"bgcolor": "#eeeeff", "pencolor": "#333366",
                                             "penwidth": "2", "fontcolor": "#111111",
                                             "style": "rounded,dashed"}


@pytest.mark.parametrize("css, graphviz", [
    ("#abc", "#aabbcc"), ("#AABBCC", "#aabbcc"), ("#aabbcc80", "#aabbcc80"),
    ("rgb(255, 200, 0)", "#ffc800"), ("rgba(0,0,0,0.5)", "#00000080"), ("green", "#008000"),
    ("grey", "#808080"), ("lightblue", "lightblue"), ("rgb(100%, 0%, 0%)", "#ff0000"),
])
def test_css_colours_become_graphviz_colours(css: str, graphviz: str) -> None:
    graph = parse_mermaid(f"graph LR\n  A --> B\n  style A fill:{css}\n")
    assert dict(graph.nodes[0].attrs)["fillcolor"] == graphviz


def test_text_markup_entities_and_line_breaks() -> None:
    graph = parse_mermaid('graph LR\n  A["Say #quot;hi#quot; #amp; #35;1"] --> '
                          'B[one<br>two<br/>three]\n  B --> C["back\\\\slash"]\n')
    found = nodes(graph)
    assert found["A"][0] == 'Say "hi" & #1'
    assert found["B"][0] == "one\ntwo\nthree"
    # A backslash shown as is: doubled, since Graphviz reads backslash escapes.
    assert found["C"][0] == "back\\\\\\\\slash"


def test_front_matter_title_and_accessibility_statements() -> None:
    graph = parse_mermaid("---\ntitle: Pipeline\n---\nflowchart LR\n  accDescr: From A to B\n"
                          "  A --> B\n")
    assert (graph.title, graph.description) == ("Pipeline", "From A to B")


def test_init_directives_and_comments_are_ignored() -> None:
    graph = parse_mermaid('%%{init: {"theme": "dark"}}%%\ngraph LR\n%% note\n  A --> B\n')
    assert len(graph.edges) == 1


@pytest.mark.parametrize("source, reason", [
    ("sequenceDiagram\n  Alice->>Bob: hi\n", "sequence"),
    ("gantt\n  title Plan\n", "Gantt"),
    ("classDiagram\n  A <|-- B\n", "class"),
    ("pie\n  \"a\": 1\n", "pie"),
    ("stateDiagram-v2\n  [*] --> A\n", "state"),
    ("hello world\n", "not a Mermaid flowchart"),
    ("graph LR\n  A --o B\n", "circle and cross"),
    ("graph LR\n  A --x B\n", "circle and cross"),
    ("graph LR\n  A[[Sub]] --> B\n", "subroutine"),
    ("graph LR\n  A>Flag] --> B\n", "asymmetric"),
    ("graph LR\n  A --> B\n  click A callback\n", "click"),
    ("graph LR\n  subgraph S\n    A\n  end\n  B --> S\n", "subgraph"),
    ("graph LR\n  subgraph S\n    A\n", "never closed"),
    ("graph LR\n  subgraph S\n  end\n  A --> B\n", "empty"),
    ("graph LR\n  A[one] --> B\n  A[two]\n", "defined twice"),
    ("graph LR\n  subgraph S\n    A\n  end\n  subgraph T\n    A\n  end\n", "separate subgraphs"),
    ("graph LR\n  A --> B\n  linkStyle 3 stroke:red\n", "does not exist"),
    ("graph LR\n  A[\"`**bold**`\"] --> B\n", "Markdown"),
    ("graph LR\n  A[<b>bold</b>] --> B\n", "HTML"),
    ("graph LR\n  A[fa:fa-car Car] --> B\n", "Font Awesome"),
    ("graph LR\n  A --> B\n  style A fill:hsl(0, 50%, 50%)\n", "colour"),
    ("graph LR\n  A --> B\n  style A stroke-width:2em\n", "width"),
    ("graph LR\n  A@{ shape: rect } --> B\n", "@{"),
    ("graph LR\n  A -->\n", "expected a node"),
    ("graph LR\n  A B\n", "expected a link"),
    ("", "empty"),
])
def test_what_it_cannot_be_sure_of_is_refused(source: str, reason: str) -> None:
    with pytest.raises(Unsupported, match=reason):
        parse_mermaid(source)


def test_dropped_styles_are_noted_not_silently_lost() -> None:
    graph = parse_mermaid("graph LR\n  A --> B\n  style A font-weight:bold\n")
    assert any("font-weight" in note for note in graph.notes)
