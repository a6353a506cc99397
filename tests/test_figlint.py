"""The figure lint on real figures: the defects it must find, and silence where there are none."""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import REPO
from figure_measures import measure

DATA = Path(__file__).parent / "data"
ADVANCED = "advanced_web_service_with_on_premise"
CLUSTERED = "clustered_web_services"


def lint_lines(output: str, script: str) -> list[str]:
    return [line for line in output.splitlines()
            if line.startswith(f"diagrams/{script}.py") and "figure lint [" in line]


@pytest.fixture
def upstream(course):
    """A course with the two examples of the diagrams documentation, as written."""
    for name in (ADVANCED, CLUSTERED):
        shutil.copy(DATA / "upstream" / f"{name}.py", course.root / "diagrams" / f"{name}.py")
    return course


CROWDED = '''
    """Long labels side by side, and edge labels that orthogonal edges cannot place."""
    from diagrams import Cluster, Diagram, Edge
    from diagrams.onprem.workflow import Airflow

    with Diagram("Crowded", show=False, direction="TB"):
        start = Airflow("start")
        start >> [Airflow("a very long label for the first job"),
                  Airflow("another very long label for job two")]
        with Cluster("Jobs"):
            jobs = [Airflow(f"job {i}") for i in range(3)]
        start >> Edge(label="extract every night at two") >> jobs
'''


def test_upstream_examples_lose_their_defects(upstream):
    result = upstream.run("build")
    assert result.exit_code == 0, result.output
    # Graphviz drew edges through the "Database HA" cluster label, arrowheads onto the
    # "session" and "users" labels, and (in the other example) arrows ending in empty space
    # beside userdb and memcached. The build fits the nodes, and moves the title clear of the
    # lines and of the arrowhead that ended on its first letter.
    assert lint_lines(result.output, ADVANCED) == []
    assert lint_lines(result.output, CLUSTERED) == []


def test_a_cluster_title_an_arrowhead_lands_on_moves_clear_of_it(course):
    # The arrow into "job 0" ended on the "J" of "Jobs" (the lint tells an arrowhead closer
    # than 3 pt to a label as touching it): the build moves the title along the cluster's top.
    course.write("diagrams/crowded.py", CROWDED)
    result = course.run("build")
    assert result.exit_code == 0, result.output
    crowded = lint_lines(result.output, "crowded")
    assert not [line for line in crowded if "cluster label" in line], crowded
    # What the build cannot move (node labels too long for their places) is still told, at
    # the script's lines.
    assert any("[text-overlap]" in line and "(lines 7, 8)" in line for line in crowded)


def test_a_title_an_arrowhead_lands_on_with_no_free_place_stays_and_is_told_at_its_lines(course):
    # The arrow from "job 0.0" down into "sub 0.0" ends beside "Serving", whose cluster is too
    # narrow to seat the title on either side of it, with no room under "sub 0.0": the title
    # stays, and the finding names the edge's and the cluster's lines of the script.
    course.write("diagrams/narrow.py", '''
        """An arrow down into an inner cluster too narrow to seat its title beside it."""
        from diagrams import Cluster, Diagram, Edge
        from diagrams.onprem.compute import Server
        from diagrams.onprem.workflow import Airflow

        with Diagram("Narrow", show=False, direction="TB"):
            sources = [Server(f"in {i}") for i in range(3)]
            with Cluster("Q"):
                jobs = [Airflow(f"job 0.{i}") for i in range(3)]
                with Cluster("Serving"):
                    sub = Server("sub 0.0")
                jobs[0] >> sub
            sources[2] >> Edge(label="data") >> jobs[1]
            sources[2] >> Edge(label="data") >> jobs[0]
            sources[0] >> Edge() >> jobs[2]
    ''')
    result = course.run("build")
    assert result.exit_code == 0, result.output
    assert lint_lines(result.output, "narrow") == [
        "diagrams/narrow.py:10: warning: figure lint [edge-crosses-label]: the arrowhead of "
        'edge "job 0.0" -> "sub 0.0" touches the cluster label "Serving" (lines 10, 12)']


