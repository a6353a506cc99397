"""Edge cases: each once broke, and must stay fixed."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from course_assets.render import graphviz as dot
from course_assets.render import icons
from course_assets.render.svg import postprocess

from conftest import custom_icon_figure, library_icon



def test_changing_a_custom_icon_rebuilds_the_figure_and_check_sees_it(course):
    icon = custom_icon_figure(course)
    assert course.run("build").exit_code == 0
    before = course.built("diagrams/custom.svg").read_bytes()
    icon.write_bytes(library_icon("workflow/airflow.png"))
    result = course.run("check")
    assert result.exit_code == 3 and "build/diagrams/custom.svg: stale" in result.output
    result = course.run("build")
    assert "(1 rebuilt, 0 unchanged)" in result.output
    assert course.built("diagrams/custom.svg").read_bytes() != before


@pytest.mark.parametrize("table, expected", [
    ('build = "chapters"', "must not contain each other"),
    ('build = "out"\nchapters = "out/text"', "must not contain each other"),
    ('diagrams = "../elsewhere"', "diagrams must be a folder inside the course"),
    ('chapters = "/tmp"', "chapters must be a folder inside the course"),
    ("timeout = 1e400", "timeout must be a number of seconds"),
    ("timeout = true", "timeout must be a number of seconds"),
    ('formats = ["svg", "gif"]', "formats must be a list"),
])
def test_unusable_settings_are_a_configuration_error(course, table, expected):
    (course.root / "pyproject.toml").write_text(f"[tool.course-assets]\n{table}\n")
    result = course.run("build")
    assert result.exit_code == 2
    assert expected in result.output and "Traceback" not in result.output


def test_broken_figure_template_names_its_line(course):
    course.figure("one")
    course.chapter("ch", '{{ diagram("one") }}\n')
    course.write("templates/figure.md.j2", "<img src=\"{{ src }}\">\n{% if %}\n")
    result = course.run("build")
    assert result.exit_code == 2
    assert "templates/figure.md.j2:2: template syntax error" in result.output


def test_figure_template_with_an_unknown_variable_says_so(course):
    course.figure("one")
    course.chapter("ch", 'x\n{{ diagram("one") }}\n')
    course.write("templates/figure.md.j2", "{{ source }}\n")
    result = course.run("build")
    assert result.exit_code == 1
    assert "chapters/ch.md:2: the figure template" in result.output and "'source'" in result.output


def test_a_file_where_an_output_folder_should_be_is_a_clear_error(course):
    course.figure("one")
    (course.root / "build").mkdir()
    (course.root / "build/diagrams").write_text("not a folder")
    for command in ("build", "check"):
        result = course.run(command)
        assert result.exit_code != 0
        assert "build/diagrams" in result.output and "Traceback" not in result.output


def test_interrupted_output_stays_ours_when_its_figure_then_fails(course):
    course.figure("one", 'Mlflow("first")')
    course.run("build")
    svg = course.built("diagrams/one.svg")
    manifest_path = course.built("manifest.json")
    # As a build killed after writing the new SVG leaves things: new bytes, pending in manifest.
    course.figure("one", 'Mlflow("second")')
    course.run("build")
    new_bytes = svg.read_bytes()
    course.figure("one", 'Mlflow("first")')
    course.run("build")
    manifest = json.loads(manifest_path.read_text())
    manifest["pending"] = {"build/diagrams/one.svg": __import__("hashlib").sha256(new_bytes).hexdigest()}
    manifest_path.write_text(json.dumps(manifest))
    svg.write_bytes(new_bytes)

    course.figure("one", 'raise RuntimeError("broken while editing")')
    assert course.run("build").exit_code == 1
    course.figure("one", 'Mlflow("third")')
    result = course.run("build")
    assert result.exit_code == 0, result.output
    assert b"third" in svg.read_bytes()


@pytest.mark.parametrize("stray", ["diagrams/README.md", "slides/ch.html"])
def test_gallery_and_decks_never_overwrite_a_file_the_build_did_not_write(course, stray):
    course.figure("one")
    course.chapter("ch", '{{ diagram("one") }}\n')
    path = course.built(stray)
    path.parent.mkdir(parents=True)
    path.write_text("written by an author\n")
    result = course.run("build")
    assert result.exit_code == 1
    assert f"build/{stray}: was changed by hand (or not written by course-assets)" in result.output
    assert path.read_text() == "written by an author\n"


def test_gradient_fills_keep_pointing_at_their_renamed_gradients():
    raw = dot.draw('digraph { a [style=filled fillcolor="red:blue"] }').svg
    root = ET.fromstring(postprocess(raw, name="fig", title="t", description="d",
                                     load_icon=icons.load_icon))
    ids = {e.get("id") for e in root.iter() if e.get("id")}
    fills = [e.get("fill") for e in root.iter() if (e.get("fill") or "").startswith("url(")]
    assert fills, "Graphviz drew no gradient"
    for fill in fills:
        assert fill[5:-1] in ids
