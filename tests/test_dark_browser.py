"""The dark deck and the preview in dark mode, and each figure's outline, in headless Chromium."""

from __future__ import annotations

import io
from urllib.parse import unquote_to_bytes

import pytest
from PIL import Image

from conftest import running_preview, wait_until
from slidetools import built_repo_course

pytestmark = pytest.mark.browser

WORKFLOW_LABELS = ("Data", "Experiment tracking", "Training pipeline", "Model registry",
                   "Model image", "Deployment", "Metrics", "Dashboards",
                   "drift: collect new data, retrain")


def open_deck(browser, deck, scheme: str):
    context = browser.new_context(viewport={"width": 1280, "height": 720}, color_scheme=scheme)
    page = context.new_page()
    page.goto(deck.as_uri())
    wait_until(page, "Array.from(document.images).every(i => i.complete)")
    # The slide that shows the workflow figure.
    number = page.evaluate("""() => {
        const slides = Array.from(document.querySelectorAll('.slide'));
        return slides.findIndex(s => s.querySelector('details.deck-outline')
            && s.textContent.includes('Experiment tracking')) + 1;
    }""")
    assert number > 0
    page.keyboard.press("Home")
    for _ in range(number - 1):
        page.keyboard.press("ArrowRight")
    return context, page, page.locator(f"#slide-{number}")


def shown_figure(slide) -> tuple[str, bytes]:
    """Return which theme's image the slide shows, and the SVG it inlines."""
    for kind in ("deck-dark", "deck-light"):
        image = slide.locator(f"img.{kind}")
        if image.evaluate("i => i.getBoundingClientRect().width > 0"):
            src = image.get_attribute("src")
            return kind, unquote_to_bytes(src.split(",", 1)[1])
    raise AssertionError("the slide shows no figure")


def background(slide) -> tuple[int, int, int]:
    shot = Image.open(io.BytesIO(slide.screenshot())).convert("RGB")
    return shot.getpixel((8, 8))


def test_deck_follows_dark_mode_with_the_dark_figures_and_switches_with_d(tmp_path_factory,
                                                                          browser):
    course = built_repo_course(tmp_path_factory)
    deck = course / "build/slides/chapter-1.html"
    dark_svg = (course / "build/diagrams/mlops_workflow.dark.svg").read_bytes()
    light_svg = (course / "build/diagrams/mlops_workflow.svg").read_bytes()

    context, page, slide = open_deck(browser, deck, "dark")
    try:
        kind, shown = shown_figure(slide)
        assert (kind, shown == dark_svg) == ("deck-dark", True)
        assert max(background(slide)) < 40  # a dark slide
        page.keyboard.press("d")
        kind, shown = shown_figure(slide)
        assert (kind, shown == light_svg) == ("deck-light", True)
        assert min(background(slide)) > 230
    finally:
        context.close()

    context, page, slide = open_deck(browser, deck, "light")
    try:
        assert shown_figure(slide)[0] == "deck-light" and min(background(slide)) > 230
        page.keyboard.press("d")
        assert shown_figure(slide)[0] == "deck-dark" and max(background(slide)) < 40
    finally:
        context.close()


def test_deck_has_each_figures_outline_behind_a_disclosure(tmp_path_factory, browser):
    course = built_repo_course(tmp_path_factory)
    context, page, slide = open_deck(browser, course / "build/slides/chapter-1.html", "light")
    try:
        details = slide.locator("details.deck-outline")
        assert details.evaluate("d => d.open") is False
        details.locator("summary").click()
        assert details.evaluate("d => d.open") is True
        text = " ".join(details.inner_text().split())
        for label in WORKFLOW_LABELS:
            assert label in text
    finally:
        context.close()


def test_preview_index_thumbnails_follow_the_dark_theme(course, browser):
    with running_preview(course, 'Airflow("tracking") >> Airflow("training")',
                         '# Intro\n\n{{ diagram("pipeline") }}\n') as server:
        for scheme, suffix in (("dark", "/diagrams/pipeline.dark.svg"),
                               ("light", "/diagrams/pipeline.svg")):
            context = browser.new_context(color_scheme=scheme)
            try:
                page = context.new_page()
                page.goto(server.url)
                thumbnail = page.locator(".preview-figures img")
                wait_until(page, "document.querySelector('.preview-figures img').complete")
                assert thumbnail.evaluate("i => i.currentSrc").split("?")[0].endswith(suffix)
                shot = Image.open(io.BytesIO(thumbnail.screenshot())).convert("RGB")
                corner = shot.getpixel((2, 2))
                assert (max(corner) < 60) if scheme == "dark" else (min(corner) > 200)
            finally:
                context.close()