def test_a_moved_cluster_title_keeps_clear_of_arrowheads_where_they_are_drawn(course):
    # The arrows into "job 0.0" stop short of its icon and are carried on to its label, after
    # Graphviz's layout: the "Jobs" title moves clear of them where they end up, not of where
    # Graphviz first ended them (2 pt from the moved title's "s").
    course.write("diagrams/carried.py", '''
        """Arrows carried on to the label they point at, beside a title on its cluster's bottom."""
        from diagrams import Cluster, Diagram, Edge
        from diagrams.onprem.compute import Server
        from diagrams.onprem.workflow import Airflow

        with Diagram("Carried", show=False, direction="LR"):
            source = Server("in 0")
            with Cluster("Jobs", graph_attr={"labelloc": "b"}):
                jobs = [Airflow(f"job 0.{i}") for i in range(3)]
            source >> Edge() >> jobs[0]
            source >> Edge(label="every night") >> jobs[0]
            source >> Edge(label="every night") >> jobs[0]
            source >> Edge(label="data") >> jobs[0]
            with Cluster("Serving", graph_attr={"labeljust": "c"}):
                serving = [Airflow(f"job 1.{i}") for i in range(3)]
                with Cluster("Workers"):
                    [Server(f"sub 1.{i}") for i in range(2)]
            source >> Edge(label="data") >> serving[1]
            with Cluster("ETL"):
                etl = [Airflow(f"job 2.{i}") for i in range(3)]
                with Cluster("A rather long cluster title"):
                    subs = [Server(f"sub 2.{i}") for i in range(2)]
                etl[0] >> subs
            source >> subs[1]
            source >> subs[0]
            source >> Edge(label="every night") >> etl[1]
            serving[-1] >> etl
    ''')
    result = course.run("build")
    assert result.exit_code == 0, result.output
    carried = lint_lines(result.output, "carried")
    assert not [line for line in carried if "cluster label" in line], carried


def test_a_moved_cluster_title_keeps_off_the_clusters_inside_it_and_their_titles(course):
    # Lines run through "Database HA" all along its cluster's top; along its bottom lies the
    # inner cluster, titled there: the title must not move onto that title, across its border.
    course.write("diagrams/nested.py", '''
        """Lines through an outer cluster's title, and an inner cluster titled at its bottom."""
        from diagrams import Cluster, Diagram, Edge
        from diagrams.onprem.compute import Server
        from diagrams.onprem.workflow import Airflow

        with Diagram("Nested", show=False, direction="TB"):
            sources = [Server(f"in {i}") for i in range(4)]
            with Cluster("Database HA"):
                jobs = [Airflow(f"job 0.{i}") for i in range(3)]
                with Cluster("A rather long cluster title", graph_attr={"labelloc": "b"}):
                    sub = Server("sub 0.0")
                jobs[0] >> sub
            sources[0] >> sub
            sources[0] >> sub
            sources[3] >> Edge(label="data") >> jobs[0]
            sources[1] >> Edge() >> jobs[0]
            sources[0] >> Edge() >> jobs[0]
            with Cluster("Q", graph_attr={"labelloc": "b"}):
                job = Airflow("job 1.0")
                with Cluster("Stage\\ntwo lines\\nthree", graph_attr={"labelloc": "b"}):
                    [Server(f"sub 1.{i}") for i in range(2)]
            sources[1] >> Edge(label="every night") >> job
            sources[0] >> Edge(label="every night") >> job
            sources[3] >> Edge(label="every night") >> job
    ''')
    result = course.run("build")
    assert result.exit_code == 0, result.output
    nested = lint_lines(result.output, "nested")
    assert not [line for line in nested
                if "[text-overlap]" in line or "[text-leaves-cluster]" in line], nested


def test_a_centred_cluster_title_a_line_crosses_moves_aside_not_to_the_bottom(course):
    # The arrow into the middle job runs through the centred "Jobs": a step aside along the
    # cluster's top frees it; at the bottom it would read as the middle job's caption.
    course.write("diagrams/centred.py", '''
        """A centred cluster title, and an arrow into the middle job below it."""
        from diagrams import Cluster, Diagram
        from diagrams.onprem.compute import Server
        from diagrams.onprem.workflow import Airflow

        with Diagram("Centred", show=False, direction="TB"):
            source = Server("source")
            with Cluster("Jobs", graph_attr={"labeljust": "c"}):
                jobs = [Airflow(f"job {i}") for i in range(3)]
            source >> jobs[1]
    ''')
    result = course.run("build")
    assert result.exit_code == 0, result.output
    assert not lint_lines(result.output, "centred")
    svg = course.built("diagrams/centred.svg").read_text()

    def y(text: str) -> float:
        found = re.search(rf'<text[^>]* y="([-\d.]+)"[^>]*>{text}</text>', svg)
        assert found, text
        return float(found.group(1))

    assert y("Jobs") < y("job 1") - 50  # above the jobs, on the cluster's top (SVG y runs down)


