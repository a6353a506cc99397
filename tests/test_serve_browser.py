"""`course-assets serve` in headless Chromium: pages follow saves by themselves, errors included.

The label of a figure is drawn inside an SVG shown through <img>, where the DOM cannot read it.
So "the page shows the new label" is checked the way the browser got it: the bytes of the SVG
response the page itself fetched for its <img> (after the save, with no action from the test)
must hold the new label, the <img> must have loaded exactly that URL, and the pixels of the
figure on screen must differ from before.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from course_assets.preview import PreviewServer

from conftest import running_preview, wait_until

pytestmark = pytest.mark.browser

WAIT_MS = 30_000  # every wait is bounded; a rebuild here takes well under a second
FIGURE = 'Airflow("tracking") >> Airflow("{label}")'
CHAPTER = """\
# Pipelines

{{ diagram("pipeline") }}
"""


@pytest.fixture
def preview(course) -> Iterator[PreviewServer]:
    """Yield a preview server for a one-figure, one-chapter course, on a free local port."""
    with running_preview(course, FIGURE.format(label="nightly training"), CHAPTER) as server:
        yield server


def open_chapter(page, preview: PreviewServer):
    """Open the chapter, wait until its figure is drawn and the page listens for builds."""
    page.goto(preview.url + "chapters/intro.html")
    figure = page.locator("main img")
    expect(figure).to_have_js_property("complete", True, timeout=WAIT_MS)
    expect(page.locator("#preview-status")).not_to_have_text("", timeout=WAIT_MS)
    return figure


def test_saving_a_figure_script_updates_the_open_chapter(page, preview, course):
    figure = open_chapter(page, preview)
    old_src = figure.get_attribute("src")
    old_pixels = figure.screenshot()

    def new_figure(response) -> bool:
        return "/diagrams/pipeline.svg?v=" in response.url and not response.url.endswith(
            old_src.partition("?")[2])

    with page.expect_response(new_figure, timeout=WAIT_MS) as fetched:
        course.figure("pipeline", FIGURE.format(label="hourly retraining"))  # then only wait

    svg = fetched.value.text()
    assert "hourly retraining" in svg and "nightly training" not in svg
    wait_until(page, "url => { const img = document.querySelector('main img');"
                     " return img.src === url && img.complete && img.naturalWidth > 0; }",
               fetched.value.url)
    assert figure.screenshot() != old_pixels
    expect(page.locator("#preview-findings")).to_be_hidden()


def test_a_broken_script_shows_its_error_until_fixed(page, preview, course):
    figure = open_chapter(page, preview)
    good_src = figure.get_attribute("src")
    overlay = page.locator("#preview-findings")

    # Line 7 of the script is the first line of the body (see the `course.figure` fixture).
    course.figure("pipeline", 'Airflow("tracking") >> Airflow(undefined_label)')

    expect(overlay).to_be_visible(timeout=WAIT_MS)
    expect(overlay).to_contain_text("diagrams/pipeline.py:7")
    expect(overlay).to_contain_text("NameError")
    # The last good preview stays underneath.
    expect(figure).to_have_attribute("src", good_src)

    course.figure("pipeline", FIGURE.format(label="fixed"))

    expect(overlay).to_be_hidden(timeout=WAIT_MS)
    expect(figure).not_to_have_attribute("src", good_src, timeout=WAIT_MS)


def test_the_index_follows_new_figures(page, preview, course):
    page.goto(preview.url)
    expect(page.locator(".preview-figures li")).to_have_count(1, timeout=WAIT_MS)
    expect(page.locator("#preview-status")).not_to_have_text("", timeout=WAIT_MS)

    course.figure("serving", 'Airflow("registry") >> Airflow("deploy")')

    expect(page.locator(".preview-figures li")).to_have_count(2, timeout=WAIT_MS)
    expect(page.locator(".preview-figures")).to_contain_text("Serving")


def figure_is_seen(page, figure) -> bool:
    """Say whether the figure is what the reader sees at its centre, nothing laid over it."""
    figure.scroll_into_view_if_needed()
    return page.evaluate("""img => {
        const box = img.getBoundingClientRect();
        return document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2) === img;
    }""", figure.element_handle())


def test_findings_of_the_page_fold_away_and_never_cover_its_figure(page, course):
    # A second chapter with a figure of its own, whose findings belong to its own page.
    course.figure("other", 'Mlflow("elsewhere") >> Airflow("other")')
    course.chapter("second", '# Second\n\n{{ diagram("other") }}\n')
    # MLflow's white "ml" vanishes on the white page: figure lint warnings on both figures.
    with running_preview(course, 'Mlflow("tracking") >> Airflow("training")', CHAPTER) as server:
        figure = open_chapter(page, server)
        panel = page.locator("#preview-findings")
        expect(panel).to_be_visible()
        # Only warnings: folded, and no word of an error.
        assert panel.evaluate("details => details.open") is False
        summary = panel.locator("summary")
        expect(summary).to_have_text("1 figure lint warning on this page")
        assert figure_is_seen(page, figure)
        # Unfolded, it lists this page's findings only: its figure's, not the other chapter's.
        summary.click()
        items = panel.locator("li")
        expect(items).to_have_count(1)
        expect(items.first).to_contain_text("diagrams/pipeline.py:")
        expect(items.first).to_contain_text("warning: figure lint [icon-contrast]")
        expect(panel).not_to_contain_text("diagrams/other.py")
        assert figure_is_seen(page, figure)
        summary.click()  # folded again by the reader

        # An error in this page's figure: the panel opens by itself and says the build failed.
        course.figure("pipeline", 'Mlflow("tracking") >> Airflow(undefined_label)')
        expect(summary).to_contain_text("The build failed: 1 error", timeout=WAIT_MS)
        assert panel.evaluate("details => details.open") is True
        expect(panel).to_contain_text("NameError")
        expect(panel).not_to_contain_text("diagrams/other.py")
        assert figure_is_seen(page, figure)

        # Fixed here, broken in the other chapter's figure: counted, not listed.
        course.figure("pipeline", 'Mlflow("tracking") >> Airflow("training")')
        course.figure("other", 'Mlflow("elsewhere") >> Airflow(undefined_label)')
        expect(panel.locator(".preview-elsewhere")).to_have_text(
            "1 error in other files: the index lists them.", timeout=WAIT_MS)
        expect(panel).not_to_contain_text("NameError")
        expect(panel).not_to_contain_text("diagrams/other.py")
        assert figure_is_seen(page, figure)

        # The other chapter's page lists that error.
        page.goto(server.url + "chapters/second.html")
        expect(page.locator("#preview-findings")).to_contain_text("diagrams/other.py:7")
        expect(page.locator("#preview-findings")).to_contain_text("NameError")
