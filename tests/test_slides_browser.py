"""What people see in headless Chromium: dark-mode figures in chapters, and the HTML slide deck."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from PIL import Image

from conftest import wait_until
from slidetools import built_repo_course, pdf_page_sizes, relative_luminance

pytestmark = pytest.mark.browser

CHAPTER = """\
# Pipelines

Why pipelines matter.

{{ diagram("flow") }}

## Tracking

Track every run.

{{ diagram("flow") }}

## Serving

- one
- two

## Last words

That is all.
"""


def dominant(image: Image.Image) -> tuple[int, int, int]:
    counts = image.convert("RGB").getcolors(1 << 24)
    return max(counts)[1]


def colourful_pixels(image: Image.Image) -> int:
    data = image.convert("RGB").tobytes()
    return sum(1 for r, g, b in zip(data[0::3], data[1::3], data[2::3])
               if max(r, g, b) - min(r, g, b) > 60)


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_chapter_shows_the_figure_for_the_readers_theme(tmp_path_factory, page, scheme):
    course = built_repo_course(tmp_path_factory)
    chapters = course / "build/chapters"
    body = MarkdownIt("commonmark").render((chapters / "chapter-1.md").read_text())
    # The page sits beside build/, and resolves the chapter's links as the chapter would.
    html = tmp_path_factory.mktemp("chapter") / "chapter-1.html"
    html.write_text(f'<!doctype html><html><head><base href="{chapters.as_uri()}/"></head>'
                    f'<body style="margin:0;background:#888">{body}</body></html>')
    page.emulate_media(color_scheme=scheme)
    page.goto(html.as_uri())
    wait_until(page, "Array.from(document.images).every(i => i.complete && i.naturalWidth)")
    figure = page.locator("picture img").nth(1)  # the three-stage process: no icons, flat
    assert figure.evaluate("i => i.currentSrc").endswith(
        "three_stage_process.dark.svg" if scheme == "dark" else "three_stage_process.svg")
    ground = dominant(Image.open(io.BytesIO(figure.screenshot())))
    if scheme == "dark":
        assert relative_luminance(ground) < 0.02, ground
    else:
        assert relative_luminance(ground) > 0.9, ground


@pytest.fixture
def deck(course) -> Path:
    course.figure("flow")
    course.chapter("pipelines", CHAPTER)
    result = course.run("build", "-q")
    assert result.exit_code == 0, result.output
    return course.built("slides/pipelines.html")


@pytest.fixture
def offline_page(browser):
    """Yield a page with the network off: only the deck's own file may be read."""
    context = browser.new_context(viewport={"width": 1280, "height": 720}, offline=True)
    requests: list[str] = []
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
        "file://") else route.abort())
    page = context.new_page()
    page.on("request", lambda request: requests.append(request.url))
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.requests, page.errors = requests, errors
    try:
        yield page
    finally:
        context.close()


def current(page) -> int:
    return page.evaluate("Array.from(document.querySelectorAll('.slide'))"
                         ".findIndex(s => s.classList.contains('current'))")


def test_deck_opens_offline_shows_its_first_slide_and_moves_with_the_keys(deck, offline_page):
    page = offline_page
    page.goto(deck.as_uri())
    wait_until(page, "document.documentElement.classList.contains('js')")
    wait_until(page, "Array.from(document.images).every(i => i.complete)")
    assert current(page) == 0
    first = page.locator(".slide.current")
    assert first.locator("h1").inner_text() == "Pipelines"
    figure = first.locator(".deck-figure img.deck-light")  # the page is in light mode
    assert figure.evaluate("i => i.naturalWidth") > 0
    box = figure.bounding_box()
    assert box["width"] > 200 and box["height"] > 80  # scaled to the room on the slide
    shot = Image.open(io.BytesIO(page.screenshot(clip=box)))
    assert colourful_pixels(shot) > 0.02 * shot.width * shot.height  # icons painted
    # Only the deck itself was read: figures are inline and nothing reached the network.
    assert [url for url in page.requests if not url.startswith("data:")] == [deck.as_uri()]
    assert page.errors == []

    page.keyboard.press("ArrowRight")
    assert current(page) == 1
    assert page.locator(".slide.current h2").inner_text() == "Tracking"
    assert page.evaluate("location.hash") == "#2"
    visible = page.evaluate("Array.from(document.querySelectorAll('.slide'))"
                            ".map(s => getComputedStyle(s).visibility)")
    assert visible == ["hidden", "visible", "hidden", "hidden"]
    page.keyboard.press(" ")
    assert current(page) == 2
    page.keyboard.press("ArrowLeft")
    assert current(page) == 1
    page.keyboard.press("End")
    assert current(page) == 3
    page.keyboard.press("ArrowRight")  # stays on the last slide
    assert current(page) == 3


def test_deck_slide_fits_the_window_at_16_to_9(deck, browser):
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    try:
        page = context.new_page()
        page.goto(deck.as_uri())
        slide = page.locator(".slide.current").bounding_box()
        assert slide["width"] == pytest.approx(1000, abs=1)
        assert slide["width"] / slide["height"] == pytest.approx(16 / 9, rel=0.01)
        assert 0 <= slide["y"] and slide["y"] + slide["height"] <= 900
    finally:
        context.close()


def test_deck_prints_one_slide_per_page(deck, offline_page):
    page = offline_page
    page.goto(deck.as_uri())
    wait_until(page, "Array.from(document.images).every(i => i.complete)")
    pages = pdf_page_sizes(page.pdf(prefer_css_page_size=True, print_background=True))
    assert len(pages) == 4
    for width, height in pages:
        assert width / height == pytest.approx(16 / 9, rel=0.01)
    page.emulate_media(media="print")
    boxes = page.evaluate("Array.from(document.querySelectorAll('.slide'))"
                          ".map(s => [s.getBoundingClientRect().top, s.offsetHeight,"
                          " getComputedStyle(s).visibility])")
    assert [visibility for _, _, visibility in boxes] == ["visible"] * 4
    assert [round(top) for top, _, _ in boxes] == [0, 720, 1440, 2160]


def test_repository_deck_prints_a_handout_page_per_section(tmp_path_factory, offline_page):
    course = built_repo_course(tmp_path_factory)
    page = offline_page
    deck = course / "build/slides/chapter-1.html"
    page.goto(deck.as_uri())
    wait_until(page, "Array.from(document.images).every(i => i.complete)")
    assert len(pdf_page_sizes(page.pdf(prefer_css_page_size=True))) == 5
    assert page.errors == []