def test_findings_persist_for_check_and_fail_with_strict(upstream):
    upstream.write("diagrams/crowded.py", CROWDED)
    assert upstream.run("build", "-q").exit_code == 0
    manifest = json.loads(upstream.built("manifest.json").read_text())
    recorded = manifest["figures"]["crowded"]["findings"]
    assert {f["rule"] for f in recorded} >= {"text-overlap"}
    assert all(f["lines"] for f in recorded)

    relaxed = upstream.run("check")
    assert "figure lint [text-overlap]" in relaxed.output  # check renders nothing
    assert "warning: figure lint" in relaxed.output
    strict = upstream.run("check", "--strict")
    assert strict.exit_code == 1 and "warning: figure lint" not in strict.output
    built_strict = upstream.run("build", "--strict")
    assert built_strict.exit_code == 1 and "figure lint [" in built_strict.output


def test_a_marker_with_a_reason_silences_one_rule_for_the_figure(course):
    script = course.write("diagrams/crowded.py", CROWDED)
    text = script.read_text()
    script.write_text(text + "# course-assets: allow text-overlap -- the two jobs are read "
                             "as one pair\n")
    result = course.run("build")
    crowded = lint_lines(result.output, "crowded")
    assert not any("[text-overlap]" in line for line in crowded)
    assert any("[text-leaves-cluster]" in line for line in crowded)  # other rules stay

    script.write_text(text + "# course-assets: allow text-overlap\n")
    result = course.run("build")
    assert "needs a reason" in result.output
    assert any("[text-overlap]" in line for line in lint_lines(result.output, "crowded"))


def test_our_figures_before_the_fix_show_the_defects_the_issue_lists(course):
    # The lint on the layout as drawn: fitting would show the chapter another (wider than
    # the column, it is wrapped into two rows there).
    course.write("pyproject.toml", "[tool.course-assets]\nfit = false\n")
    shutil.copy(DATA / "before" / "mlops_workflow.py", course.root / "diagrams")
    shutil.copy(DATA / "before" / "_style.py", course.root / "diagrams")
    result = course.run("build")
    found = lint_lines(result.output, "mlops_workflow")
    # The MLflow icon's white "ml" vanishes on the light-green Train cluster: both nodes.
    icons = [line for line in found if "[icon-contrast]" in line]
    assert any('"Experiment tracking"' in line for line in icons)
    assert any('"Model registry"' in line for line in icons)
    assert all("in the light theme" in line for line in icons)
    # Graphviz put the dashed drift label on the Train cluster's border; the build now moves
    # it beside its edge, clear of every border.
    assert not any("[text-leaves-cluster]" in line and "drift: collect new data" in line
                   for line in found), found


def test_our_figures_pass_the_lint_and_strict_check(repo_course):
    result = repo_course.run("build", "--strict")
    assert result.exit_code == 0, result.output
    assert "figure lint" not in result.output
    check = repo_course.run("check", "--strict")
    assert "figure lint" not in check.output
    # The one error left is the chapter's link to chapter 2, which is not written yet.
    errors = [line for line in check.output.splitlines() if line.startswith("chapters/")]
    assert len(errors) == 1
    assert errors[0].startswith("chapters/chapter-1.md:32: link chapter-2.md resolves to nothing")


STATEFUL = '''
    """Stateful architecture on Kubernetes (from the diagrams documentation)."""
    from diagrams import Cluster, Diagram
    from diagrams.k8s.compute import Pod, StatefulSet
    from diagrams.k8s.network import Service
    from diagrams.k8s.storage import PV, PVC, StorageClass

    with Diagram("Stateful Architecture", show=False):
        with Cluster("Apps"):
            svc = Service("svc")
            sts = StatefulSet("sts")
            apps = []
            for _ in range(3):
                pod = Pod("pod")
                pvc = PVC("pvc")
                pod - sts - pvc
                apps.append(svc >> pod >> pvc)
        apps << PV("pv") << StorageClass("sc")
'''

