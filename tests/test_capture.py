"""Capturing a figure script: its graph, title and description, with nothing rendered."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from course_assets.render.capture import capture_script
from course_assets.errors import FigureError
from course_assets.render.isolate import run_isolated


def capture(script: Path, root: Path):
    captured, _output = run_isolated(lambda: capture_script(script, root, 0.2), timeout=30)
    return captured


def test_capture_returns_title_description_and_dot(course):
    script = course.figure("flow", title="My flow", doc="Data goes\n   to training.")
    captured = capture(script, course.root)
    assert captured.title == "My flow"
    assert captured.description == "Data goes to training."
    assert "digraph" in captured.dot_source
    assert "tracking" in captured.dot_source and "pipeline" in captured.dot_source


def test_node_ids_are_stable_not_random(course):
    script = course.figure("flow")
    first = capture(script, course.root).dot_source
    second = capture(script, course.root).dot_source
    assert first == second
    assert '"n1"' in first or " n1 " in first or "n1 [" in first


def test_library_padding_is_tightened(course):
    script = course.figure("flow")
    assert "pad=2.0" not in capture(script, course.root).dot_source
    assert "pad=0.2" in capture(script, course.root).dot_source


def test_nothing_is_rendered_or_opened_whatever_the_script_asks(course, tmp_path, monkeypatch):
    script = course.write("diagrams/loud.py", '''
        """Asks to be shown, in several formats, under another name."""
        from diagrams import Diagram
        from diagrams.onprem.mlops import Mlflow
        with Diagram("Loud", show=True, outformat=["png", "svg", "pdf"], filename="elsewhere"):
            Mlflow("m")
    ''')
    monkeypatch.chdir(tmp_path)
    before = sorted(os.listdir(tmp_path))
    captured = capture(script, course.root)
    assert captured.title == "Loud"
    assert sorted(os.listdir(tmp_path)) == before
    assert sorted(p.name for p in (course.root / "diagrams").iterdir()) == ["loud.py"]


def test_helpers_the_script_imports_are_recorded(course):
    course.write("diagrams/_style.py", 'COLOR = "#123456"\n')
    script = course.write("diagrams/styled.py", '''
        """Uses the course style."""
        from diagrams import Diagram, Node
        from _style import COLOR
        with Diagram("Styled", show=False):
            Node("a", color=COLOR)
    ''')
    captured = capture(script, course.root)
    assert [h.name for h in captured.helpers] == ["_style.py"]
    assert "#123456" in captured.dot_source


def test_a_script_without_diagram_is_an_error(course):
    script = course.write("diagrams/empty.py", '"""Nothing here."""\nx = 1\n')
    with pytest.raises(FigureError, match="exactly one"):
        capture(script, course.root)


def test_a_script_with_two_diagrams_is_an_error(course):
    script = course.write("diagrams/two.py", '''
        """Two figures in one script."""
        from diagrams import Diagram, Node
        with Diagram("One", show=False):
            Node("a")
        with Diagram("Two", show=False):
            Node("b")
    ''')
    with pytest.raises(FigureError, match="defines 2 Diagrams") as caught:
        capture(script, course.root)
    assert caught.value.line == 5
