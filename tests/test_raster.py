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
    script = course.figure("tall", " >> ".join(f'Mlflow("step {i}")' for i in range(6)))
    script.write_text(script.read_text().replace("show=False)", 'show=False, direction="TB")'))
    assert course.run("build").exit_code == 0
    width, height = svg_pixels(course, "tall")
    assert height * 2 > 450 and height > width  # taller than the slide at twice its size
    assert png_pixels(course, "tall") == (round(width * 450 / height), 450)


def png_chunks(data: bytes) -> list[str]:
    """Return the types of a PNG's chunks, in order."""
    import struct

    chunks, at = [], 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        chunks.append(kind.decode("ascii"))
        at += 12 + length
    return chunks


# The PNG of the small figure below, first measured on x86_64 Linux with Python 3.11 and the
# locked wheels. Any machine with those wheels must make the same bytes (the bundled Graphviz,
# Cairo and fonts paint, Pillow's own zlib encodes), so a run elsewhere (CI) that differs is a
# reproducibility bug. A change that alters the drawing on purpose (layout, fonts, colours, PNG
# size) updates the hash, after a look at the picture.
SMALL_FIGURE_PNG_SHA256 = "f22de410aab2dd8306ebf7c2548c21b55467563770cc8d921e25453ace6ecffa"


def test_a_small_figures_png_is_the_same_bytes_on_every_machine(course):
    course.write("pyproject.toml", '[tool.course-assets]\nformats = ["svg", "png"]\n')
    course.figure("small", 'Node("one", shape="box") >> Edge(label="to") >> '
                  'Node("two", shape="ellipse")', title="Small")
    assert course.run("build").exit_code == 0
    data = course.built("diagrams/small.png").read_bytes()
    # Nothing but the pixels: no text, time or gamma chunks that could differ by machine.
    assert set(png_chunks(data)) == {"IHDR", "IDAT", "IEND"}
    assert hashlib.sha256(data).hexdigest() == SMALL_FIGURE_PNG_SHA256