TALL = '''
    """A tall pipeline: ten stages in three groups, top to bottom."""
    from diagrams import Cluster, Diagram
    from diagrams.onprem.workflow import Airflow

    with Diagram("Tall", show=False, direction="TB"):
        previous = None
        for group in range(3):
            with Cluster(f"stage group {group}"):
                for step in range(4 if group else 2):
                    node = Airflow(f"step {group}.{step}")
                    if previous is not None:
                        previous >> node
                    previous = node
'''


def test_tiny_text_is_reported_at_the_chapter_line_with_the_slide_fix(course):
    # As the author drew them: fitting would lay the tall figure out anew for its slide.
    course.write("pyproject.toml", "[tool.course-assets]\nfit = false\n")
    course.write("diagrams/stateful_architecture.py", STATEFUL)
    course.write("diagrams/tall.py", TALL)
    course.chapter("ch", "# Sizes\n\n## Stateful\n\n"
                   '{{ diagram("stateful_architecture", width=600) }}\n\n'
                   "## Tall\n\n"
                   '{{ diagram("tall") }}\n')
    result = course.run("build")
    lines = [line for line in result.output.splitlines() if "[text-size]" in line]
    chapter = [line for line in lines if "at width=600" in line]
    assert len(chapter) == 1 and chapter[0].startswith("chapters/ch.md:5: warning:")
    shown = float(chapter[0].split("smallest text at ")[1].split(" px")[0])
    assert 5 < shown < 9
    slide = [line for line in lines if "'tall' on slide 'Tall'" in line]
    assert len(slide) == 1 and slide[0].startswith("chapters/ch.md:9: warning:")
    assert "split it by cluster" in slide[0] and "3 top-level clusters" in slide[0]
    strict = course.run("check", "--strict")
    assert strict.exit_code == 1 and "chapters/ch.md:9: figure lint [text-size]" in strict.output


def test_the_outline_lists_every_node_and_edge_label_of_the_script(repo_course):
    assert repo_course.run("build", "-q").exit_code == 0
    script = REPO / "diagrams" / "mlops_workflow.py"
    outline = repo_course.built("diagrams/mlops_workflow.outline.md").read_text()
    labels = []
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "Edge":
                labels += [k.value.value for k in node.keywords
                           if k.arg in ("label", "xlabel", "headlabel", "taillabel")]
            elif node.args and isinstance(node.args[0], ast.Constant):
                labels.append(node.args[0].value)
    labels = [" ".join(str(label).split()) for label in labels]
    assert len(labels) >= 12  # the title, 3 clusters, 8 nodes and the drift label
    for label in labels:
        assert label in outline, label
    connections = outline.split("## Connections", 1)[1]
    assert connections.count("→") == 8
    assert '- Dashboards → Data: "drift: collect new data, retrain" (dashed)' in connections
    # The chapter links it under the figure, in a way GitHub renders.
    chapter = repo_course.built("chapters/chapter-1.md").read_text()
    assert '<a href="../diagrams/mlops_workflow.outline.md">Text outline of this figure</a>' \
        in chapter
    gallery = repo_course.built("diagrams/README.md").read_text()
    assert "<details>" in gallery and "- Dashboards → Data" in gallery


def test_overlapping_labels_and_labels_away_from_their_edges(course):
    course.write("diagrams/crowded.py", CROWDED)
    found = lint_lines(course.run("build").output, "crowded")
    assert any("[text-overlap]" in line and '"a very long label for the first job"' in line
               and line.startswith("diagrams/crowded.py:7:") and "(lines 7, 8)" in line
               for line in found), found
    # Orthogonal edges leave their labels where Graphviz could not route them; the build
    # puts each beside its own edge.
    assert not any("[edge-label-away]" in line for line in found), found


