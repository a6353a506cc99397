"""Rendering chapters: figure snippets, paths, alt text, and errors at the chapter's line."""

from __future__ import annotations

from pathlib import Path

import pytest

from course_assets.publish.chapters import ChapterRenderer, FigureRef


@pytest.fixture
def renderer(tmp_path: Path) -> ChapterRenderer:
    figures = {
        "flow": FigureRef("flow", tmp_path / "build/diagrams/flow.svg", "Flow", 'Data "flows" <here>'),
        "mlops_benefits": FigureRef("mlops_benefits", tmp_path / "build/diagrams/mlops_benefits.svg",
                                    "Why", "Benefits."),
    }
    return ChapterRenderer(figures, tmp_path / "templates")


def render(renderer: ChapterRenderer, tmp_path: Path, text: str | bytes, name: str = "ch.md"):
    source = tmp_path / "chapters" / name
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return renderer.render(source, tmp_path / "build/chapters" / name)


def test_snippet_has_relative_path_and_escaped_alt(renderer, tmp_path):
    result = render(renderer, tmp_path, '# T\n\n{{ diagram("flow") }}\n\n[Next](chapter-2.md)\n')
    assert result.problem is None
    assert 'src="../diagrams/flow.svg"' in result.text
    assert 'alt="Data &#34;flows&#34; &lt;here&gt;"' in result.text
    assert "[Next](chapter-2.md)" in result.text
    assert result.text.endswith("\n")
    assert result.figures == ("flow",)


def test_alt_and_width_can_be_given(renderer, tmp_path):
    result = render(renderer, tmp_path, '{{ diagram("flow", alt="Short", width=480) }}')
    assert 'alt="Short"' in result.text and 'width="480"' in result.text


def test_nested_chapter_gets_a_path_from_its_own_folder(renderer, tmp_path):
    result = render(renderer, tmp_path, '{{ diagram("flow") }}', name="part/ch.md")
    assert 'src="../../diagrams/flow.svg"' in result.text


def test_course_can_override_the_snippet(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates/figure.md.j2").write_text("![{{ alt }}]({{ src }})")
    figures = {"flow": FigureRef("flow", tmp_path / "build/diagrams/flow.svg", "Flow", "Desc")}
    result = render(ChapterRenderer(figures, tmp_path / "templates"), tmp_path,
                    '{{ diagram("flow") }}')
    assert result.text == "![Desc](../diagrams/flow.svg)"


def test_unknown_figure_names_the_line_and_suggests(renderer, tmp_path):
    result = render(renderer, tmp_path, 'one\ntwo\n{{ diagram("mlops_benefit") }}\n')
    assert result.problem.line == 3
    assert "unknown figure 'mlops_benefit'" in result.problem.message
    assert "did you mean 'mlops_benefits'" in result.problem.message


def test_syntax_error_names_the_line(renderer, tmp_path):
    result = render(renderer, tmp_path, "ok\n\n{{ diagram( }}\n")
    assert result.problem.line == 3 and "syntax" in result.problem.message


def test_undefined_variable_names_the_line(renderer, tmp_path):
    result = render(renderer, tmp_path, "a\n{{ author }}\n")
    assert result.problem.line == 2 and "author" in result.problem.message


def test_sandbox_refuses_python_internals(renderer, tmp_path):
    result = render(renderer, tmp_path, "x\n{{ ''.__class__.__mro__ }}\n")
    assert result.problem is not None
    assert result.problem.line == 2
    assert "unsafe" in result.problem.message or "undefined" in result.problem.message


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "sub/flow", ".hidden", "flow.py"])
def test_names_that_leave_the_figures_folder_are_rejected(renderer, tmp_path, name):
    result = render(renderer, tmp_path, f'{{{{ diagram("{name}") }}}}')
    assert result.problem is not None and result.text is None


def test_bom_is_accepted_and_dropped(renderer, tmp_path):
    result = render(renderer, tmp_path, "\ufeff# Title\n".encode("utf-8"))
    assert result.text == "# Title\n"


def test_non_utf8_is_a_clear_error(renderer, tmp_path):
    result = render(renderer, tmp_path, "# Tit\nle caf\xe9\n".encode("latin-1"))
    assert result.problem.line == 2 and "UTF-8" in result.problem.message
