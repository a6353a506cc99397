"""`course-assets check`: every way build/ can drift from its sources, found in one run."""

from __future__ import annotations

import pytest


@pytest.fixture
def built(course):
    course.figure("one")
    course.figure("two")
    course.chapter("ch", '# Ch\n\n{{ diagram("one") }}\n\n{{ diagram("two") }}\n')
    assert course.run("build").exit_code == 0
    return course


def test_passes_on_a_fresh_build(built):
    result = built.run("check")
    assert result.exit_code == 0, result.output
    assert "build/ is up to date: 0 errors" in result.output


def test_edited_script_without_rebuild_fails_naming_the_output(built):
    built.figure("one", 'Mlflow("edited")')
    result = built.run("check")
    assert result.exit_code == 3
    assert "build/diagrams/one.svg: stale" in result.output
    assert "course-assets build" in result.output


def test_hand_edited_output_fails(built):
    svg = built.built("diagrams/two.svg")
    svg.write_bytes(svg.read_bytes().replace(b"pipeline", b"pipelines"))
    result = built.run("check")
    assert result.exit_code == 3
    assert "build/diagrams/two.svg: edited by hand" in result.output
    # The same advice as the build that refuses to overwrite it: where to edit instead.
    assert ("edit the source in diagrams/ instead, or run `course-assets build --force` to "
            "replace it") in result.output
    assert "edit the source in diagrams/ instead" in built.run("build").output


def test_deleted_output_fails(built):
    built.built("chapters/ch.md").unlink()
    result = built.run("check")
    assert result.exit_code == 3
    assert "build/chapters/ch.md: missing" in result.output


def test_external_image_in_a_chapter_fails_with_strict(built):
    built.chapter("ch", '# Ch\n\n{{ diagram("one") }}\n\n![arch](https://kroki.io/x.svg)\n'
                        '<img src="https://showme.example/s/1" />\n')
    assert "chapters/ch.md:5: warning: image from an external URL" in built.run("check").output
    result = built.run("check", "--strict")
    assert result.exit_code == 1
    assert "chapters/ch.md:5: image from an external URL: https://kroki.io/x.svg" in result.output
    assert "chapters/ch.md:6: image from an external URL: https://showme.example/s/1" in result.output


def test_every_problem_is_reported_in_one_run(built):
    built.figure("one", 'Mlflow("edited")')
    built.built("diagrams/two.svg").write_text("<svg/>")
    built.figure("three")
    result = built.run("check")
    assert result.exit_code == 3
    for expected in ("one.svg: stale", "two.svg: edited by hand", "three.svg: never built"):
        assert expected in result.output


def test_broken_relative_link_is_a_warning_and_an_error_when_strict(built):
    built.chapter("ch", '# Ch\n\n{{ diagram("one") }} {{ diagram("two") }}\n\n[Next](chapter-2.md)\n')
    built.run("build")
    result = built.run("check")
    assert result.exit_code == 0
    assert "chapters/ch.md:5: warning: link chapter-2.md resolves to nothing" in result.output
    assert built.run("check", "--strict").exit_code == 1


def test_figure_without_description_is_an_error_and_unused_figure_a_warning(built):
    built.write("diagrams/bare.py", '''
        from diagrams import Diagram, Node
        with Diagram("Bare", show=False):
            Node("x")
    ''')
    built.run("build")
    result = built.run("check")
    assert result.exit_code == 1
    assert "diagrams/bare.py:1: figure has no description" in result.output
    assert "diagrams/bare.py: warning: figure is not used by any chapter" in result.output


def test_orphaned_and_foreign_files_are_listed(built):
    built.built("chapters/stray.md").write_text("# not ours\n")
    result = built.run("check")
    assert result.exit_code == 3
    assert "build/chapters/stray.md: not written by course-assets" in result.output


def test_diff_shows_how_a_chapter_differs(built):
    chapter = built.built("chapters/ch.md")
    chapter.write_text(chapter.read_text().replace("# Ch", "# Changed by hand"))
    result = built.run("check", "--diff")
    assert result.exit_code == 3
    assert "-# Changed by hand" in result.output and "+# Ch" in result.output


def test_check_needs_no_graphviz(built, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot anywhere
    result = built.run("check")
    assert result.exit_code == 0, result.output


def test_description_left_by_migrate_is_a_warning(built):
    built.figure("migrated", doc="TODO(migrate): improve this description.\n\nA flowchart.")
    built.chapter("ch", '{{ diagram("one") }} {{ diagram("two") }} {{ diagram("migrated") }}\n')
    built.run("build")
    result = built.run("check")
    assert result.exit_code == 0
    assert "diagrams/migrated.py:1: warning: figure description is still the one `migrate` wrote" \
        in result.output


def test_a_figure_restored_after_a_failed_build_is_not_remembered_as_failed(built):
    good = (built.root / "diagrams/one.py").read_text()
    built.figure("one", 'raise RuntimeError("oops")')
    assert built.run("build").exit_code != 0
    # Undone: the script is again what the outputs were built from, so nothing is rebuilt...
    (built.root / "diagrams/one.py").write_text(good)
    assert built.run("build").exit_code == 0
    # ...and nothing still says it failed: a fresh build agrees with build/ byte for byte.
    assert "RuntimeError" not in built.built("manifest.json").read_text()
    result = built.run("check", "--rebuild")
    assert result.exit_code == 0, result.output


def test_check_rebuild_writes_nothing_into_build(built):
    def listing() -> dict[str, tuple[int, int]]:
        return {str(p.relative_to(built.root)): (p.stat().st_mtime_ns, p.stat().st_size)
                for p in sorted(built.built("").rglob("*"))}

    built.figure("one", 'Mlflow("edited")')  # something to re-render in memory
    before = listing()
    result = built.run("check", "--rebuild")
    assert result.exit_code != 0  # one.svg is stale
    assert listing() == before
