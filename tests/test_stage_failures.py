"""Failures in either rendering stage (light SVG, then PNGs and the dark variant), through the
real command: each is its figure's error, and a build leaves nothing of its own in /tmp."""

from __future__ import annotations

import os
import re
import signal
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import Course
from svgtools import parse, texts

KILLS_ITS_WORKER = '''
    """Kills the process rendering it, in the {theme} theme only."""
    import os, signal
    from diagrams import Diagram
    from diagrams.onprem.compute import Server

    if os.environ["COURSE_ASSETS_THEME"] == "{theme}":
        os.kill(os.getppid(), signal.SIGKILL)  # the worker: the script runs in its child
    with Diagram("Killer", show=False):
        Server("a") >> Server("b")
'''


def scratch_left(folder: Path) -> list[str]:
    """Return the build's scratch folders left in `folder` (the fonts folder is kept on purpose)."""
    return sorted(p.name for p in folder.iterdir()
                  if p.name.startswith("course-assets-")
                  and not p.name.startswith("course-assets-fonts-"))


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_script_killing_its_worker_leaves_no_scratch_folder_behind(
        course: Course, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, theme: str) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # the workers fork from here
    course.write("diagrams/killer.py", KILLS_ITS_WORKER.format(theme=theme))
    course.figure("fine")
    result = course.run("build", "-j", "2")
    assert result.exit_code == 1
    assert "killer.py: the process rendering this figure was killed by SIGKILL" in result.output
    assert course.built("diagrams/fine.dark.png").is_file()
    assert scratch_left(scratch) == []


def test_a_figure_failing_in_the_dark_theme_while_watched_keeps_its_last_good_light_svg(
        course: Course) -> None:
    from course_assets.build import BuildOptions
    from test_svg_first import watching

    def figure(label: str, dark_fails: bool) -> None:
        course.figure("fig", "import os\n"
                      f"if {dark_fails} and os.environ['COURSE_ASSETS_THEME'] == 'dark':\n"
                      "    raise RuntimeError('no dark variant')\n"
                      f"Mlflow({label!r})\n")

    course.chapter("one", '# One\n\n{{ diagram("fig") }}\n')
    figure("good", dark_fails=False)
    shown: list[str] = []
    with watching(course, options=BuildOptions(jobs=1, on_light=shown.append)) as results:
        assert results.get(timeout=60).ok
        good = course.built("diagrams/fig.svg").read_bytes()
        figure("edited", dark_fails=True)
        failed = results.get(timeout=60)
    assert not failed.ok
    assert shown == ["fig", "fig"]  # the edited light SVG was shown while the rest was made
    # Then the figure failed: the chapter shows its last good version, as the manual says,
    # and every file of it is that version.
    assert course.built("diagrams/fig.svg").read_bytes() == good
    assert "shows the last good version of figure 'fig'" in str(failed.problems)
    check = course.run("check")
    assert check.exit_code != 0
    assert "interrupted" not in check.output
    assert "no dark variant" in check.output


