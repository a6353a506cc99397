"""Input hashes: the same sources give the same hash anywhere, and any change gives another."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from state.statetools import ENVIRONMENT, StateCourse, make_settings

from course_assets.state.inputs import (
    chapter_inputs,
    deck_inputs,
    figure_inputs,
    gallery_inputs,
    hash_inputs,
    library_versions,
)
from course_assets.state.manifest import ChapterRecord, FigureRecord


def test_the_hash_of_labelled_parts_is_stable() -> None:
    # Committed manifests hold these hashes: changing the scheme makes every course stale.
    # Each part is its length as 8 big-endian bytes, then its bytes.
    framed = b"".join(len(p).to_bytes(8, "big") + p for p in (b"figure", b"\x00bytes"))
    assert hash_inputs("figure", b"\x00bytes") == hashlib.sha256(framed).hexdigest() == (
        "1cb004ef7070fd636e31f2164da0217e1f641adb1b7adabcc10ed1b10ed431b7")


@given(st.lists(st.text(), min_size=1, max_size=4), st.lists(st.text(), min_size=1, max_size=4))
def test_parts_never_collide_by_concatenation(left: list[str], right: list[str]) -> None:
    if left != right:
        assert hash_inputs(*left) != hash_inputs(*right)


def test_moving_a_part_boundary_changes_the_hash() -> None:
    assert hash_inputs("ab", "c") != hash_inputs("a", "bc")
    assert hash_inputs("a", "") != hash_inputs("a")
    assert hash_inputs("x") == hash_inputs(b"x")  # text is hashed as its UTF-8 bytes


def figure_hash(course: StateCourse, name: str = "flow",
                helpers: tuple[str, ...] = ()) -> str:
    script = course.settings.diagrams_dir / f"{name}.py"
    return figure_inputs(course.settings, script, helpers, ENVIRONMENT)


def test_a_course_hashes_the_same_in_any_folder(tmp_path: Path) -> None:
    hashes = []
    for folder in ("one", "two/deeper"):
        course = StateCourse(make_settings(tmp_path / folder / "course"))
        course.script("flow", "print('same')\n")
        course.write("diagrams/_style.py", "X = 1\n")
        hashes.append(figure_hash(course, helpers=("diagrams/_style.py",)))
    assert hashes[0] == hashes[1]


def test_everything_a_figure_is_made_from_changes_its_hash(state: StateCourse) -> None:
    state.script("flow", "one\n")
    state.write("diagrams/_style.py", "X = 1\n")
    helpers = ("diagrams/_style.py",)
    before = figure_hash(state, helpers=helpers)
    assert figure_hash(state, helpers=helpers) == before
    state.write("diagrams/_style.py", "X = 2\n")
    after_helper = figure_hash(state, helpers=helpers)
    state.script("flow", "two\n")
    after_script = figure_hash(state, helpers=helpers)
    assert len({before, after_helper, after_script}) == 3
    padded = replace(state.settings, raw={**state.settings.raw, "padding": 0.5})
    assert figure_inputs(padded, state.settings.diagrams_dir / "flow.py", helpers,
                         ENVIRONMENT) != after_script
    newer = {**ENVIRONMENT, "diagrams": "0.24.0"}
    assert figure_inputs(state.settings, state.settings.diagrams_dir / "flow.py", helpers,
                         newer) != after_script


def test_how_fast_or_patiently_a_course_builds_does_not_change_its_hashes(
        state: StateCourse) -> None:
    state.script("flow")
    patient = replace(state.settings, raw={**state.settings.raw, "jobs": 4, "timeout": 600})
    script = state.settings.diagrams_dir / "flow.py"
    assert figure_inputs(patient, script, (), ENVIRONMENT) == figure_hash(state)


def test_a_missing_script_is_not_an_empty_one(state: StateCourse) -> None:
    missing = figure_hash(state)
    state.script("flow", "")
    state.write("diagrams/flow.py", b"")
    assert figure_hash(state) != missing


def test_a_chapter_hash_follows_its_source_and_its_figures(state: StateCourse) -> None:
    source = state.write("chapters/intro.md", "# Intro\n")
    flow = FigureRecord("diagrams/flow.py", (), "a" * 64, "Flow", "The flow.",
                        {"build/diagrams/flow.svg": "1" * 64})

    def chapter_hash(figures: dict[str, FigureRecord], used: tuple[str, ...] = ("flow",)) -> str:
        return chapter_inputs(state.settings, source, used, figures, ENVIRONMENT)

    built = chapter_hash({"flow": flow})
    assert chapter_hash({}) != built  # not built yet
    assert chapter_hash({"flow": replace(flow, title="Flows")}) != built
    assert chapter_hash({"flow": replace(flow, outputs={"build/diagrams/flow.svg": "2" * 64})}) \
        != built
    # Only what the chapter embeds counts, and a figure's own inputs do not: its bytes do.
    assert chapter_hash({"flow": flow, "other": flow}) == built
    assert chapter_hash({"flow": replace(flow, inputs="b" * 64)}) == built


def test_the_gallery_and_decks_hash_what_they_show(state: StateCourse) -> None:
    flow = FigureRecord("diagrams/flow.py", (), "a" * 64, "Flow", "The flow.",
                        {"build/diagrams/flow.svg": "1" * 64})
    intro = ChapterRecord("chapters/intro.md", ("flow",), "b" * 64,
                          {"build/chapters/intro.md": "2" * 64})
    settings = state.settings
    gallery = gallery_inputs(settings, {"flow": flow}, {"intro": intro}, ENVIRONMENT)
    assert gallery_inputs(settings, {"flow": flow}, {}, ENVIRONMENT) != gallery
    assert gallery_inputs(settings, {"flow": replace(flow, description="New.")},
                          {"intro": intro}, ENVIRONMENT) != gallery
    deck = deck_inputs(settings, "intro", intro, {"flow": flow}, ENVIRONMENT)
    rewritten = replace(intro, outputs={"build/chapters/intro.md": "3" * 64})
    assert deck_inputs(settings, "intro", rewritten, {"flow": flow}, ENVIRONMENT) != deck
    assert deck_inputs(settings, "intro", intro, {}, ENVIRONMENT) != deck
    # The gallery lists file names, not bytes: a re-rendered figure leaves it as it is.
    redrawn = replace(flow, outputs={"build/diagrams/flow.svg": "9" * 64})
    assert gallery_inputs(settings, {"flow": redrawn}, {"intro": intro}, ENVIRONMENT) == gallery


def test_library_versions_name_what_shapes_the_bytes() -> None:
    versions = library_versions()
    assert set(versions) == {"course-assets", "diagrams", "pillow", "deflate", "graphviz"}
    assert all(version and version[0].isdigit() for name, version in versions.items()
               if name != "graphviz")
    assert versions["graphviz"].startswith("bundled with pygraphviz ")


@pytest.mark.parametrize("name", ["diagrams", "pillow", "deflate"])
def test_library_versions_agree_with_the_installed_metadata(name: str) -> None:
    from importlib import metadata

    assert library_versions()[name] == metadata.version(name)
