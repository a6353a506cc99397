"""Generated figure scripts: valid, readable, deterministic Python that keeps every label."""

from __future__ import annotations

import ast
import keyword
import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st
from migrate.migratetools import SVG

from course_assets.render.capture import capture_script
from course_assets.render.graphviz import draw
from course_assets.render.isolate import run_isolated
from course_assets.migrate.codegen import (
    TODO_MARKER,
    _str,
    _variable_names,
    describe,
    generate_script,
)
from course_assets.migrate.parse_dot import parse_dot
from course_assets.migrate.parse_mermaid import parse_mermaid
from course_assets.migrate.model import Graph, GraphEdge, GraphNode, Unsupported, display_lines

SEED = """graph TB
  B[MLOps]
  B --> F[Collaboration]
  B --> G[Automation]
  B --> H[Model Performance]
  linkStyle 0 stroke:#2ecd71,stroke-width:2px;
  linkStyle 1 stroke:#2ecd71,stroke-width:2px;
  linkStyle 2 stroke:#2ecd71,stroke-width:2px;
"""


def render_svg(source: str) -> bytes:
    """Draw `source` as the build does: in a throwaway child, with the bundled Graphviz."""
    drawing, _ = run_isolated(lambda: draw(source), 60)
    return drawing.svg


def script_for(graph: Graph, title: str = "Figure", description: str = "A figure.") -> str:
    return generate_script(graph, title=title, description=description, origin="a test")


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_string_literals_round_trip(value: str) -> None:
    assert ast.literal_eval(_str(value)) == value


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_docstring_holds_the_marker_and_the_description(description: str) -> None:
    graph = parse_mermaid("graph LR\n  A --> B\n")
    tree = ast.parse(script_for(graph, description=description))
    docstring = ast.get_docstring(tree) or ""
    assert " ".join(docstring.split()) == " ".join(f"{TODO_MARKER} {description}".split())


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=12, unique=True))
def test_variable_names_are_distinct_identifiers(ids: list[str]) -> None:
    names = _variable_names([GraphNode(node_id, "x") for node_id in ids])
    values = list(names.values())
    assert len(set(values)) == len(values)
    for name in values:
        assert name.isidentifier() and name.isascii()
        assert not keyword.iskeyword(name) and name not in ("Node", "Edge", "Diagram", "list")


def test_the_seed_figure_reads_like_a_hand_written_script() -> None:
    text = script_for(parse_mermaid(SEED), title="MLOps",
                      description=describe(parse_mermaid(SEED)))
    tree = ast.parse(text)
    assert ast.get_docstring(tree).startswith(TODO_MARKER)
    assert "A flowchart of MLOps, Collaboration, Automation and Model Performance." in text
    assert "from diagrams import Diagram, Node\n" in text
    withs = [node for node in ast.walk(tree) if isinstance(node, ast.With)]
    assert len(withs) == 1
    call = withs[0].items[0].context_expr
    assert isinstance(call, ast.Call) and call.func.id == "Diagram"
    keywords = {kw.arg: kw.value for kw in call.keywords}
    assert ast.literal_eval(call.args[0]) == "MLOps"
    assert ast.literal_eval(keywords["show"]) is False
    assert ast.literal_eval(keywords["direction"]) == "TB"
    assert ast.literal_eval(keywords["edge_attr"]) == {"color": "#2ecd71", "penwidth": "2"}
    node_attr = ast.literal_eval(keywords["node_attr"])
    assert node_attr["fixedsize"] == "false" and node_attr["labelloc"] == "c"
    assert 'b = Node("MLOps")' in text
    assert "    b >> f\n    b >> g\n    b >> h\n" in text
    assert max(len(line) for line in text.splitlines()) <= 100


def test_generation_is_deterministic() -> None:
    source = "flowchart LR\n  subgraph s [S]\n    A --> B\n  end\n  B -.->|x| C{C}\n"
    first = script_for(parse_mermaid(source))
    assert all(script_for(parse_mermaid(source)) == first for _ in range(3))


