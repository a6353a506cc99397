"""The staleness rules, on files and manifests written by hand: no build, no rendering."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from state.statetools import ENVIRONMENT, StateCourse, make_settings

from course_assets.errors import Severity
from course_assets.state.files import FileHashes, sha256_bytes
from course_assets.state.manifest import DerivedRecord, Manifest
from course_assets.state.plan import (
    Kind,
    OutputPlan,
    Status,
    hand_edits,
    orphaned_outputs,
    overall_status,
    removable_orphans,
)


def only(plans: list[OutputPlan]) -> OutputPlan:
    assert len(plans) == 1, plans
    return plans[0]


def states(plan: OutputPlan) -> dict[str, Status]:
    return {output.path: output.status for output in plan.outputs}


# -- figures --------------------------------------------------------------------------------------

def test_a_figure_as_built_is_unchanged(state: StateCourse) -> None:
    state.built_figure("flow")
    plan = only(state.planner().figures(state.scripts()))
    assert (plan.kind, plan.name, plan.status) == (Kind.FIGURE, "flow", Status.UNCHANGED)
    assert not plan.status.needs_build
    assert plan.record is state.manifest.figures["flow"]
    assert states(plan) == {
        "build/diagrams/flow.svg": Status.UNCHANGED, "build/diagrams/flow.png": Status.UNCHANGED,
        "build/diagrams/flow.dark.svg": Status.UNCHANGED,
        "build/diagrams/flow.dark.png": Status.UNCHANGED,
        "build/diagrams/flow.outline.md": Status.UNCHANGED,
    }


def test_a_figure_never_built_is_missing_its_files(state: StateCourse) -> None:
    state.script("flow")
    plan = only(state.planner().figures(state.scripts()))
    assert plan.record is None
    assert plan.status is Status.MISSING and plan.status.needs_build
    assert set(states(plan).values()) == {Status.MISSING}


def test_files_of_an_interrupted_first_build_make_a_new_figure(state: StateCourse) -> None:
    # The first build wrote the files and announced them as pending, then stopped before the
    # manifest recorded the figure: the files are ours, the figure is new.
    record = state.built_figure("flow")
    state.manifest = Manifest(ENVIRONMENT, pending=dict(record.outputs))
    plan = only(state.planner().figures(state.scripts()))
    assert plan.status is Status.NEW
    assert set(states(plan).values()) == {Status.UNCHANGED}


def test_an_edited_script_changes_its_figure(state: StateCourse) -> None:
    state.built_figure("flow")
    state.script("flow", '"""The flow figure, redrawn."""\n')
    plan = only(state.planner().figures(state.scripts()))
    assert plan.status is Status.CHANGED
    assert plan.record is not None and plan.inputs != plan.record.inputs


def test_an_edited_helper_changes_the_figures_that_imported_it(state: StateCourse) -> None:
    state.write("diagrams/_style.py", "COLOUR = 'red'\n")
    state.built_figure("flow", helpers=("diagrams/_style.py",))
    state.built_figure("other")
    state.write("diagrams/_style.py", "COLOUR = 'blue'\n")
    plans = {plan.name: plan.status for plan in state.planner().figures(state.scripts())}
    assert plans == {"flow": Status.CHANGED, "other": Status.UNCHANGED}


def test_another_graphviz_changes_every_figure(state: StateCourse) -> None:
    state.built_figure("flow")
    newer = {**ENVIRONMENT, "graphviz": "12.2.1"}
    assert only(state.planner(environment=newer).figures(state.scripts())).status is Status.CHANGED


def test_a_deleted_output_is_missing(state: StateCourse) -> None:
    state.built_figure("flow")
    (state.root / "build/diagrams/flow.dark.png").unlink()
    plan = only(state.planner().figures(state.scripts()))
    assert plan.status is Status.MISSING
    assert [p for p, s in states(plan).items() if s is Status.MISSING] == [
        "build/diagrams/flow.dark.png"]


def test_an_output_changed_by_hand_is_hand_edited(state: StateCourse) -> None:
    state.built_figure("flow")
    state.write("build/diagrams/flow.svg", "<svg>touched up</svg>")
    plan = only(state.planner().figures(state.scripts()))
    assert plan.status is Status.HAND_EDITED
    assert states(plan)["build/diagrams/flow.svg"] is Status.HAND_EDITED


def test_a_file_in_place_of_an_output_never_built_is_hand_edited(state: StateCourse) -> None:
    state.script("flow")
    state.write("build/diagrams/flow.svg", "<svg>someone else's</svg>")
    plan = only(state.planner().figures(state.scripts()))
    assert states(plan)["build/diagrams/flow.svg"] is Status.HAND_EDITED


def test_an_output_written_by_a_stopped_build_is_interrupted(state: StateCourse) -> None:
    state.built_figure("flow")
    newer = b"<svg>the next build's</svg>"
    state.write("build/diagrams/flow.svg", newer)
    state.manifest = replace(state.manifest,
                             pending={"build/diagrams/flow.svg": sha256_bytes(newer)})
    plan = only(state.planner().figures(state.scripts()))
    assert plan.status is Status.INTERRUPTED
    assert states(plan)["build/diagrams/flow.svg"] is Status.INTERRUPTED


def test_force_rebuilds_what_is_unchanged(state: StateCourse) -> None:
    state.built_figure("flow")
    plan = only(state.planner(force=True).figures(state.scripts()))
    assert plan.status is Status.FORCED and plan.status.needs_build


def test_force_does_not_hide_a_hand_edit_or_a_change(state: StateCourse) -> None:
    state.built_figure("flow")
    state.built_figure("other")
    state.write("build/diagrams/flow.png", b"edited")
    state.script("other", '"""Changed."""\n')
    plans = {plan.name: plan.status for plan in state.planner(force=True).figures(state.scripts())}
    assert plans == {"flow": Status.HAND_EDITED, "other": Status.CHANGED}


def test_a_hand_edit_outranks_a_missing_file_which_outranks_an_interrupted_one() -> None:
    from course_assets.state.plan import OutputState

    edited, missing = OutputState("a", Status.HAND_EDITED), OutputState("b", Status.MISSING)
    interrupted = OutputState("c", Status.INTERRUPTED)
    assert overall_status("x", "y", (interrupted, missing, edited), False) is Status.HAND_EDITED
    assert overall_status("x", "y", (interrupted, missing), False) is Status.MISSING
    assert overall_status(None, "y", (interrupted,), True) is Status.INTERRUPTED
    assert overall_status(None, "y", (), True) is Status.NEW
    assert overall_status("x", "y", (), True) is Status.CHANGED


def test_formats_decide_which_files_a_figure_is_planned_with(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "course", formats=["svg"])
    settings.diagrams_dir.mkdir()
    course = StateCourse(settings)
    course.built_figure("flow")
    plan = only(course.planner().figures(course.scripts()))
    assert list(states(plan)) == ["build/diagrams/flow.svg", "build/diagrams/flow.outline.md"]


# -- chapters -------------------------------------------------------------------------------------

def test_a_chapter_as_built_is_unchanged(state: StateCourse) -> None:
    state.built_figure("flow")
    state.built_chapter("intro", uses=("flow",))
    plan = only(state.planner().chapters(state.chapters(), state.manifest.figures))
    assert (plan.kind, plan.status) == (Kind.CHAPTER, Status.UNCHANGED)
    assert states(plan) == {"build/chapters/intro.md": Status.UNCHANGED}


def test_a_chapter_changes_when_a_figure_it_embeds_is_rebuilt(state: StateCourse) -> None:
    flow = state.built_figure("flow")
    state.built_figure("other")
    state.built_chapter("intro", uses=("flow",))
    state.built_chapter("outro", uses=("other",))
    rebuilt = replace(flow, outputs={path: "0" * 64 for path in flow.outputs})
    figures = {**state.manifest.figures, "flow": rebuilt}
    plans = state.planner().chapters(state.chapters(), figures)
    assert {plan.name: plan.status for plan in plans} == {
        "intro": Status.CHANGED, "outro": Status.UNCHANGED}


def test_a_chapter_changes_when_a_figure_it_embeds_gets_a_new_description(
        state: StateCourse) -> None:
    flow = state.built_figure("flow")
    state.built_chapter("intro", uses=("flow",))
    figures = {"flow": replace(flow, description="Better alt text.")}
    assert only(state.planner().chapters(state.chapters(), figures)).status is Status.CHANGED


def test_every_chapter_changes_when_the_course_overrides_the_figure_snippet(
        state: StateCourse) -> None:
    state.built_chapter("intro")
    state.write("templates/figure.md.j2", "![{{ alt }}]({{ path }})\n")
    assert only(state.planner().chapters(state.chapters(), {})).status is Status.CHANGED


def test_an_edited_chapter_source_changes_it(state: StateCourse) -> None:
    state.built_chapter("intro")
    state.write("chapters/intro.md", "# Introduction, revised\n")
    assert only(state.planner().chapters(state.chapters(), {})).status is Status.CHANGED


def test_a_built_chapter_edited_by_hand_is_hand_edited(state: StateCourse) -> None:
    state.built_chapter("intro")
    state.write("build/chapters/intro.md", "# fixed a typo here\n")
    assert only(state.planner().chapters(state.chapters(), {})).status is Status.HAND_EDITED


# -- the gallery and the decks --------------------------------------------------------------------

def test_the_gallery_is_planned_only_when_there_are_figures(state: StateCourse) -> None:
    state.built_chapter("intro")
    planner = state.planner()
    plans = planner.derived({}, state.manifest.chapters)
    assert [(plan.kind, plan.name) for plan in plans] == [(Kind.SLIDES, "intro")]
    state.built_figure("flow")
    plans = state.planner().derived(state.manifest.figures, state.manifest.chapters)
    assert [(plan.kind, plan.name) for plan in plans] == [(Kind.GALLERY, ""),
                                                          (Kind.SLIDES, "intro")]


def test_derived_outputs_not_built_yet_are_missing(state: StateCourse) -> None:
    state.built_figure("flow")
    state.built_chapter("intro", uses=("flow",))
    gallery, decks = state.planner().derived(state.manifest.figures, state.manifest.chapters)
    assert states(gallery) == {"build/diagrams/README.md": Status.MISSING}
    assert states(decks) == {"build/slides/intro.html": Status.MISSING,
                             "build/slides/intro.marp.md": Status.MISSING,
                             "build/slides/intro.pptx": Status.MISSING,
                             "build/slides/intro.dark.pptx": Status.MISSING}
    assert decks.source == state.root / "chapters/intro.md"


def test_derived_outputs_as_recorded_are_unchanged_until_their_inputs_move(
        state: StateCourse) -> None:
    state.built_figure("flow")
    state.built_chapter("intro", uses=("flow",))
    first = state.planner().derived(state.manifest.figures, state.manifest.chapters)
    state.manifest = replace(state.manifest, **recorded(state, first))
    gallery, decks = state.planner().derived(state.manifest.figures, state.manifest.chapters)
    assert (gallery.status, decks.status) == (Status.UNCHANGED, Status.UNCHANGED)
    # The gallery lists who uses each figure; the decks show the built chapter's bytes.
    state.built_chapter("intro", uses=())
    gallery, decks = state.planner().derived(state.manifest.figures, state.manifest.chapters)
    assert (gallery.status, decks.status) == (Status.CHANGED, Status.CHANGED)


def recorded(state: StateCourse, plans: list[OutputPlan]) -> dict[str, Any]:
    """Write every planned derived output and return the manifest fields recording them."""
    gallery: DerivedRecord | None = None
    slides: dict[str, DerivedRecord] = {}
    for plan in plans:
        outputs = {}
        for output in plan.outputs:
            data = f"{output.path} as built".encode()
            state.write(output.path, data)
            outputs[output.path] = sha256_bytes(data)
        if plan.kind is Kind.GALLERY:
            gallery = DerivedRecord(plan.inputs, outputs)
        else:
            slides[plan.name] = DerivedRecord(plan.inputs, outputs)
    return {"gallery": gallery, "slides": slides}


def test_existing_plans_find_hand_edits_without_hashing_inputs(state: StateCourse) -> None:
    state.built_figure("flow")
    state.built_chapter("intro", uses=("flow",))
    plans = state.planner().existing(["intro"], has_figures=True)
    assert [(plan.kind, plan.name, plan.inputs) for plan in plans] == [
        (Kind.CHAPTER, "intro", ""), (Kind.GALLERY, "", ""), (Kind.SLIDES, "intro", "")]
    # Only the files' states mean anything here: with no inputs hashed, the status says nothing
    # about whether the sources changed.
    assert set(states(plans[0]).values()) == {Status.UNCHANGED}
    state.write("build/chapters/intro.md", "edited")
    assert state.planner().existing(["intro"], True)[0].status is Status.HAND_EDITED
    assert [plan.kind for plan in state.planner().existing([], False)] == []


# -- hand edits -----------------------------------------------------------------------------------

def test_each_hand_edited_file_is_one_problem_that_says_where_to_edit(state: StateCourse) -> None:
    state.built_figure("flow")
    state.built_chapter("intro", uses=("flow",))
    state.write("build/diagrams/flow.svg", "edited")
    state.write("build/diagrams/flow.dark.svg", "edited")
    state.write("build/chapters/intro.md", "edited")
    state.write("build/diagrams/README.md", "a gallery nobody built")
    planner = state.planner()
    plans = [*planner.figures(state.scripts()), *planner.existing(["intro"], True)]
    problems = hand_edits(state.settings, plans)
    by_path = {problem.path.as_posix(): problem.message for problem in problems if problem.path}
    assert sorted(by_path) == ["build/chapters/intro.md", "build/diagrams/README.md",
                               "build/diagrams/flow.dark.svg", "build/diagrams/flow.svg"]
    assert all(problem.severity is Severity.ERROR and problem.line is None
               for problem in problems)
    assert "edit the source in diagrams/ instead" in by_path["build/diagrams/flow.svg"]
    assert "edit the source in chapters/ instead" in by_path["build/chapters/intro.md"]
    assert "made from the figures and chapters" in by_path["build/diagrams/README.md"]
    assert all("course-assets build --force" in message for message in by_path.values())


def test_no_hand_edit_no_problem(state: StateCourse) -> None:
    state.built_figure("flow")
    state.script("flow", '"""Changed."""\n')
    (state.root / "build/diagrams/flow.png").unlink()
    assert hand_edits(state.settings, state.planner().figures(state.scripts())) == []


# -- orphans --------------------------------------------------------------------------------------

def orphan_course(state: StateCourse) -> StateCourse:
    """A course with two figures, two chapters, the gallery and both chapters' decks built."""
    state.built_figure("flow")
    state.built_figure("gone")
    state.built_chapter("intro", uses=("flow",))
    state.built_chapter("old", uses=("gone",))
    plans = state.planner().derived(state.manifest.figures, state.manifest.chapters)
    state.manifest = replace(state.manifest, **recorded(state, plans))
    return state