def test_gradient_fills_are_judged_by_their_colours_not_as_black(course):
    course.write("diagrams/gradients.py", '''
        """A node and a cluster filled with light gradients, dark text on both."""
        from diagrams import Cluster, Diagram, Node

        with Diagram("Gradients", show=False):
            with Cluster("Light", graph_attr={"bgcolor": "lightyellow:lightblue",
                                              "fontcolor": "#2D3436"}):
                Node("step", shape="box", style="filled", fillcolor="white:orange",
                     fontcolor="#2D3436")
            Node("dark", shape="box", style="filled", fillcolor="navy:black",
                 fontcolor="#2D3436")
    ''')
    found = lint_lines(course.run("build").output, "gradients")
    contrast = [line for line in found if "[text-contrast]" in line]
    # Dark text reads on the light gradients, and not on the dark one.
    assert not any('"step"' in line or '"Light"' in line for line in contrast), contrast
    assert any('node label "dark"' in line and line.startswith("diagrams/gradients.py:9:")
               for line in contrast), contrast


def test_a_build_tells_the_findings_of_what_it_made_and_counts_the_rest(upstream):
    script = upstream.write("diagrams/crowded.py", CROWDED)
    upstream.write("diagrams/crowded_too.py", CROWDED)
    assert upstream.run("build").exit_code == 0
    script.write_text(script.read_text() + "\n# edited\n")
    result = upstream.run("build")
    assert result.exit_code == 0, result.output
    assert lint_lines(result.output, "crowded")  # the edited figure's findings, again
    assert not lint_lines(result.output, "crowded_too")  # the other's are counted instead
    counted = len(lint_lines(upstream.run("check").output, "crowded_too"))
    assert counted > 0
    plural = "" if counted == 1 else "s"
    assert (f"warning: {counted} more figure lint warning{plural} on figures and chapters "
            "this build left as they were: `course-assets check` lists them") in result.output
    # --strict reports every finding, as errors.
    strict = upstream.run("build", "--strict")
    assert strict.exit_code == 1 and lint_lines(strict.output, "crowded_too")


def test_a_transparent_background_is_judged_by_what_shows_through_not_as_black(course):
    course.write("diagrams/clear.py", '''
        """Dark text on a transparent page, cluster and node."""
        from diagrams import Cluster, Diagram, Node

        with Diagram("Clear", show=False, graph_attr={"bgcolor": "transparent"}):
            with Cluster("Plain", graph_attr={"bgcolor": "transparent", "fontcolor": "#2D3436"}):
                Node("step", shape="box", style="filled", fillcolor="none", fontcolor="#2D3436")
    ''')
    found = lint_lines(course.run("build").output, "clear")
    contrast = [line for line in found if "[text-contrast]" in line]
    # The reader's page shows through: white in the light theme, where dark text reads, and
    # dark in the dark theme, where it does not.
    assert not any("in the light theme" in line for line in contrast), contrast
    assert any('node label "step"' in line and "in the dark theme" in line
               for line in contrast), contrast


def test_a_forced_build_tells_the_findings_of_everything_it_made(upstream):
    upstream.write("diagrams/crowded.py", CROWDED)
    upstream.write("diagrams/crowded_too.py", CROWDED)
    first = upstream.run("build")
    assert first.exit_code == 0
    assert lint_lines(first.output, "crowded") and lint_lines(first.output, "crowded_too")
    # Made again, byte for byte as before: still made by this build, not "left as they were".
    forced = upstream.run("build", "--force")
    assert forced.exit_code == 0, forced.output
    for script in (ADVANCED, CLUSTERED, "crowded", "crowded_too"):
        assert lint_lines(forced.output, script) == lint_lines(first.output, script)
    assert "left as they were" not in forced.output
    named = upstream.run("build", "--force", "crowded")
    assert lint_lines(named.output, "crowded") == lint_lines(first.output, "crowded")
    assert not lint_lines(named.output, "crowded_too")


