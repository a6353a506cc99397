"""Graph geometry on built figures: arrows that reach their nodes, labels no line crosses.

Measured on the SVGs a real build writes (parsed with an XML parser, see figure_measures.py),
on a course like an author writes (tests/data/author_course) and on this repository's own.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import REPO
from course_assets.cli import cli
from figure_measures import measure, measure_folder

AUTHOR_COURSE = Path(__file__).parent / "data" / "author_course"


def _built(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "build"))
    result = CliRunner().invoke(cli, ["-C", str(target), "build", "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return target / "build" / "diagrams"


@pytest.fixture(scope="module")
def author_figures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the built figures folder of a copy of the author course."""
    return _built(AUTHOR_COURSE, tmp_path_factory.mktemp("geometry") / "author")


def test_the_author_course_has_the_figures_the_issue_describes(author_figures):
    names = {p.stem for p in author_figures.glob("*.svg") if not p.stem.endswith(".dark")}
    assert len(names) >= 8
    assert {"aws_pipeline", "k8s_deployment", "gcp_training", "monitoring_stack",
            "service_map", "custom_icons"} <= names
    service_map = (author_figures / "service_map.svg").read_text()
    assert service_map.count('class="cluster"') == 8 and service_map.count('class="node"') >= 41
    # The invisible points that hold a relaid figure's corners are no part a reader meets.
    for outline in author_figures.glob("*.outline.md"):
        # Read as written, less Markdown's escapes (a name's underscores are escaped there).
        assert "course_assets" not in outline.read_text().replace("\\_", "_"), outline.name


def test_top_to_bottom_arrows_reach_their_icons_in_the_author_course(author_figures):
    # Graphviz stopped each of these about 18 pt above the icon.
    for name in ("aws_pipeline", "k8s_deployment", "monitoring_stack", "batch_scoring"):
        assert measure(author_figures / f"{name}.svg").short_arrows() == [], name


def test_every_arrowhead_ends_at_a_node_in_the_author_course(author_figures):
    short, _ = measure_folder(author_figures)
    assert short == []


def test_no_line_crosses_any_text_in_the_author_course(author_figures):
    # Graphviz left 5 crossings: edges through their own labels ("write Parquet", "02:00
    # daily", "images") and through cluster titles ("Database", "Scoring job").
    _, crossings = measure_folder(author_figures)
    assert crossings == []


def test_this_repositorys_figures_have_no_short_arrow_and_no_crossing(tmp_path):
    figures = _built(REPO, tmp_path / "repo")
    assert measure_folder(figures) == ([], [])


def test_the_author_scripts_still_run_standalone(tmp_path):
    course = tmp_path / "author"
    shutil.copytree(AUTHOR_COURSE, course)
    for name in ("aws_pipeline", "custom_icons"):
        subprocess.run([sys.executable, f"diagrams/{name}.py"], cwd=course, check=True,
                       timeout=120, capture_output=True)
    assert (course / "clickstream_pipeline.png").stat().st_size > 1000
    assert (course / "standalone" / "the_feature_platform.png").stat().st_size > 1000


def test_moved_labels_and_carried_arrows_give_the_same_bytes_on_every_build(author_figures):
    before = {p.name: p.read_bytes() for p in author_figures.glob("*.svg")}
    course = author_figures.parent.parent
    result = CliRunner().invoke(cli, ["-C", str(course), "build", "-q", "--force"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert {p.name: p.read_bytes() for p in author_figures.glob("*.svg")} == before
    # Nothing drawn twice: one background, and the first layout's padding (0.15 in).
    pipeline = (author_figures / "aws_pipeline.svg").read_text()
    assert pipeline.count('stroke="none" points=') == 1
    assert 'transform="scale(1 1) rotate(0) translate(10.8 ' in pipeline


UNUSUAL_GRAPHS = {
    "html label": 'digraph { a [label=<<b>bold</b> text>]; a -> b [label="x"] }',
    "record": 'digraph { node [shape=record]; a [label="{a|b}|c"]; a -> b [label="x"] }',
    "concentrate": 'digraph { concentrate=true; a -> b; a -> c; b -> d; c -> d; a -> d }',
    "compound": 'digraph { compound=true; subgraph cluster_x { label=X; a; b } '
                'subgraph cluster_y { label=Y; c } a -> c [lhead=cluster_y ltail=cluster_x] }',
    "self loop": 'digraph { a -> a [label=self]; a -> b; a -> b [label=two] }',
    "rank same": 'digraph { {rank=same; a; b} a -> b [label=l]; b -> c }',
    "empty cluster": 'digraph { subgraph cluster_e { label=E } a -> b [label=q] }',
    "straight lines": 'digraph { splines=false; a -> b [label=q]; b -> c }',
    "polyline": 'digraph { splines=polyline; a -> b [label=q]; b -> c [xlabel=r] }',
    "head and tail labels": 'digraph { a -> b [headlabel=h taillabel=t label=m] }',
    "arrows both ways": 'digraph { a -> b [dir=both label=u] }',
    "ports": 'digraph { splines=ortho; rankdir=LR; a -> b [tailport=n headport=n label=x] }',
    "nested clusters": 'digraph { subgraph cluster_a { label=A; subgraph cluster_b { label=B; '
                       'x } y } x -> y [label=k]; z -> x }',
    "no edges": "digraph { a; b }",
}


@pytest.mark.parametrize("name", sorted(UNUSUAL_GRAPHS))
def test_unusual_graphs_draw_again_from_their_layout(name, monkeypatch):
    from course_assets.layout import labels
    from course_assets.render import graphviz

    # Every graph takes the second drawing, as one with a label to move does.
    monkeypatch.setattr(labels.Placement, "__bool__", lambda self: True)
    drawing = graphviz.draw(UNUSUAL_GRAPHS[name], png_max_side=400)
    assert drawing.svg.startswith(b"<?xml") and drawing.png and drawing.layout["objects"]
    assert not any(m.startswith("Error") for m in drawing.messages)
