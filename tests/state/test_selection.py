"""Which outputs a build of named figures makes, on files and manifests written by hand."""

from __future__ import annotations

import pytest
from state.statetools import StateCourse

from course_assets.errors import ConfigError
from course_assets.state.plan import Kind, Status
from course_assets.state.selection import Selection


def select(state: StateCourse, *asked: str) -> Selection:
    return Selection.of(state.settings, asked, state.scripts(), state.chapters(), state.manifest)


def test_no_names_selects_everything(state: StateCourse) -> None:
    state.built_figure("flow")
    selection = select(state)
    assert selection.names is None
    plans = state.planner(force=True).figures(state.scripts())
    assert selection.plans(plans) == plans


def test_named_figures_bring_the_chapters_that_embed_them(state: StateCourse) -> None:
    state.built_figure("flow")
    state.built_figure("other")
    state.built_chapter("intro", uses=("flow",))
    state.built_chapter("later", uses=("other",))
    # A chapter the manifest does not know yet is read for the name.
    state.write("chapters/fresh.md", '# Fresh\n\n{{ diagram("flow") }}\n')
    selection = select(state, "flow.py")
    assert selection.names == {"flow"}
    assert selection.chapters == {"intro", "fresh"}


def test_a_built_chapter_edited_to_embed_a_named_figure_comes_with_it(state: StateCourse) -> None:
    state.built_figure("flow")
    state.built_chapter("intro")  # built when it embedded nothing
    state.write("chapters/intro.md", '# Intro\n\n{{ diagram( "flow", width=400) }}\n')
    # Only a diagram() call embeds it, not the name quoted in prose.
    state.built_chapter("prose")
    state.write("chapters/prose.md", '# Prose\n\nThe "flow" of data.\n')
    assert select(state, "flow").chapters == {"intro"}


def test_what_a_named_build_leaves_alone_needs_nothing(state: StateCourse) -> None:
    state.built_figure("flow")
    state.built_figure("other")
    selection = select(state, "flow")
    plans = selection.plans(state.planner(force=True).figures(state.scripts()))
    status = {plan.name: plan.status for plan in plans}
    assert status["flow"].needs_build
    assert status["other"] is Status.UNCHANGED
    assert all(o.status is Status.UNCHANGED for p in plans if p.name == "other"
               for o in p.outputs)
    gallery = [p for p in state.planner(force=True).derived(state.manifest.figures, {})
               if p.kind is Kind.GALLERY]
    assert gallery and all(selection.wants(p) for p in gallery)  # it shows the named figure


def test_an_unknown_name_is_refused_with_the_closest_one(state: StateCourse) -> None:
    state.built_figure("workflow")
    with pytest.raises(ConfigError, match=r"unknown figure 'workflw'; did you mean 'workflow'"):
        select(state, "workflw")