def test_the_box_index_finds_what_a_full_scan_finds_however_far_apart_the_boxes(monkeypatch):
    import random

    from course_assets.figlint import geometry
    from course_assets.figlint.geometry import Box, BoxIndex

    chance = random.Random(7)

    def box(spread: float, size: float) -> Box:
        x, y = chance.uniform(-spread, spread), chance.uniform(-spread, spread)
        return Box(x, y, x + chance.uniform(0, size), y + chance.uniform(0, size))

    # An edge across such a figure spans some 200 million cells: the index must not walk them.
    # Every cell it visits is counted, and walking far more than it files is a failure.
    walked = 0
    every_cell = geometry._cells

    def counted(span: tuple[int, int, int, int]):
        nonlocal walked
        for cell in every_cell(span):
            walked += 1
            assert walked < 2_000_000, "the index walks empty cells"
            yield cell

    monkeypatch.setattr(geometry, "_cells", counted)
    # Labels and icons near the origin and around nodes pinned up to 10,000 inches away, and
    # one icon 280 inches wide.
    items = [(box(spread, 80), n) for n, spread in enumerate([300] * 200 + [720_000] * 20)]
    items.append((Box(-10_000, -10_000, 10_000, 10_000), len(items)))
    index = BoxIndex(items)
    for query in [box(300, 200) for _ in range(200)] + [
            Box(-720_000, -720_000, 720_000, 720_000), box(720_000, 960_000)]:
        expected = [item for item in items if item[0].overlap(query) > 0]
        found = index.near(query)
        assert all(item in found for item in expected), query


def test_an_arrow_drawn_at_the_tail_reaches_the_icon_as_one_at_the_head(course):
    # `a << b` draws its arrowhead at the tail: from above into "a" here. Graphviz stopped
    # both short of the icon; the build fits the node to its icon, so both reach it.
    for name, direction, edge in (("forward", "TB", "b >> a"), ("backward", "BT", "a << b")):
        course.write(f"diagrams/{name}.py", f'''
            """Two nodes, one arrow from above into "a"."""
            from diagrams import Diagram
            from diagrams.onprem.database import Postgresql
            from diagrams.onprem.workflow import Airflow

            with Diagram("Arrow", show=False, direction="{direction}",
                         graph_attr={{"bgcolor": "white"}}):
                a = Airflow("a")
                b = Postgresql("b")
                {edge}
        ''')
    output = course.run("build").output
    for name in ("forward", "backward"):
        assert "diagrams/" in output and f"built {name}" in output
        assert not any("[arrow-in-empty-space]" in line for line in lint_lines(output, name))
        assert measure(course.built(f"diagrams/{name}.svg")).short_arrows() == []


def test_hsv_colours_are_judged_by_their_colour_not_as_black(course):
    course.write("diagrams/hsv.py", '''
        """Dark text on a white HSV fill, and light grey text on a white page."""
        from diagrams import Diagram, Node

        with Diagram("Hsv", show=False, graph_attr={"bgcolor": "white"}):
            Node("white", shape="box", style="filled", fillcolor="0 0 1", fontcolor="#2D3436")
            Node("faint", shape="box", fontcolor="0.0,0.0,0.85")
    ''')
    found = lint_lines(course.run("build").output, "hsv")
    contrast = [line for line in found if "[text-contrast]" in line and "light theme" in line]
    assert not any('"white"' in line for line in contrast), contrast
    assert any('node label "faint"' in line for line in contrast), contrast


def test_an_edge_and_label_hidden_with_a_transparent_colour_are_not_judged(course):
    course.write("diagrams/hidden.py", '''
        """Two nodes held in place by an edge nobody is meant to see."""
        from diagrams import Diagram, Edge, Node

        with Diagram("Hidden", show=False, graph_attr={"bgcolor": "white"}):
            a = Node("a", shape="box", fontcolor="#2D3436")
            b = Node("b", shape="box", fontcolor="#2D3436")
            a >> Edge(color="transparent") >> b
            a >> Edge(color="#00000000", label="spacer", fontcolor="transparent") >> b
    ''')
    found = lint_lines(course.run("build").output, "hidden")
    assert not [line for line in found if "contrast]" in line and "light theme" in line], found


def test_the_outline_lists_no_connection_a_reader_cannot_see(course):
    course.write("diagrams/spacers.py", '''
        """Three steps, two of them held apart by edges nobody is meant to see."""
        from diagrams import Diagram, Edge, Node

        with Diagram("Spacers", show=False):
            a, b, c = (Node(name, shape="box") for name in ("load", "train", "serve"))
            a >> Edge(label="data") >> b
            a >> Edge(style="invis") >> c
            b >> Edge(color="transparent") >> c
    ''')
    result = course.run("build")
    assert result.exit_code == 0, result.output
    outline = course.built("diagrams/spacers.outline.md").read_text()
    connections = [line for line in outline.splitlines() if "→" in line]
    assert connections == ['- load → train: "data"']


