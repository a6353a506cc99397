"""The PNGs: sized for a slide, painted once, the same bytes on every machine."""

from __future__ import annotations

import hashlib
import io
import re

from PIL import Image


def svg_pixels(course, name: str) -> tuple[int, int]:
    svg = course.built(f"diagrams/{name}.svg").read_text()
    found = re.search(r'<svg[^>]* width="(\d+)" height="(\d+)"', svg)
    assert found is not None
    return int(found.group(1)), int(found.group(2))


def png_pixels(course, name: str) -> tuple[int, int]:
    with Image.open(io.BytesIO(course.built(f"diagrams/{name}.png").read_bytes())) as png:
        return png.size


def test_a_tall_figures_png_fits_a_slide_of_the_setting_s_width(course):
    # A 16:9 slide png_max_side wide is 9/16 of it high: a taller PNG would be scaled down.
    course.write("pyproject.toml", "[tool.course-assets]\npng_max_side = 800\nformats = "
                 '["svg", "png"]\n')
    chain = " >> ".join(f'Mlflow("step {i}")' for i in range(6))
    course.figure("tall", chain.replace("Diagram(", "Diagram("))
    course.write("diagrams/tall.py", course.root.joinpath("diagrams/tall.py").read_text()
                 .replace("show=False)", 'show=False, direction="TB")'))
    assert course.run("build").exit_code == 0
    width, height = svg_pixels(course, "tall")
    assert height * 2 > 450 and height > width  # taller than the slide at twice its size
    assert png_pixels(course, "tall") == (round(width * 450 / height), 450)
