"""OutputPaths: the one table of where every output goes, relative to the course root."""

from __future__ import annotations

from pathlib import Path

import pytest
from state.statetools import make_settings

from course_assets.outputs import MACHINE_FILES, OutputPaths


@pytest.mark.parametrize(("formats", "expected"), [
    (("svg",), ["flow.svg", "flow.outline.md"]),
    (("svg", "png"), ["flow.svg", "flow.png", "flow.outline.md"]),
    (("svg", "dark"), ["flow.svg", "flow.dark.svg", "flow.outline.md"]),
    (("svg", "png", "dark"), ["flow.svg", "flow.png", "flow.dark.svg", "flow.dark.png",
                              "flow.outline.md"]),
])
def test_a_figure_has_one_file_per_format_and_variant(tmp_path: Path, formats: tuple[str, ...],
                                                      expected: list[str]) -> None:
    paths = OutputPaths(tmp_path, tmp_path / "build", formats)
    assert paths.figure_outputs("flow") == tuple(f"build/diagrams/{name}" for name in expected)


def test_every_output_path_is_relative_to_the_course_with_slashes(tmp_path: Path) -> None:
    paths = OutputPaths(tmp_path, tmp_path / "build", ("svg", "png", "dark"))
    assert paths.figure_variants("flow") == ("flow", "flow.dark")
    assert paths.figure_file("flow.dark.png") == "build/diagrams/flow.dark.png"
    assert paths.chapter_output("part-1/intro") == "build/chapters/part-1/intro.md"
    assert paths.slide_outputs("part-1/intro") == ("build/slides/part-1/intro.html",
                                                    "build/slides/part-1/intro.marp.md")
    assert paths.gallery_output() == "build/diagrams/README.md"
    assert paths.manifest_output() == "build/manifest.json"


def test_settings_move_every_output(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "course", build="site/out", formats=["svg"])
    paths = settings.outputs
    assert paths.build_dir == settings.root / "site/out"
    assert paths.figure_outputs("flow") == ("site/out/diagrams/flow.svg",
                                             "site/out/diagrams/flow.outline.md")
    assert paths.chapter_output("intro") == "site/out/chapters/intro.md"
    assert paths.manifest == settings.root / "site/out/manifest.json"


def test_machine_files_sit_in_the_build_folder(tmp_path: Path) -> None:
    paths = OutputPaths(tmp_path, tmp_path / "build")
    assert {paths.lock.name, paths.hash_cache.name} == set(
        MACHINE_FILES)
    assert {paths.lock.parent, paths.hash_cache.parent, paths.gitignore.parent} == {
        tmp_path / "build"}


def test_absolute_undoes_relative(tmp_path: Path) -> None:
    paths = OutputPaths(tmp_path, tmp_path / "build")
    for path in (paths.figure_outputs("flow")[0], paths.chapter_output("a/b")):
        assert paths.relative(paths.absolute(path)) == path
    assert paths.absolute("build/diagrams/flow.svg") == tmp_path / "build/diagrams/flow.svg"


def test_a_path_reached_through_a_link_is_still_inside_the_course(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "build").mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    paths = OutputPaths(link, link / "build")
    assert paths.relative(real / "build/manifest.json") == "build/manifest.json"
    assert OutputPaths(real, real / "build").relative(link / "build") == "build"


def test_a_path_outside_the_course_has_no_relative_name(tmp_path: Path) -> None:
    (tmp_path / "course").mkdir()
    paths = OutputPaths(tmp_path / "course", tmp_path / "course/build")
    with pytest.raises(ValueError):
        paths.relative(tmp_path / "elsewhere.svg")