def test_edges_use_the_operators_of_their_arrows() -> None:
    graph = Graph("graphviz", "LR", (GraphNode("a", "a"), GraphNode("b", "b")), (
        GraphEdge("a", "b", arrow="forward"), GraphEdge("a", "b", arrow="none"),
        GraphEdge("a", "b", arrow="back"), GraphEdge("a", "b", arrow="both"),
        GraphEdge("a", "b", "l", "none", (("color", "red"),)),
    ))
    body = script_for(graph).split("\n\n")[-1]
    assert body.splitlines() == [
        "    a >> b", "    a - b", "    a << b", "    a >> Edge(reverse=True) >> b",
        '    a - Edge(label="l", color="red") - b']


def test_clusters_with_the_same_or_no_label_stay_apart() -> None:
    graph = parse_dot("digraph { subgraph cluster_a { label=Same; x } "
                      "subgraph cluster_b { label=Same; y } subgraph cluster_c { z } }")
    text = script_for(graph)
    assert 'Cluster("cluster_a", graph_attr={"label": "Same"})' in text
    assert 'Cluster("cluster_c", graph_attr={"label": ""})' in text


def test_awkward_labels_survive_to_the_svg(tmp_path) -> None:
    labels = ['say "hi"', "it's", 'both \' and "', "back\\slash", "trailing\\", '"""triple"""',
              "Ünïcödé ✓", "if", "graph", "{braces}", "x > y & z"]
    source = "flowchart LR\n" + "\n".join(
        f'  n{index}["{label.replace(chr(34), "#quot;")}"]' for index, label in enumerate(labels)
    ) + "\n  n0 --> n1\n"
    graph = parse_mermaid(source)
    script = tmp_path / "diagrams" / "awkward.py"
    script.parent.mkdir()
    script.write_text(script_for(graph, title='Title "quoted"', description='Ends with "'),
                      encoding="utf-8")
    figure = capture_script(script, tmp_path, 0.1)
    assert figure.title == 'Title "quoted"'
    assert figure.description.endswith('Ends with "')
    root = ET.fromstring(render_svg(figure.dot_source))
    texts = {"".join(t.itertext()) for t in root.iter(f"{SVG}text")}
    for node in graph.nodes:
        for line in display_lines(node.label):
            assert line in texts
    assert set(labels) <= texts


# -- generated flowcharts: whatever converts, draws every label and edge -------------------------

_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"),
                                       blacklist_characters='"[](){}|<>#;'),
                min_size=1, max_size=10).filter(str.strip)
_IDS = st.sampled_from(["A", "B", "c1", "node", "if", "Node", "list", "x-y", "é"])
_SHAPES = st.sampled_from(["[{}]", "({})", "(({}))", "{{{}}}", "[({})]", "([{}])", "{{{{{}}}}}",
                           '["{}"]'])
_LINKS = st.sampled_from(["-->", "---", "-.->", "==>", "<-->", "--->", "-.-", "==="])


@st.composite
def flowcharts(draw) -> str:
    lines = [draw(st.sampled_from(["graph TD", "flowchart LR", "graph BT", "flowchart RL"]))]
    depth = 0
    for index in range(draw(st.integers(1, 7))):
        kind = draw(st.integers(0, 7))
        if kind == 0:
            lines.append(f"subgraph s{index} [{draw(_TEXT)}]")
            depth += 1
        elif kind == 1 and depth:
            lines.append("end")
            depth -= 1
        else:
            shape = draw(_SHAPES).format(draw(_TEXT)) if draw(st.booleans()) else ""
            label = f"|{draw(_TEXT)}|" if draw(st.booleans()) else ""
            lines.append(f"{draw(_IDS)}{shape} {draw(_LINKS)}{label} {draw(_IDS)}")
    return "\n".join(lines + ["end"] * depth) + "\n"


@settings(max_examples=25, deadline=None)
@given(source=flowcharts())
def test_generated_flowcharts_keep_every_label_and_edge(tmp_path_factory, source: str) -> None:
    try:
        graph = parse_mermaid(source)
    except Unsupported:
        return  # refusing is always allowed; drawing something different is not
    folder = tmp_path_factory.mktemp("generated")
    script = folder / "diagrams" / "figure.py"
    script.parent.mkdir()
    script.write_text(script_for(graph), encoding="utf-8")
    root = ET.fromstring(render_svg(capture_script(script, folder, 0.1).dot_source))
    texts = {" ".join("".join(t.itertext()).split()) for t in root.iter(f"{SVG}text")}
    edges = [g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]
    assert len(edges) == len(graph.edges)
    for item in (*graph.nodes, *graph.edges, *graph.clusters):
        for line in display_lines(item.label):
            assert line in texts