def test_nothing_is_orphaned_while_every_source_is_there(state: StateCourse) -> None:
    course = orphan_course(state)
    assert orphaned_outputs(course.settings, course.manifest, {"flow", "gone"},
                            {"intro", "old"}) == {}


def test_a_deleted_script_orphans_every_file_of_its_figure(state: StateCourse) -> None:
    course = orphan_course(state)
    orphans = orphaned_outputs(course.settings, course.manifest, {"flow"}, {"intro", "old"})
    assert orphans == course.manifest.figures["gone"].outputs


def test_a_deleted_chapter_orphans_its_markdown_and_its_decks(state: StateCourse) -> None:
    course = orphan_course(state)
    orphans = orphaned_outputs(course.settings, course.manifest, {"flow", "gone"}, {"intro"})
    assert sorted(orphans) == ["build/chapters/old.md", "build/slides/old.dark.pptx",
                               "build/slides/old.html", "build/slides/old.marp.md",
                               "build/slides/old.pptx"]
    assert orphans["build/slides/old.html"] == course.manifest.slides["old"].outputs[
        "build/slides/old.html"]


def test_without_figures_the_gallery_is_orphaned(state: StateCourse) -> None:
    course = orphan_course(state)
    orphans = orphaned_outputs(course.settings, course.manifest, set(), {"intro", "old"})
    assert "build/diagrams/README.md" in orphans
    assert not any(path.startswith("build/chapters/") for path in orphans)


