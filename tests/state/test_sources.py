"""Discovery: which files are figures and chapters, and which names are refused and why."""

from __future__ import annotations

from pathlib import Path

from state.statetools import StateCourse, make_settings

from course_assets.state.sources import discover, figure_description


def test_helpers_partials_and_hidden_folders_are_not_sources(state: StateCourse) -> None:
    state.script("flow")
    state.write("diagrams/_style.py", "")
    state.write("diagrams/notes.txt", "")
    state.write("chapters/intro.md", "")
    state.write("chapters/part-1/deep.md", "")
    state.write("chapters/_partial.md", "")
    state.write("chapters/_parts/inner.md", "")
    state.write("chapters/.drafts/idea.md", "")
    found = discover(state.settings)
    assert list(found.figures) == ["flow"]
    assert list(found.chapters) == ["intro", "part-1/deep"]
    assert found.problems == () and found.held_back == frozenset()


def test_a_script_name_that_would_clash_with_output_suffixes_is_refused(
        state: StateCourse) -> None:
    state.script("flow.dark")
    found = discover(state.settings)
    assert found.figures == {}
    assert [p.path.name for p in found.problems if p.path] == ["flow.dark.py"]
    assert "only letters, digits, '_' and '-'" in found.problems[0].message
    assert "'flow.dark.py' holds '.'" in found.problems[0].message


def test_names_differing_only_in_case_are_held_back_not_orphaned(state: StateCourse) -> None:
    state.script("Flow")
    state.script("flow")
    state.script("other")
    state.write("chapters/Intro.md", "")
    state.write("chapters/intro.md", "")
    found = discover(state.settings)
    assert list(found.figures) == ["other"] and found.chapters == {}
    assert found.held_back == {"Flow", "flow", "Intro", "intro"}
    messages = [problem.message for problem in found.problems]
    assert len(messages) == 2
    assert "figure scripts whose names differ only in case" in messages[0]
    assert "Flow.py, flow.py" in messages[0]


def test_a_course_without_its_folders_has_no_sources(tmp_path: Path) -> None:
    found = discover(make_settings(tmp_path / "empty"))
    assert (found.figures, found.chapters, found.problems) == ({}, {}, ())


def test_the_description_is_the_docstring_read_without_running_the_script(
        state: StateCourse) -> None:
    script = state.script("flow", '"""  The flow.  """\nraise SystemExit("never run")\n')
    assert figure_description(script) == "The flow."
    assert figure_description(state.script("blank", '"""   """\n')) is None
    assert figure_description(state.script("broken", "def (\n")) is None
    assert figure_description(state.settings.diagrams_dir / "missing.py") is None
