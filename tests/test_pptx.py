"""PowerPoint decks: what they hold, that LibreOffice Impress shows every slide, and their bytes."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from conftest import Course
from importers import soffice
from slidetools import built_repo_course, relative_luminance

SVG_BLIP = "{http://schemas.microsoft.com/office/drawing/2016/SVG/main}svgBlip"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"

# A small course as an author writes one: two chapters, lists, code, a link, a table, and a
# section that shows two figures.
PIPELINES = """\
# Pipelines in production

Why a pipeline beats a notebook, in one hour.

## Tracking experiments

Track **every** run with *MLflow*; see [its docs](https://mlflow.org/docs) and the
[next chapter](serving.md).

{{ diagram("tracking") }}

## Steps

1. Collect the data
2. Train the model
   - tune it
   - evaluate it
3. Register it

Run it with `make train`:

```sh
make train MODEL=taxi
```

| Stage | Tool |
| ----- | ---- |
| train | Airflow |

## Two views

{{ diagram("tracking") }}

{{ diagram("serving") }}

> Serving is the other half.
"""

SERVING = """\
# Serving

{{ diagram("serving") }}

## Rollout

- Canary first
- Then everyone
"""


def poppler(program: str) -> str:
    """Return a poppler tool (pdfinfo, pdftoppm); `make test` installs them."""
    found = shutil.which(program)
    if found is None:
        pytest.fail(f"no {program} found: run `make test` (it installs it) or "
                    "apt-get install poppler-utils")
    return found


def pptx_parts(deck: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(deck) as package:
        assert package.testzip() is None
        return {info.filename: package.read(info) for info in package.infolist()}


def slides_of(deck: Path):
    from pptx import Presentation

    return Presentation(str(deck))


def html_slide_count(html: Path) -> int:
    return len(re.findall(r'<section class="slide[ "]', html.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def own(tmp_path_factory) -> Course:
    """Return a small realistic course of its own, built once for the module."""
    course = Course(tmp_path_factory.mktemp("pptx") / "course")
    course.write("pyproject.toml", "[tool.course-assets]\n")
    course.figure("tracking", 'Mlflow("tracking") >> Airflow("pipeline")',
                  title="Experiment tracking", doc="Runs are tracked, then trained.")
    course.figure("serving", 'Airflow("train") >> Mlflow("registry") >> Airflow("serve")',
                  title="Serving", doc="A trained model is registered, then served.")
    course.chapter("pipelines", PIPELINES)
    course.chapter("serving", SERVING)
    result = course.run("build", "-q")
    assert result.exit_code == 0, result.output
    return course


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    return built_repo_course(tmp_path_factory)


@pytest.fixture(scope="module")
def decks(own: Course, repo: Path) -> dict[str, Path]:
    found = {}
    for root, chapters in ((own.root, ("pipelines", "serving")), (repo, ("chapter-1",))):
        for chapter in chapters:
            for variant in ("", ".dark"):
                name = f"{chapter}{variant}"
                found[name] = root / "build" / "slides" / f"{name}.pptx"
    return found


@pytest.fixture(scope="module")
def rendered(decks: dict[str, Path], tmp_path_factory) -> dict[str, Path]:
    """Convert every deck to PDF with one headless LibreOffice Impress run."""
    scratch = tmp_path_factory.mktemp("impress")
    inputs = []
    for name, deck in decks.items():
        inputs.append(scratch / f"{name}.pptx")
        shutil.copy(deck, inputs[-1])
    subprocess.run([soffice(), f"-env:UserInstallation={(scratch / 'profile').as_uri()}",
                    "--headless", "--convert-to", "pdf", "--outdir", str(scratch / "pdf"),
                    *map(str, inputs)], capture_output=True, check=True, timeout=300,
                   env={**os.environ, "HOME": str(scratch)})
    return {name: scratch / "pdf" / f"{name}.pdf" for name in decks}


def test_every_chapter_gets_a_light_and_a_dark_deck_and_slides_names_them(own, repo, decks):
    assert all(deck.is_file() for deck in decks.values()), decks
    result = own.run("slides")
    assert result.exit_code == 0, result.output
    assert ("pipelines: build/slides/pipelines.html, build/slides/pipelines.marp.md, "
            "build/slides/pipelines.pptx, build/slides/pipelines.dark.pptx") in result.output
    manifest = json.loads((repo / "build/manifest.json").read_text())
    assert {"build/slides/chapter-1.pptx", "build/slides/chapter-1.dark.pptx"} <= set(
        manifest["slides"]["chapter-1"]["outputs"])


def test_each_deck_is_a_valid_16_9_package_with_the_html_decks_slides(decks):
    for name, deck in decks.items():
        parts = pptx_parts(deck)
        assert next(iter(parts)) == "[Content_Types].xml"
        types = parts["[Content_Types].xml"].decode()
        assert 'ContentType="image/svg+xml"' in types, name
        presentation = slides_of(deck)
        assert presentation.slide_width * 9 == presentation.slide_height * 16
        html = deck.with_name(deck.name.replace(".dark", "").replace(".pptx", ".html"))
        assert len(presentation.slides) == html_slide_count(html) >= 2, name
        # The package describes this deck, not python-pptx's 4:3 template.
        assert f"<Slides>{len(presentation.slides)}</Slides>" in parts["docProps/app.xml"].decode()
        assert "docProps/thumbnail.jpeg" not in parts


def pictures(deck: Path):
    """Yield each picture of a deck: its slide, its shape, its PNG part and its SVG part."""
    for slide in slides_of(deck).slides:
        for shape in slide.shapes:
            if shape.shape_type != 13:  # MSO_SHAPE_TYPE.PICTURE
                continue
            blip = shape._element.blipFill.find(f"{A}blip")
            png = slide.part.related_part(blip.get(f"{R}embed"))
            svg_blips = list(blip.iter(SVG_BLIP))
            assert len(svg_blips) == 1
            svg = slide.part.related_part(svg_blips[0].get(f"{R}embed"))
            yield slide, shape, png, svg


@pytest.mark.parametrize("variant", ["", ".dark"])
def test_each_figure_is_its_built_svg_with_its_png_fallback_alt_text_and_notes(repo, variant):
    built = repo / "build"
    manifest = json.loads((built / "manifest.json").read_text())
    seen = set()
    for slide, shape, png, svg in pictures(built / f"slides/chapter-1{variant}.pptx"):
        name = shape.name
        seen.add(name)
        assert png.content_type == "image/png"
        assert png.blob == (built / f"diagrams/{name}{variant}.png").read_bytes()
        assert svg.content_type == "image/svg+xml"
        assert svg.blob == (built / f"diagrams/{name}{variant}.svg").read_bytes()
        # Self-contained: the SVG loads nothing from anywhere.
        assert not re.search(rb'(?:href|src)="(?!data:|#)', svg.blob)
        description = manifest["figures"][name]["description"]
        assert description and shape._element.nvPicPr.cNvPr.get("descr") == description
        notes = slide.notes_slide.notes_text_frame.text
        outline = (built / f"diagrams/{name}.outline.md").read_text()
        connection = next(line for line in outline.splitlines() if "→" in line)
        assert connection.replace("**", "") in notes and "Connections:" in notes
        assert "#" not in notes
        # Pictures keep their aspect.
        width, height = Image.open(io.BytesIO(png.blob)).size
        assert abs(shape.width / shape.height - width / height) < 0.01
    assert seen == set(manifest["chapters"]["chapter-1"]["figures"])


def test_speaker_notes_hold_the_sections_prose(repo):
    deck = slides_of(repo / "build/slides/chapter-1.pptx")
    slide = next(slide for slide in deck.slides
                 if any(shape.has_text_frame and shape.text_frame.text.startswith("The Three-Stage")
                        for shape in slide.shapes))
    notes = slide.notes_slide.notes_text_frame.text
    assert "- Design: This is the stage where we decide" in notes
    assert "MLOps is helpful in all these stages" in notes


def texts(deck: Path) -> list[list[str]]:
    return [[shape.text_frame.text for shape in slide.shapes
             if shape.shape_type == 17]  # MSO_SHAPE_TYPE.TEXT_BOX
            for slide in slides_of(deck).slides]


def test_slide_text_is_in_editable_text_boxes(own):
    deck = own.built("slides/pipelines.pptx")
    slides = texts(deck)
    assert slides[0] == ["Pipelines in production", "Why a pipeline beats a notebook, in one hour."]
    assert slides[1][0] == "Tracking experiments"
    heading = next(shape for shape in slides_of(deck).slides[1].shapes if shape.shape_type == 17)
    # 42 px on a 1280 px slide, as the HTML deck sets a section's heading.
    assert heading.text_frame.paragraphs[0].runs[0].font.size.pt == 42 * 0.75
    assert "Track every run with MLflow; see its docs and the next chapter." in slides[1][1]
    steps = slides[2]
    assert steps[0] == "Steps"
    body = steps[1].splitlines()
    assert body[:5] == ["Collect the data", "Train the model", "tune it", "evaluate it",
                        "Register it"]
    assert "make train MODEL=taxi" in body and "Stage | Tool" in body
    xml = pptx_parts(deck)["ppt/slides/slide3.xml"].decode()
    # Real lists: numbers and bullets PowerPoint keeps when the text is edited.
    assert '<a:buAutoNum type="arabicPeriod" startAt="1"/>' in xml
    assert '<a:buChar char="•"/>' in xml
    assert 'typeface="DejaVu Sans Mono"' in xml and 'typeface="DejaVu Sans"' in xml
    # The fallback: a sans-serif family by PANOSE and pitch where DejaVu Sans is missing.
    assert re.search(r'<a:latin typeface="DejaVu Sans" panose="[0-9A-F]{20}" pitchFamily="34"',
                     xml)
    links = pptx_parts(deck)["ppt/slides/_rels/slide2.xml.rels"].decode()
    assert 'Target="https://mlflow.org/docs" TargetMode="External"' in links
    assert "serving.md" not in links  # a link within the course means nothing in a deck


def test_a_slide_with_two_figures_shows_both_and_notes_both_outlines(own):
    slide = slides_of(own.built("slides/pipelines.pptx")).slides[3]
    shown = [shape for shape in slide.shapes if shape.shape_type == 13]
    assert [shape.name for shape in shown] == ["tracking", "serving"]
    bottom = slide.part.package.presentation_part.presentation.slide_height
    assert all(shape.top + shape.height <= bottom for shape in shown)
    assert shown[0].top + shown[0].height <= shown[1].top
    notes = slide.notes_slide.notes_text_frame.text
    assert notes.count("Connections:") == 2 and "Serving is the other half." in notes


def test_decks_are_in_the_course_palette(decks):
    for name, deck in decks.items():
        for slide in slides_of(deck).slides:
            paper = str(slide.background.fill.fore_color.rgb)
            assert paper == ("0D1117" if name.endswith(".dark") else "FFFFFF"), name
        # Links are drawn in the theme's link colour: the palette's accent, readable on paper.
        theme = pptx_parts(deck)["ppt/theme/theme1.xml"].decode()
        accent = "4493F8" if name.endswith(".dark") else "0969DA"
        assert f'<a:hlink><a:srgbClr val="{accent}"/></a:hlink>' in theme, name
        assert '<a:latin typeface="DejaVu Sans"' in theme


def test_libreoffice_impress_renders_every_slide_and_the_figures(decks, rendered, tmp_path):
    for name, deck in decks.items():
        info = subprocess.run([poppler("pdfinfo"), str(rendered[name])], capture_output=True,
                              text=True, check=True).stdout
        pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
        assert pages == len(slides_of(deck).slides), name
    # The repo's figure slide: its picture's area is drawn, not blank, in both themes.
    for name in ("chapter-1", "chapter-1.dark"):
        presentation = slides_of(decks[name])
        number, shape = next((n, s) for n, slide in enumerate(presentation.slides, start=1)
                             for s in slide.shapes if s.shape_type == 13)
        prefix = tmp_path / name
        subprocess.run([poppler("pdftoppm"), "-r", "48", "-png", "-f", str(number),
                        "-l", str(number), str(rendered[name]), str(prefix)],
                       check=True, timeout=120)
        page = Image.open(next(tmp_path.glob(f"{name}-*.png"))).convert("RGB")
        scale = page.width / presentation.slide_width
        box = tuple(round(v * scale) for v in (shape.left, shape.top, shape.left + shape.width,
                                                shape.top + shape.height))
        figure = page.crop(box)
        assert max(ImageStat.Stat(figure).stddev) > 20, name
        assert len(figure.getcolors(maxcolors=1 << 20)) > 50, name
        corner = page.getpixel((2, 2))
        luminance = relative_luminance(corner)
        assert (luminance < 0.05) if name.endswith(".dark") else (luminance > 0.9), (name, corner)


def test_decks_are_the_same_bytes_from_another_folder_and_check_rebuild_agrees(own, tmp_path):
    copy = tmp_path / "elsewhere"
    shutil.copytree(own.root, copy, ignore=shutil.ignore_patterns("build"))
    result = Course(copy).run("build", "-q")
    assert result.exit_code == 0, result.output
    for name in ("pipelines.pptx", "pipelines.dark.pptx", "serving.pptx"):
        here, there = own.built(f"slides/{name}"), copy / "build/slides" / name
        assert there.read_bytes() == here.read_bytes()
    with zipfile.ZipFile(own.built("slides/pipelines.pptx")) as package:
        assert {info.date_time for info in package.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    core = pptx_parts(own.built("slides/pipelines.pptx"))["docProps/core.xml"].decode()
    assert "1980-01-01T00:00:00Z" in core and "python-pptx" not in core
    result = Course(copy).run("check", "--rebuild")
    assert result.exit_code == 0, result.output


def test_a_deck_is_the_same_bytes_made_first_or_after_other_decks_in_one_process(own, tmp_path):
    # A deck maker keeps what it makes once (the blank deck, a figure's image, a look): one
    # deck made after others, in a build with one worker, must not show any of theirs.
    both, alone = tmp_path / "both", tmp_path / "alone"
    for copy in (both, alone):
        shutil.copytree(own.root, copy, ignore=shutil.ignore_patterns("build"))
    (alone / "chapters" / "pipelines.md").unlink()
    for copy in (both, alone):  # a fresh process each: its first deck is its first
        subprocess.run([sys.executable, "-m", "course_assets", "build", "-q", "-j", "1"],
                       cwd=copy, check=True, timeout=300)
    for name in ("serving.pptx", "serving.dark.pptx"):
        made_after = (both / "build/slides" / name).read_bytes()
        assert made_after == (alone / "build/slides" / name).read_bytes(), name
        assert made_after == own.built(f"slides/{name}").read_bytes(), name


def test_a_build_with_nothing_changed_leaves_the_decks_alone(own):
    decks = sorted(own.built("slides").glob("*.pptx"))
    before = {deck: deck.stat().st_mtime_ns for deck in decks}
    result = own.run("build")
    assert result.exit_code == 0, result.output
    assert "slides" not in result.output
    assert {deck: deck.stat().st_mtime_ns for deck in decks} == before


def test_a_deck_edited_by_hand_is_kept_and_reported(course):
    course.figure("one")
    course.chapter("ch", '# Ch\n\n{{ diagram("one") }}\n')
    assert course.run("build", "-q").exit_code == 0
    deck = course.built("slides/ch.pptx")
    deck.write_bytes(deck.read_bytes() + b"\0")
    edited = deck.read_bytes()
    result = course.run("check")
    assert result.exit_code != 0 and "build/slides/ch.pptx" in result.output
    result = course.run("build")
    assert "build/slides/ch.pptx" in result.output and "changed by hand" in result.output
    assert deck.read_bytes() == edited


def test_the_pptx_setting_turns_the_decks_off_and_on(course):
    course.figure("one")
    course.chapter("ch", '# Ch\n\n{{ diagram("one") }}\n')
    assert course.run("build", "-q").exit_code == 0
    decks = [course.built("slides/ch.pptx"), course.built("slides/ch.dark.pptx")]
    assert all(deck.is_file() for deck in decks)
    course.write("pyproject.toml", "[tool.course-assets]\npptx = false\n")
    result = course.run("build")
    assert result.exit_code == 0, result.output
    assert not any(deck.exists() for deck in decks)
    assert course.built("slides/ch.html").is_file()
    course.write("pyproject.toml", "[tool.course-assets]\npptx = true\n")
    assert course.run("build", "-q").exit_code == 0
    assert all(deck.is_file() for deck in decks)


@pytest.mark.parametrize(("formats", "decks"), [
    ('["svg"]', []), ('["svg", "png"]', ["ch.pptx"]),
])
def test_decks_follow_the_figure_formats(course, formats, decks):
    course.write("pyproject.toml", f"[tool.course-assets]\nformats = {formats}\n")
    course.figure("one")
    course.chapter("ch", '# Ch\n\n{{ diagram("one") }}\n')
    assert course.run("build", "-q").exit_code == 0
    assert sorted(p.name for p in course.built("slides").glob("*.pptx")) == decks


def test_pptx_without_pngs_is_a_settings_error(course):
    course.write("pyproject.toml", '[tool.course-assets]\nformats = ["svg"]\npptx = true\n')
    result = course.run("build")
    assert result.exit_code == 2
    assert "pyproject.toml: [tool.course-assets] pptx = true needs \"png\" in formats" in \
        result.output


def test_the_pptx_setting_is_in_the_settings_fingerprint(course):
    from course_assets.config import load_settings

    on = load_settings(course.root).fingerprint()
    course.write("pyproject.toml", "[tool.course-assets]\npptx = false\n")
    assert load_settings(course.root).fingerprint() != on
    course.write("pyproject.toml", "[tool.course-assets]\npptx = \"yes\"\n")
    with pytest.raises(Exception, match="pptx must be true or false"):
        load_settings(course.root)


def test_a_view_with_a_crop_box_shows_that_part_of_the_figure_at_its_aspect(repo):
    # Zoomed slides (a crop box per view) come from the figure-fitting work; the deck is ready.
    from dataclasses import replace

    from course_assets.config import load_settings
    from course_assets.publish import markdown
    from course_assets.publish.pptx_deck import pptx_deck
    from course_assets.publish.sections import deck_title, split_slides
    from course_assets.publish.slide_pictures import Crop, slide_views
    from course_assets.state.manifest import load_manifest

    settings = load_settings(repo)
    manifest = load_manifest(settings.outputs.manifest, settings.outputs)
    chapter = "build/chapters/chapter-1.md"
    tokens = markdown.parse((repo / chapter).read_text(encoding="utf-8"))

    def left_half(*args):
        return [replace(view, crop=Crop(right=0.5)) for view in slide_views(*args)]

    deck = pptx_deck(split_slides(tokens), deck_title(tokens, chapter), chapter, False,
                     settings.outputs, manifest.figures,
                     lambda path: (repo / path).read_bytes() if (repo / path).is_file() else None,
                     views_of=left_half)
    path = repo.parent / "cropped.pptx"
    path.write_bytes(deck.data)
    shown = list(pictures(path))
    assert shown
    for _, shape, png, _ in shown:
        assert shape._element.blipFill.find(f"{A}srcRect").get("r") == "50000"
        width, height = Image.open(io.BytesIO(png.blob)).size
        assert abs(shape.width / shape.height - width / 2 / height) < 0.01


def test_the_same_image_under_two_names_is_one_part_of_the_deck(course):
    # A deck holds each image once, however many files and slides show it.
    course.write("pyproject.toml", "[tool.course-assets]\n")
    buffer = io.BytesIO()
    Image.new("RGB", (64, 32), "teal").save(buffer, format="PNG")
    for name in ("first.png", "second.png"):
        path = course.root / "chapters" / "images" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buffer.getvalue())
    other = io.BytesIO()
    Image.new("RGB", (64, 32), "orange").save(other, format="PNG")
    (course.root / "chapters" / "images" / "other.png").write_bytes(other.getvalue())
    # Read from the built chapter, in build/chapters/.
    shown_from = "../../chapters/images"
    course.chapter("ch", f"# Ch\n\n## One\n\n![first]({shown_from}/first.png)\n\n"
                         f"## Two\n\n![second]({shown_from}/second.png)\n\n"
                         f"## Three\n\n![other]({shown_from}/other.png)\n")
    result = course.run("build", "-q")
    assert result.exit_code == 0, result.output
    deck = course.built("slides/ch.pptx")
    media = sorted(name for name in pptx_parts(deck) if name.startswith("ppt/media/"))
    assert media == ["ppt/media/image1.png", "ppt/media/image2.png"]
    shown = []
    for slide in slides_of(deck).slides:
        for shape in slide.shapes:
            if shape.shape_type == 13:  # MSO_SHAPE_TYPE.PICTURE
                blip = shape._element.blipFill.find(f"{A}blip")
                shown.append(str(slide.part.related_part(blip.get(f"{R}embed")).partname))
    assert shown == ["/ppt/media/image1.png", "/ppt/media/image1.png", "/ppt/media/image2.png"]


def test_notes_pages_are_written_as_lxml_writes_them(course):
    # Notes pages are written as text: each must be the XML lxml writes for what it holds.
    from lxml import etree

    course.figure("one")
    course.chapter("ch", '# Ch\n\n## Odd words\n\nA & b < c > d "q" \'x\' tab\there, é ☃ '
                         "\x0cform feed, \x01gone, `code` and **bold**.\n\n"
                         "1. first\n2. second\n\n"
                         '## A figure\n\n{{ diagram("one") }}\n')
    result = course.run("build", "-q")
    assert result.exit_code == 0, result.output
    for deck in ("ch.pptx", "ch.dark.pptx"):
        pages = {name: data for name, data in pptx_parts(course.built(f"slides/{deck}")).items()
                 if name.startswith("ppt/notesSlides/notesSlide")}
        assert len(pages) == 2  # the title slide has no notes
        for name, data in pages.items():
            rewritten = etree.tostring(etree.fromstring(data), encoding="UTF-8", standalone=True)
            assert data == rewritten, name
        texts = b"".join(pages.values()).decode()
        # A form feed is a space, other control characters are dropped.
        assert "A &amp; b &lt; c &gt; d \"q\" 'x' tab\there, é ☃  form feed, gone" in texts