def test_the_outline_keeps_every_connection_that_shows_something(course):
    course.write("diagrams/half_clear.py", '''
        """Edges with a clear line that still show a label, an arrowhead or another line."""
        from diagrams import Diagram, Edge, Node

        with Diagram("Half clear", show=False):
            a, b, c, d, e = (Node(name, shape="box") for name in ("load", "train", "test",
                                                                 "serve", "watch"))
            a >> Edge(color="transparent", label="data") >> b
            b >> Edge(color="transparent", fillcolor="red") >> c
            c >> Edge(color="red:transparent") >> d
            d >> Edge(color="transparent", fontcolor="transparent", label="gone") >> e
    ''')
    result = course.run("build")
    assert result.exit_code == 0, result.output
    outline = course.built("diagrams/half_clear.outline.md").read_text()
    connections = [line for line in outline.splitlines() if "→" in line]
    # A label read without its line, an arrowhead alone and a line in two colours, one clear,
    # are there for the reader; an edge whose line and label are both clear is not.
    assert connections == ['- load → train: "data"', "- train → test", "- test → serve"]


def test_radial_and_striped_fills_are_judged_by_their_colours(course):
    course.write("diagrams/radial.py", '''
        """White text on dark radial and striped fills, and on a cluster's over its bgcolor."""
        from diagrams import Cluster, Diagram, Node

        with Diagram("Radial", show=False, graph_attr={"bgcolor": "white"}):
            with Cluster("Dark", graph_attr={"style": "radial", "fillcolor": "navy:black",
                                             "bgcolor": "lightyellow", "fontcolor": "white"}):
                Node("inside", shape="box", fontcolor="white")
            Node("round", shape="box", style="radial", fillcolor="navy:black", fontcolor="white")
            Node("stripes", shape="box", style="striped", fillcolor="navy:black",
                 fontcolor="white")
    ''')
    found = lint_lines(course.run("build").output, "radial")
    assert not [line for line in found if "[text-contrast]" in line and "light theme" in line], \
        found


def test_icons_are_judged_in_colour_a_logo_on_a_pale_cluster_is_no_finding(course):
    # The Python logo's yellow half has about 1.1:1 against a pale green cluster in luminance
    # alone, but it meets its blue half (6:1 against it): the logo is seen whole.
    course.write("diagrams/logo.py", '''
        """The Python logo on a pale green cluster."""
        from diagrams import Cluster, Diagram
        from diagrams.programming.language import Python
        with Diagram("Logo", show=False):
            with Cluster("Code", graph_attr={"bgcolor": "#EEF7EE"}):
                Python("service")
    ''')
    # A pale yellow icon on white: nothing in it contrasts with what it sits on.
    from PIL import Image

    (course.root / "icons").mkdir()
    Image.new("RGBA", (128, 128), (255, 250, 205, 255)).save(course.root / "icons/pale.png")
    course.write("diagrams/pale.py", '''
        """A pale icon on white."""
        from diagrams import Diagram
        from diagrams.custom import Custom
        with Diagram("Pale", show=False):
            Custom("faint", "icons/pale.png")
    ''')
    result = course.run("build")
    assert result.exit_code == 0, result.output
    assert not any("[icon-contrast]" in line for line in lint_lines(result.output, "logo")), \
        result.output
    pale = [line for line in lint_lines(result.output, "pale") if "[icon-contrast]" in line]
    assert len(pale) == 1 and '100% of the icon of "faint" vanishes' in pale[0], result.output


FAN_OUT_LR = '''
    """One source feeding four workers, left to right."""
    from diagrams import Diagram
    from diagrams.onprem.workflow import Airflow

    with Diagram("Fan out", show=False, direction="LR"):
        source = Airflow("source")
        for worker in range(4):
            source >> Airflow(f"worker {worker}")
'''

SEVEN_IN_FOUR = '''
    """Seven nodes in four clusters, top to bottom."""
    from diagrams import Cluster, Diagram
    from diagrams.onprem.workflow import Airflow

    with Diagram("Seven", show=False, direction="TB"):
        previous = None
        for group, count in enumerate((1, 2, 2, 2)):
            with Cluster(f"group {group}"):
                nodes = [Airflow(f"step {group}.{n}") for n in range(count)]
            if previous is not None:
                previous >> nodes[0]
            previous = nodes[-1]
'''