def test_figures_not_yet_started_when_a_worker_dies_share_new_workers(
        course: Course, tmp_path: Path) -> None:
    # Only the figures in hand when a worker dies are rendered again each alone (one of them
    # killed it); the rest of the build goes on in new workers, `jobs` at a time.
    course.write("pyproject.toml", '[tool.course-assets]\nformats = ["svg"]\n')
    course.write("diagrams/a_killer.py", KILLS_ITS_WORKER.format(theme="light"))
    log = tmp_path / "workers.log"
    names = [f"f{index:02}" for index in range(10)]
    for name in names:
        course.figure(name, "import os\n"
                      f"with open({str(log)!r}, 'a') as log:\n"
                      f"    log.write(f'{name} {{os.getppid()}}\\n')\n"
                      f"Mlflow({name!r})\n")
    result = course.run("build", "-j", "2")
    assert result.exit_code == 1
    assert "a_killer.py: the process rendering this figure was killed by SIGKILL" in result.output
    assert all(course.built(f"diagrams/{name}.svg").is_file() for name in names)
    workers = {line.split()[1] for line in log.read_text().splitlines()}
    # The first two workers, at most one alone for the figure in hand beside the killer,
    # then two new ones: not a worker of its own for each of the ten.
    assert len(workers) <= 5, log.read_text()


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_a_warm_worker_killed_between_saves_costs_no_second_run_of_the_next_figure(
        course: Course, tmp_path: Path) -> None:
    from course_assets.build import BuildOptions
    from conftest import wait_until_gone
    from test_svg_first import logged, logging_body, watching

    marker, log = tmp_path / "worker", tmp_path / "runs.log"
    course.write("pyproject.toml", '[tool.course-assets]\nformats = ["svg"]\n')
    course.figure("one", f"import os, pathlib\n"
                  f"pathlib.Path({str(marker)!r}).write_text(str(os.getppid()))\n"
                  "Mlflow('first')\n")
    with watching(course, options=BuildOptions(jobs=1)) as results:
        assert results.get(timeout=60).ok
        worker = int(marker.read_text())
        os.kill(worker, signal.SIGKILL)  # from outside, between saves
        assert wait_until_gone(worker)
        course.figure("one", logging_body(log, "again"))
        again = results.get(timeout=60)
    assert again.ok, again.problems
    assert logged(log) == ["light again"]  # the script ran once, not once per try to start


def test_a_dark_variant_with_fewer_nodes_draws_no_stray_node_from_the_chosen_layout(
        course: Course) -> None:
    # The dark variant is drawn in the layout the light one chose (rows stacked by invisible
    # edges between its nodes); a script that draws fewer nodes in the dark theme must not
    # get the missing ones drawn as empty nodes named by their ids.
    course.write("pyproject.toml", '[tool.course-assets]\nformats = ["svg", "dark"]\n')
    course.write("diagrams/wide.py", '''
        """A pipeline of fourteen steps, left to right (eight in the dark theme)."""
        import os
        from diagrams import Diagram
        from diagrams.onprem.compute import Server

        count = 8 if os.environ["COURSE_ASSETS_THEME"] == "dark" else 14
        with Diagram("Wide chain", show=False, direction="LR"):
            steps = [Server(f"stage {i}") for i in range(count)]
            for a, b in zip(steps, steps[1:]):
                a >> b
    ''')
    result = course.run("build")
    assert result.exit_code == 0, result.output
    assert "fitted wide: chapter: direction" in result.output  # its rows are chosen
    dark = texts(parse(course.built("diagrams/wide.dark.svg")))
    assert sorted(t for t in dark if t.startswith("stage")) == [f"stage {i}" for i in range(8)]
    assert [t for t in dark if re.fullmatch(r"n\d+", t)] == []


def test_a_fitted_layout_never_piles_up_edge_labels_the_authors_layout_kept_apart(
        course: Course) -> None:
    # Twelve steps left to right, each edge labelled: as drawn, every label sits by its own
    # edge. A layout that wraps the steps into rows must not be kept where it stacks the
    # labels of its vertical edges on one another, far from their edges.
    course.write("diagrams/labelled.py", '''
        """Twelve labelled steps, left to right."""
        from diagrams import Diagram, Edge
        from diagrams.onprem.compute import Server

        with Diagram("Labelled", show=False, direction="LR"):
            steps = [Server(f"stage {i}") for i in range(12)]
            for i, (a, b) in enumerate(zip(steps, steps[1:])):
                a >> Edge(label=f"hands over {i}") >> b
    ''')
    course.write("pyproject.toml", "[tool.course-assets]\nfit = false\n")
    as_drawn = course.run("build")
    assert as_drawn.exit_code == 0, as_drawn.output
    assert "[text-overlap]" not in as_drawn.output
    assert "[edge-label-away]" not in as_drawn.output
    course.write("pyproject.toml", "[tool.course-assets]\n")
    fitted = course.run("build")
    assert fitted.exit_code == 0, fitted.output
    assert "[text-overlap]" not in fitted.output
    assert "[edge-label-away]" not in fitted.output
