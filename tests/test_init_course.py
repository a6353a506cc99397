"""The course `init` makes is clean: no finding at all, its figure readable on its slide."""

from __future__ import annotations

import json
import os
import runpy
from pathlib import Path

import pytest

from conftest import wait_until
from slidetools import contrast_ratio, rgb, run

SLIDE_MINIMUM_PX = 14  # the smallest text a projected slide may show


@pytest.fixture
def new_course(tmp_path) -> Path:
    folder = tmp_path / "new-course"
    result = run(tmp_path, "init", str(folder))
    assert result.exit_code == 0, result.output
    return folder


def test_a_new_course_builds_strict_with_no_finding_at_all(new_course):
    build = run(new_course, "build", "--strict")
    assert build.exit_code == 0, build.output
    assert "warning" not in build.output and "figure lint" not in build.output, build.output
    assert "Graphviz" not in build.output, build.output
    manifest = json.loads((new_course / "build/manifest.json").read_text())
    assert all(not record["findings"] for record in manifest["figures"].values())
    check = run(new_course, "check", "--strict")
    assert check.exit_code == 0 and "0 errors, 0 warnings" in check.output, check.output


@pytest.mark.browser
def test_the_new_course_figure_is_readable_on_its_slide(new_course, browser):
    assert run(new_course, "build", "-q").exit_code == 0
    manifest = json.loads((new_course / "build/manifest.json").read_text())
    sizes = manifest["figures"]["how_a_figure_is_built"]["sizes"]
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.goto((new_course / "build/slides/introduction.html").as_uri())
        wait_until(page, "Array.from(document.images).every(i => i.complete && i.naturalWidth)")
        figure = page.locator(".slide.current .deck-figure img.deck-light")
        assert figure.count() == 1  # on the first slide, where the deck opens
        shown, own = figure.evaluate("i => [i.getBoundingClientRect().width, i.naturalWidth]")
        assert own == pytest.approx(sizes["width"], abs=1)
        # The figure's smallest text, at the size the slide shows the figure.
        smallest = sizes["smallest_text"] * shown / own
        print(f"smallest text on the slide: {smallest:.1f} px")
        assert smallest >= SLIDE_MINIMUM_PX, f"{smallest:.1f} px"
    finally:
        context.close()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_new_course_palette_accent_reaches_3_to_1(new_course, theme, monkeypatch):
    monkeypatch.setenv("COURSE_ASSETS_THEME", theme)  # as the build sets it for each variant
    style = runpy.run_path(os.fspath(new_course / "diagrams/_style.py"))
    palette = style["PALETTE"]
    for ground in ("background", "cluster"):
        assert contrast_ratio(rgb(palette["accent"]), rgb(palette[ground])) >= 3.0, (
            theme, ground, palette["accent"], palette[ground])
