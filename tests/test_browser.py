"""What a reader sees: each built figure shown through <img> in headless Chromium."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys

import pytest
from PIL import Image

from conftest import REPO, wait_until
from svgtools import SVG, parse, placed_icons

pytestmark = pytest.mark.browser


def colourful_pixels(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    """Count pixels in `box` that are clearly coloured (not white, grey or black)."""
    data = image.convert("RGB").crop(box).tobytes()
    pixels = zip(data[0::3], data[1::3], data[2::3])
    return sum(1 for r, g, b in pixels if max(r, g, b) - min(r, g, b) > 60)


def test_icons_paint_through_img_not_blank_boxes(page, tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(REPO / "pyproject.toml", course)
    shutil.copytree(REPO / "diagrams", course / "diagrams",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "chapters", course / "chapters")
    subprocess.run([sys.executable, "-m", "course_assets", "build", "-q"], cwd=course,
                   check=True, timeout=300)
    svgs = sorted((course / "build/diagrams").glob("*.svg"))
    html = "".join(f'<img id="f{i}" src="{svg.as_uri()}" style="display:block">'
                   for i, svg in enumerate(svgs))
    page_file = tmp_path / "page.html"
    page_file.write_text(f"<!doctype html><body style='margin:0;background:#fff'>{html}</body>")
    page.goto(page_file.as_uri())
    wait_until(page, "Array.from(document.images).every(i => i.complete)")
    for i, svg in enumerate(svgs):
        element = page.locator(f"#f{i}")
        assert page.evaluate(f"document.getElementById('f{i}').naturalWidth") > 0, svg.name
        shot = Image.open(io.BytesIO(element.screenshot()))
        root = parse(svg)
        scale = shot.width / float(root.get("width"))
        viewbox = [float(v) for v in root.get("viewBox").split()]
        px_per_unit = float(root.get("width")) / viewbox[2] * scale
        transform = root.find(f"{SVG}g").get("transform")
        tx, ty = (float(v) for v in transform.split("translate(")[1].rstrip(")").split())
        uses = placed_icons(root)
        for use in uses:
            x, y = (use.x + tx) * px_per_unit, (use.y + ty) * px_per_unit
            w, h = use.width * px_per_unit, use.height * px_per_unit
            box = (int(x), int(y), int(x + w), int(y + h))
            painted = colourful_pixels(shot, box)
            assert painted > 0.02 * w * h, f"{svg.name}: icon at {box} is blank"
        if svg.stem == "mlops_workflow":
            assert len(uses) >= 8
