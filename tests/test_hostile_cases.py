"""Odd but real chapters and settings, through the real commands: decks, external images."""

from __future__ import annotations

from pathlib import Path

from conftest import Course

A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"


def deck_paragraphs(deck: Path) -> list[list[tuple[str, object]]]:
    """Return each slide's paragraphs as (text, bullet properties element or None)."""
    from pptx import Presentation

    slides = []
    for slide in Presentation(str(deck)).slides:
        paragraphs = []
        for shape in slide.shapes:
            if shape.has_text_frame:
                for paragraph in shape.text_frame.paragraphs:
                    if paragraph.text:
                        paragraphs.append((paragraph.text, paragraph._p.pPr))
        slides.append(paragraphs)
    return slides


def test_an_img_srcset_from_another_site_is_an_external_image(course: Course) -> None:
    from PIL import Image

    (course.root / "chapters" / "img").mkdir(parents=True)
    Image.new("RGB", (20, 10), "white").save(course.root / "chapters" / "img" / "p.png")
    course.chapter("ch", """\
        # Ch

        <img src="../../chapters/img/p.png" srcset="https://evil.example.org/a.png 2x" alt="a photo">
        """)
    result = course.run("build")
    expected = "chapters/ch.md:3: warning: image from an external URL: https://evil.example.org/a.png"
    assert expected in result.output
    assert course.run("build", "--strict").exit_code == 1
    check = course.run("check")
    assert expected in check.output


def test_a_deck_shows_no_style_sheet_or_script_of_an_html_block_as_text(course: Course) -> None:
    course.chapter("ch", """\
        # Ch

        ## Styled

        <div>
        <style>.note { color: red }</style>
        <p>Visible words</p>
        <script>console.log("hidden")</script>
        </div>
        """)
    assert course.run("build", "-q").exit_code == 0
    texts = [text for slide in deck_paragraphs(course.built("slides/ch.pptx"))
             for text, _ in slide]
    assert "Visible words" in texts
    assert not any("color" in text or "console" in text for text in texts), texts


def test_an_ordered_list_from_zero_or_a_big_number_keeps_its_numbers(course: Course) -> None:
    course.chapter("ch", """\
        # Ch

        ## Lists

        0. zero
        1. one

        Between.

        123456789. big
        123456790. bigger
        """)
    assert course.run("build", "-q").exit_code == 0
    paragraphs = dict(deck_paragraphs(course.built("slides/ch.pptx"))[1])
    expected = {"zero": 0, "one": 1, "big": 123456789, "bigger": 123456790}
    for word, number in expected.items():
        label, properties = next((t, p) for t, p in paragraphs.items() if t.endswith(word))
        assert properties.find(f"{A}buChar") is None, f"{word} is shown as a bullet"
        numbering = properties.find(f"{A}buAutoNum")
        if numbering is None:
            assert label == f"{number}. {word}", label
        else:
            # PowerPoint's schema numbers from 1 to 32767 (ST_TextBulletStartAtNum).
            assert numbering.get("startAt") == str(number) and 1 <= number <= 32767, label


def test_a_very_long_section_stays_on_its_slide(course: Course) -> None:
    from pptx import Presentation

    paragraphs = "\n\n".join(f"Paragraph {i} " + "word " * 60 for i in range(40))
    course.chapter("ch", f"# Ch\n\n## Long\n\n{paragraphs}\n")
    assert course.run("build", "-q").exit_code == 0
    deck = Presentation(str(course.built("slides/ch.pptx")))
    for shape in deck.slides[1].shapes:
        assert shape.top + shape.height <= deck.slide_height, shape.name
    # PowerPoint shrinks the text by the scale the deck names, rather than spill it.
    body = max(deck.slides[1].shapes, key=lambda shape: shape.height)
    fit = body.text_frame._txBody.bodyPr.find(f"{A}normAutofit")
    assert fit is not None and 1000 <= int(fit.get("fontScale", "100000")) < 100000