def test_the_slide_advice_fits_the_figure(course):
    # The advice for figures as drawn: fitting would lay these out anew for their slides.
    course.write("pyproject.toml", "[tool.course-assets]\nfit = false\n")
    course.write("diagrams/fan_out.py", FAN_OUT_LR)
    course.write("diagrams/seven.py", SEVEN_IN_FOUR)
    course.write("diagrams/tall.py", TALL)
    course.chapter("ch", '# Advice\n\n## Fan out\n\n{{ diagram("fan_out") }}\n\n'
                   '## Seven\n\n{{ diagram("seven") }}\n\n## Tall\n\n{{ diagram("tall") }}\n')
    result = course.run("build")
    slide = {name: [line for line in result.output.splitlines()
                    if "[text-size]" in line and f"figure {name!r} on slide" in line]
             for name in ("fan_out", "seven", "tall")}
    assert all(len(lines) == 1 for lines in slide.values()), result.output
    # Already left to right, and tall: turning it is the fix, never the direction it has.
    assert 'direction="LR"' not in slide["fan_out"][0]
    assert 'direction="TB"' in slide["fan_out"][0]
    # Seven nodes are no reason to split into four figures; nor is turning it the fix here.
    assert "split" not in slide["seven"][0] and "direction=" not in slide["seven"][0]
    assert "fontsize" in slide["seven"][0]
    # A ten-stage chain is longer than a slide at a readable size: split by cluster.
    assert "split it by cluster" in slide["tall"][0], slide["tall"]


def _laid_out(dot: str, engine: str = "nop2") -> tuple[dict, bytes]:
    """Lay `dot` out with the bundled Graphviz; return its JSON layout and its SVG."""
    import pygraphviz
    from pygraphviz import graphviz as gv

    from course_assets.render.graphviz import use_bundled_fonts

    # First, as every build does: workers forked from this process later inherit its fonts,
    # and a fontconfig set up with the system's fonts would lay their figures out otherwise.
    use_bundled_fonts()
    graph = pygraphviz.AGraph(string=dot)
    context = gv.gvContextWithBuiltins()
    try:
        assert gv.gvLayout(context, graph.handle, engine.encode()) == 0
        _, layout = gv.gvRenderData(context, graph.handle, b"json")
        _, svg = gv.gvRenderData(context, graph.handle, b"svg")
        gv.gvFreeLayout(context, graph.handle)
    finally:
        gv.gvFreeContext(context)
    return json.loads(layout), svg


def test_an_edge_through_its_own_label_is_a_finding():
    from course_assets.figlint.geometry import read_geometry
    from course_assets.figlint.placement import layout_findings

    # Positions pinned as a layout would leave them: the label "write Parquet" sits on its
    # own vertical edge in one figure, beside it in the other.
    def figure(label_x: int) -> list:
        layout, svg = _laid_out(f"""digraph {{
            node [shape=box fixedsize=true width=1 height=0.5]
            a [label=a pos="100,300"] b [label=b pos="100,50"]
            a -> b [label="write Parquet" lp="{label_x},175"
                    pos="e,100,68 100,282 100,230 100,120 100,78"]
        }}""")
        geometry = read_geometry(layout, svg, {"edge:a->b#0": 7})
        return [f for f in layout_findings(geometry) if f.rule == "edge-crosses-label"]

    through = figure(100)
    assert [f.message for f in through] == [
        'the line of edge "a" -> "b" crosses its own edge label "write Parquet"']
    assert through[0].lines == (7,)
    assert figure(150) == []


def test_a_cluster_inside_one_of_the_same_title_builds_and_is_outlined_inside_it(course):
    course.write("diagrams/nested.py", '''
        """A team inside a team of the same name."""
        from diagrams import Cluster, Diagram
        from diagrams.onprem.compute import Server

        with Diagram("Nested", show=False):
            with Cluster("Team"):
                lead = Server("lead")
                with Cluster("Team"):
                    member = Server("member")
            lead >> member
    ''')
    result = course.run("build")
    assert result.exit_code == 0, result.output
    outline = course.built("diagrams/nested.outline.md").read_text()
    parts = outline.split("## Parts", 1)[1].split("## Connections", 1)[0].strip().splitlines()
    assert parts == ["- **Team** (group)", "  - lead", "  - **Team** (group)", "    - member"]
