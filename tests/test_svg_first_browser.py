"""`serve` in headless Chromium: a saved figure's light SVG reaches the open page before the
rest of its build (dark variant, PNGs, chapter) has finished."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from conftest import running_preview, wait_until

pytestmark = pytest.mark.browser

WAIT_MS = 30_000
CHAPTER = "# Pipelines\n\n{{ diagram(\"pipeline\") }}\n"


def waiting_body(label: str, slow) -> str:
    """Return a figure body whose dark run waits (up to a minute) while `slow` exists."""
    return ("import os, pathlib, time\n"
            "waited = 0\n"
            f"while os.environ['COURSE_ASSETS_THEME'] == 'dark' and "
            f"pathlib.Path({str(slow)!r}).exists() and waited < 1200:\n"
            "    time.sleep(0.05)\n"
            "    waited += 1\n"
            f"Mlflow({label!r})\n")


def test_the_open_page_shows_the_light_svg_while_the_rest_still_builds(page, course, tmp_path):
    slow = tmp_path / "slow"
    with running_preview(course, 'Mlflow("nightly training")', CHAPTER) as preview:
        page.goto(preview.url + "chapters/intro.html")
        figure = page.locator("main img")
        expect(figure).to_have_js_property("complete", True, timeout=WAIT_MS)
        expect(page.locator("#preview-status")).not_to_have_text("", timeout=WAIT_MS)
        old_src = figure.get_attribute("src")
        dark = course.built("diagrams/pipeline.dark.svg")
        old_dark = dark.read_bytes()

        def new_figure(response) -> bool:
            return "/diagrams/pipeline.svg?v=" in response.url and not response.url.endswith(
                old_src.partition("?")[2])

        slow.write_text("the dark run waits")
        try:
            with page.expect_response(new_figure, timeout=WAIT_MS) as fetched:
                course.figure("pipeline", waiting_body("hourly retraining", slow))
            assert "hourly retraining" in fetched.value.text()
            wait_until(page, "url => { const img = document.querySelector('main img');"
                             " return img.src === url && img.complete && img.naturalWidth > 0; }",
                       fetched.value.url)
            # The page shows it while the build still waits in the dark run.
            assert dark.read_bytes() == old_dark
            assert preview.state.summary == "drew pipeline; finishing the rest of the build"
        finally:
            slow.unlink()
        # Then the build ends: the dark variant is new and the preview says the build is done.
        deadline = time.monotonic() + WAIT_MS / 1000
        while "finishing" in preview.state.summary and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "1 rebuilt" in preview.state.summary
    assert "hourly retraining" in dark.read_text()