def test_control_characters_pasted_into_a_chapter_are_no_escape_codes_on_a_slide(
        course: Course) -> None:
    course.chapter("ch", "# Ch\n\n## Pasted\n\nPage one\x0cpage two, \x1b[1mbold\x1b[0m.\uffff\n")
    assert course.run("build", "-q").exit_code == 0
    texts = [text for slide in deck_paragraphs(course.built("slides/ch.pptx"))
             for text, _ in slide]
    assert "Page one page two, [1mbold[0m." in texts, texts


def test_a_figure_inside_a_list_item_is_a_picture_on_its_slide(course: Course) -> None:
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    course.figure("tracking")
    course.chapter("ch", """\
        # Ch

        ## Steps

        1. Track the runs:

           {{ diagram("tracking") }}

        2. Then look at ![the tracking figure](../diagrams/tracking.svg) again.
        """)
    assert course.run("build", "-q").exit_code == 0
    html = course.built("slides/ch.html").read_text(encoding="utf-8")
    assert html.count("<img ") == 2  # the HTML deck shows both
    slide = Presentation(str(course.built("slides/ch.pptx"))).slides[1]
    pictures = [shape for shape in slide.shapes if shape.shape_type == MSO_SHAPE_TYPE.PICTURE]
    assert [picture.name for picture in pictures] == ["tracking", "tracking"]
    texts = [shape.text_frame.text for shape in slide.shapes if shape.has_text_frame]
    assert any("Track the runs" in text for text in texts)


PYTHON_GITIGNORE = """\
# Distribution / packaging
.Python
build/
develop-eggs/
dist/
*.egg-info/
"""


