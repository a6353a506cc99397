"""The figure lint on real figures: the defects it must find, and silence where there are none."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest

from conftest import REPO

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


def test_upstream_examples_show_their_defects_with_script_lines(upstream):
    result = upstream.run("build")
    assert result.exit_code == 0, result.output  # findings are warnings by default
    advanced = lint_lines(result.output, ADVANCED)
    # Edges run through the "Database HA" cluster label (the cluster is made at line 28)...
    assert any("[edge-crosses-label]" in line and 'cluster label "Database HA"' in line
               and "(lines 26, 28)" in line for line in advanced), advanced
    # ...and arrowheads land on the "session" (line 24) and "users" (line 29) labels, from the
    # edges of lines 26 and 31.
    assert any("the arrowhead of" in line and 'node label "session"' in line
               and line.startswith(f"diagrams/{ADVANCED}.py:24:") and "(lines 24, 26)" in line
               for line in advanced), advanced
    assert any("the arrowhead of" in line and 'node label "users"' in line
               and "(lines 29, 31)" in line for line in advanced), advanced
    clustered = lint_lines(result.output, CLUSTERED)
    # Arrows end in empty space beside the rounded corners of userdb and memcached.
    ends = [line for line in clustered if "[arrow-in-empty-space]" in line]
    assert {'"userdb"' in line for line in ends} == {True, False}
    assert any('"memcached"' in line for line in ends)
    assert all(line.startswith(f"diagrams/{CLUSTERED}.py:") for line in clustered)


def test_findings_persist_for_check_and_fail_with_strict(upstream):
    assert upstream.run("build", "-q").exit_code == 0
    manifest = json.loads(upstream.built("manifest.json").read_text())
    recorded = manifest["figures"][ADVANCED]["findings"]
    assert {f["rule"] for f in recorded} >= {"edge-crosses-label", "arrow-in-empty-space"}
    assert all(f["lines"] for f in recorded)

    relaxed = upstream.run("check")
    assert "figure lint [edge-crosses-label]" in relaxed.output  # check renders nothing
    assert "warning: figure lint" in relaxed.output
    strict = upstream.run("check", "--strict")
    assert strict.exit_code == 1 and "warning: figure lint" not in strict.output
    built_strict = upstream.run("build", "--strict")
    assert built_strict.exit_code == 1 and "figure lint [" in built_strict.output


def test_a_marker_with_a_reason_silences_one_rule_for_the_figure(upstream):
    script = upstream.root / "diagrams" / f"{ADVANCED}.py"
    text = script.read_text()
    script.write_text(text + "# course-assets: allow edge-crosses-label -- upstream layout, "
                             "kept as the documentation draws it\n")
    result = upstream.run("build")
    advanced = lint_lines(result.output, ADVANCED)
    assert not any("[edge-crosses-label]" in line for line in advanced)
    assert any("[arrow-in-empty-space]" in line for line in advanced)  # other rules stay

    script.write_text(text + "# course-assets: allow edge-crosses-label\n")
    result = upstream.run("build")
    assert "needs a reason" in result.output
    assert any("[edge-crosses-label]" in line for line in lint_lines(result.output, ADVANCED))


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
    # The dashed drift label sits on the Train cluster's border.
    assert any("[text-leaves-cluster]" in line and "drift: collect new data, retrain" in line
               and 'cluster "Train"' in line and "(lines 25, 37)" in line for line in found)


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
    course.write("diagrams/crowded.py", '''
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
    ''')
    found = lint_lines(course.run("build").output, "crowded")
    assert any("[text-overlap]" in line and '"a very long label for the first job"' in line
               and line.startswith("diagrams/crowded.py:7:") and "(lines 7, 8)" in line
               for line in found), found
    assert any("[edge-label-away]" in line and '"extract every night at two"' in line
               and line.startswith("diagrams/crowded.py:11:") for line in found), found


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
    assert upstream.run("build").exit_code == 0
    script = upstream.root / "diagrams" / f"{CLUSTERED}.py"
    script.write_text(script.read_text() + "\n# edited\n")
    result = upstream.run("build")
    assert result.exit_code == 0, result.output
    assert lint_lines(result.output, CLUSTERED)  # the edited figure's findings, again
    assert not lint_lines(result.output, ADVANCED)  # the other figure's are counted instead
    counted = len(lint_lines(upstream.run("check").output, ADVANCED))
    assert (f"warning: {counted} more figure lint warnings on figures and chapters this build "
            "left as they were: `course-assets check` lists them") in result.output
    # --strict reports every finding, as errors.
    strict = upstream.run("build", "--strict")
    assert strict.exit_code == 1 and lint_lines(strict.output, ADVANCED)


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
    first = upstream.run("build")
    assert first.exit_code == 0
    # Made again, byte for byte as before: still made by this build, not "left as they were".
    forced = upstream.run("build", "--force")
    assert forced.exit_code == 0, forced.output
    for script in (ADVANCED, CLUSTERED):
        assert lint_lines(forced.output, script) == lint_lines(first.output, script)
    assert "left as they were" not in forced.output
    named = upstream.run("build", "--force", CLUSTERED)
    assert lint_lines(named.output, CLUSTERED) == lint_lines(first.output, CLUSTERED)
    assert not lint_lines(named.output, ADVANCED)


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


def test_an_arrow_drawn_at_the_tail_is_checked_as_one_at_the_head(course):
    # `a << b` draws its arrowhead at the tail: from above into "a" here, stopping short of
    # the icon exactly as `b >> a` does in a top-to-bottom figure.
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
        assert any("[arrow-in-empty-space]" in line and 'icon and label of "a"' in line
                   and line.startswith(f"diagrams/{name}.py:8:") for line in
                   lint_lines(output, name)), output


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