def test_a_format_turned_off_orphans_its_files(state: StateCourse) -> None:
    course = orphan_course(state)
    svg_only = replace(course.settings, formats=("svg",))
    orphans = orphaned_outputs(svg_only, course.manifest, {"flow", "gone"}, {"intro", "old"})
    # The PowerPoint decks show the PNGs, so they go with them.
    assert sorted(orphans) == sorted([
        *(f"build/diagrams/{name}{variant}.{suffix}" for name in ("flow", "gone")
          for variant, suffix in ((".dark", "svg"), (".dark", "png"), ("", "png"))),
        *(f"build/slides/{name}{variant}.pptx" for name in ("intro", "old")
          for variant in ("", ".dark"))])


def test_orphans_as_written_are_removable_and_edited_ones_are_kept(state: StateCourse) -> None:
    course = orphan_course(state)
    orphans = orphaned_outputs(course.settings, course.manifest, {"flow"}, {"intro", "old"})
    course.write("build/diagrams/gone.svg", "touched by hand")
    (course.root / "build/diagrams/gone.png").unlink()
    removable, kept = removable_orphans(course.settings, course.manifest, orphans, FileHashes())
    assert removable == ["build/diagrams/gone.dark.png", "build/diagrams/gone.dark.svg",
                         "build/diagrams/gone.outline.md"]
    assert [(problem.path, problem.severity) for problem in kept] == [
        (Path("build/diagrams/gone.svg"), Severity.WARNING)]
    assert "changed by hand, so it was left in place" in kept[0].message


def test_an_orphan_a_stopped_build_was_writing_is_removable(state: StateCourse) -> None:
    course = orphan_course(state)
    newer = b"written by the build that stopped"
    course.write("build/diagrams/gone.svg", newer)
    course.manifest = replace(course.manifest,
                              pending={"build/diagrams/gone.svg": sha256_bytes(newer)})
    orphans = orphaned_outputs(course.settings, course.manifest, {"flow"}, {"intro", "old"})
    removable, kept = removable_orphans(course.settings, course.manifest, orphans, FileHashes())
    assert "build/diagrams/gone.svg" in removable and kept == []