def test_init_in_a_repository_that_ignores_build_makes_git_see_the_outputs(tmp_path) -> None:
    import shutil
    import subprocess

    from click.testing import CliRunner

    from course_assets.cli import cli

    git = shutil.which("git")
    assert git is not None
    subprocess.run([git, "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    # GitHub's Python .gitignore ignores build/, where a course's committed outputs live.
    (tmp_path / ".gitignore").write_text(PYTHON_GITIGNORE, encoding="utf-8")
    result = CliRunner().invoke(cli, ["init", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (tmp_path / ".gitignore").read_text(encoding="utf-8").startswith(PYTHON_GITIGNORE)
    build = CliRunner().invoke(cli, ["-C", str(tmp_path), "build", "-q"],
                               catch_exceptions=False)
    assert build.exit_code == 0, build.output
    outputs = ["build/manifest.json", "build/chapters/introduction.md",
               "build/slides/introduction.pptx"]
    ignored = subprocess.run([git, "-C", str(tmp_path), "check-ignore", *outputs],
                             capture_output=True, text=True)
    assert ignored.stdout == "", f"git ignores the course's outputs:\n{ignored.stdout}"
    # What the build keeps for itself stays out of git.
    private = subprocess.run([git, "-C", str(tmp_path), "check-ignore",
                              "build/.hash-cache.json"], capture_output=True, text=True)
    assert private.stdout.strip() == "build/.hash-cache.json"
    lines = (tmp_path / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert lines.count("!/build/") == 1


def test_init_adds_to_a_crlf_gitignore_in_its_own_line_endings(tmp_path) -> None:
    from click.testing import CliRunner

    from course_assets.cli import cli

    (tmp_path / "pyproject.toml").write_bytes(b'[project]\r\nname = "x"\r\n')
    (tmp_path / ".gitignore").write_bytes(b"dist/\r\n*.pyc")  # no newline at its end
    result = CliRunner().invoke(cli, ["init", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for name in ("pyproject.toml", ".gitignore"):
        data = (tmp_path / name).read_bytes()
        assert data.count(b"\n") == data.count(b"\r\n"), (name, data)
    assert (tmp_path / ".gitignore").read_bytes().startswith(b"dist/\r\n*.pyc\r\n")


def test_control_characters_in_a_title_or_figure_description_build_a_deck(
        course: Course) -> None:
    from pptx import Presentation

    course.figure("fig", doc="A figure\x0c with a form feed.")
    course.chapter("ch", '# Title\x0b with a vertical tab\n\n## S\n\n{{ diagram("fig") }}\n')
    result = course.run("build")
    assert "internal error" not in result.output and result.exit_code == 0, result.output
    deck = Presentation(str(course.built("slides/ch.pptx")))
    assert " ".join(deck.core_properties.title.split()) == "Title with a vertical tab"
    picture = next(shape for shape in deck.slides[1].shapes if shape.name == "fig")
    assert picture._element.nvPicPr.cNvPr.get("descr") == "A figure with a form feed."


def test_a_backslash_does_not_climb_out_of_an_allowed_url_prefix(course: Course) -> None:
    # Browsers read "\" as "/" in an http(s) URL: "/team/..\x.png" is "/x.png", off /team/.
    course.write("pyproject.toml", """\
        [tool.course-assets]
        external_images = ["example.com/team/"]
        """)
    course.chapter("ch", """\
        # Ch

        <img src="https://example.com/team/..\\secret.png" alt="climbs out">

        <img src="https://example.com/team/ok.png" alt="allowed">
        """)
    result = course.run("build")
    assert "chapters/ch.md:3: warning: image from an external URL" in result.output
    assert "ok.png" not in result.output


def test_a_title_with_an_image_from_another_site_stays_a_centred_title_slide(
        course: Course) -> None:
    from pptx import Presentation

    course.chapter("plain", "# Pipelines\n")
    course.chapter("badged", "# Pipelines ![build](https://example.com/badge.svg)\n")
    assert course.run("build", "-q").exit_code == 0
    tops = [[shape.top for shape in Presentation(str(course.built(f"slides/{name}.pptx")))
             .slides[0].shapes] for name in ("plain", "badged")]
    assert tops[0] == tops[1]


def test_a_caption_in_a_figures_html_block_is_on_its_slide(course: Course) -> None:
    from pptx import Presentation

    course.figure("tracking")
    course.chapter("ch", """\
        # Ch

        ## Captioned

        <p align="center">
          <img src="../diagrams/tracking.svg" alt="t"><br>
          <em>Figure 1: the tracking pipeline</em>
        </p>

        ## Plain

        {{ diagram("tracking") }}
        """)
    assert course.run("build", "-q").exit_code == 0
    assert "Figure 1: the tracking pipeline" in course.built("slides/ch.html").read_text()
    slides = Presentation(str(course.built("slides/ch.pptx"))).slides
    texts = [[shape.text_frame.text for shape in slide.shapes if shape.has_text_frame]
             for slide in slides]
    assert "Figure 1: the tracking pipeline" in texts[1]
    # The snippet's link to the outline leads nowhere in a deck: the notes hold the outline.
    assert not any("Text outline" in text for slide in texts for text in slide), texts


def test_init_writes_only_what_it_did_to_standard_output(tmp_path) -> None:
    from click.testing import CliRunner

    from course_assets.cli import cli

    result = CliRunner().invoke(cli, ["init", str(tmp_path / "course")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    # The manual: standard output carries data only (the files init created); advice is not.
    assert all(line.startswith(("created ", "added ")) for line in result.stdout.splitlines())
    assert "Next: `course-assets" in result.stderr


def test_a_photo_kept_in_the_course_as_the_warning_advises_shows_everywhere(
        course: Course) -> None:
    from PIL import Image
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    course.chapter("ch", "# Ch\n\n## Team\n\n![Our team](https://example.com/team.png)\n")
    warning = course.run("build").output
    # The advice names where a kept photo is linked from: the built chapter, not the source.
    assert "linked from the built chapter in build/chapters/" in warning, warning
    (course.root / "chapters" / "img").mkdir()
    Image.new("RGB", (40, 30), "navy").save(course.root / "chapters" / "img" / "team.png")
    course.chapter("ch", "# Ch\n\n## Team\n\n![Our team](../../chapters/img/team.png)\n")
    assert course.run("build", "-q").exit_code == 0
    check = course.run("check")
    assert check.exit_code == 0, check.output
    slide = Presentation(str(course.built("slides/ch.pptx"))).slides[1]
    assert any(shape.shape_type == MSO_SHAPE_TYPE.PICTURE for shape in slide.shapes)


def test_a_chapter_whose_deck_would_be_another_chapters_dark_deck_is_refused(
        course: Course) -> None:
    course.figure("tracking")
    course.chapter("intro", '# Intro\n\n{{ diagram("tracking") }}\n')
    course.chapter("intro.dark", "# Intro in the dark\n\nText only.\n")
    result = course.run("build")
    assert result.exit_code == 1, result.output
    assert "chapters/intro.dark.md" in result.output and "intro.dark.pptx" in result.output
    from pptx import Presentation

    deck = Presentation(str(course.built("slides/intro.dark.pptx")))
    assert deck.core_properties.title == "Intro"  # intro's dark deck, not the other chapter
    check = course.run("check")
    assert "edited by hand" not in check.output, check.output
    assert "chapters/intro.dark.md" in check.output


SVG_BLIP = "{http://schemas.microsoft.com/office/drawing/2016/SVG/main}svgBlip"
LOGO = (b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">'
        b'<rect width="40" height="20" fill="red"/></svg>')


def test_a_chapters_own_svg_is_on_its_slide_with_the_png_beside_it(course: Course) -> None:
    from PIL import Image
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    (course.root / "chapters" / "img").mkdir()
    (course.root / "chapters" / "img" / "logo.svg").write_bytes(LOGO)
    course.chapter("ch", "# Ch\n\n## Logo\n\n![Our logo](../../chapters/img/logo.svg)\n")
    result = course.run("build")
    # The HTML deck shows it; the PowerPoint deck needs a PNG for slide tools without SVG.
    assert "chapters/img/logo.png" in result.output and "PowerPoint" in result.output, \
        result.output
    Image.new("RGB", (80, 40), "red").save(course.root / "chapters" / "img" / "logo.png")
    result = course.run("build")
    assert result.exit_code == 0 and "PowerPoint" not in result.output, result.output
    slide = Presentation(str(course.built("slides/ch.pptx"))).slides[1]
    pictures = [s for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]
    assert len(pictures) == 1
    assert pictures[0]._element.blipFill.find(f".//{SVG_BLIP}") is not None
    assert pictures[0]._element.nvPicPr.cNvPr.get("descr") == "Our logo"


def test_a_new_version_of_a_chapters_photo_rebuilds_its_decks(course: Course) -> None:
    from PIL import Image

    (course.root / "chapters" / "img").mkdir()
    photo = course.root / "chapters" / "img" / "team.png"
    Image.new("RGB", (40, 30), "navy").save(photo)
    course.chapter("ch", "# Ch\n\n## Team\n\n![Our team](../../chapters/img/team.png)\n")
    assert course.run("build", "-q").exit_code == 0
    decks = {name: course.built(f"slides/{name}").read_bytes()
             for name in ("ch.html", "ch.pptx")}
    Image.new("RGB", (40, 30), "orange").save(photo)
    check = course.run("check")
    assert check.exit_code == 3 and "build/slides/ch." in check.output, check.output
    result = course.run("build")
    assert "built slides ch" in result.output, result.output
    for name, before in decks.items():
        assert course.built(f"slides/{name}").read_bytes() != before, name
    assert course.run("check").exit_code == 0
    assert course.run("check", "--rebuild").exit_code == 0


def test_a_photo_whose_name_has_a_space_is_in_both_decks(course: Course) -> None:
    from PIL import Image
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    (course.root / "chapters" / "img").mkdir()
    Image.new("RGB", (40, 30), "green").save(course.root / "chapters" / "img" / "my photo.png")
    course.chapter("ch", "# Ch\n\n## Photo\n\n![A photo](<../../chapters/img/my photo.png>)\n")
    result = course.run("build")
    assert result.exit_code == 0 and "shows no picture" not in result.output, result.output
    html = course.built("slides/ch.html").read_text(encoding="utf-8")
    assert 'src="data:image/png;base64,' in html
    slide = Presentation(str(course.built("slides/ch.pptx"))).slides[1]
    assert any(shape.shape_type == MSO_SHAPE_TYPE.PICTURE for shape in slide.shapes)
