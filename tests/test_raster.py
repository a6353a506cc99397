"""The PNGs: sized for a slide, painted once, the same bytes on every machine."""

from __future__ import annotations

import base64
import hashlib
import io
import re

import pytest

from PIL import Image

from course_assets.config import DEFAULT_PNG_MAX_SIDE


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
    # Without fitting: a layout of its own for slides would be less tall.
    course.write("pyproject.toml", "[tool.course-assets]\npng_max_side = 800\nformats = "
                 '["svg", "png"]\nfit = false\n')
    script = course.figure("tall", " >> ".join(f'Mlflow("step {i}")' for i in range(6)))
    script.write_text(script.read_text().replace("show=False)", 'show=False, direction="TB")'))
    assert course.run("build").exit_code == 0
    width, height = svg_pixels(course, "tall")
    assert height * 2 > 450 and height > width  # taller than the slide at twice its size
    assert png_pixels(course, "tall") == (round(width * 450 / height), 450)


def test_a_wide_figures_png_fits_a_slide_twice_the_decks_size_by_default(course):
    # The decks are laid out on 1280 x 720 slides: the PNG has twice that at most, not 4K.
    course.write("pyproject.toml", '[tool.course-assets]\nformats = ["svg", "png"]\nfit = false\n')
    course.figure("wide", " >> ".join(f'Mlflow("step {i}")' for i in range(12)))
    assert course.run("build").exit_code == 0
    width, height = svg_pixels(course, "wide")
    assert width * 2 > 2560  # twice its size would be wider than the slide
    assert png_pixels(course, "wide") == (2560, round(height * 2560 / width))


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
# Cairo and fonts paint, Pillow filters, the deflate wheel's libdeflate compresses), so a run
# elsewhere (CI) that differs is a reproducibility bug. A change that alters the drawing on
# purpose (layout, fonts, colours, PNG size) updates the hash, after a look at the picture.
# Last updated when a kept layout that nop2 would draw on a smaller page (this figure's: the
# title's room 3.8 points shorter, the picture 6 pixels lower than its SVG's) came to be laid
# out again: the pixels are those of a fresh layout again.
SMALL_FIGURE_PNG_SHA256 = "af28f0a914b35f16db6e13fd122640ab498c0caa4853aa2e90c26e3dd86859d1"


def test_a_small_figures_png_is_the_same_bytes_on_every_machine(course):
    course.write("pyproject.toml", '[tool.course-assets]\nformats = ["svg", "png"]\n')
    course.figure("small", 'Node("one", shape="box") >> Edge(label="to") >> '
                  'Node("two", shape="ellipse")', title="Small")
    assert course.run("build").exit_code == 0
    data = course.built("diagrams/small.png").read_bytes()
    # Nothing but the pixels: no text, time or gamma chunks that could differ by machine.
    assert set(png_chunks(data)) == {"IHDR", "IDAT", "IEND"}
    assert hashlib.sha256(data).hexdigest() == SMALL_FIGURE_PNG_SHA256



def test_a_pngs_image_data_is_compressed_by_the_bundled_libdeflate_not_the_systems_zlib(course):
    import struct
    import zlib

    import deflate

    from course_assets.render.raster import PNG_DEFLATE_LEVEL

    course.write("pyproject.toml", '[tool.course-assets]\nformats = ["svg", "png", "dark"]\n')
    course.figure("small")  # with icons: their dark tiles and fitted copies are PNGs too
    assert course.run("build").exit_code == 0
    pngs = [course.built(f"diagrams/{name}").read_bytes() for name in ("small.png",
                                                                        "small.dark.png")]
    svg = course.built("diagrams/small.dark.svg").read_text()
    pngs += [base64.b64decode(data) for data in re.findall(r"data:image/png;base64,([^\"]+)", svg)]
    assert len(pngs) > 2
    for data in pngs:
        at, image_data = 8, b""
        while at < len(data):
            length, kind = struct.unpack(">I4s", data[at:at + 8])
            image_data += data[at + 8:at + 8 + length] if kind == b"IDAT" else b""
            at += 12 + length
        rows = zlib.decompress(image_data)
        # The system's zlib compresses differently from one build to another; libdeflate (in
        # the locked wheel) the same everywhere: these bytes are libdeflate's. Rows stored
        # unfiltered have their first filter byte in a block of its own, then libdeflate's.
        first_byte_apart = b"\x00\x01\x00\xfe\xff\x00"
        if image_data[2:8] == first_byte_apart:
            assert image_data[8:-4] == bytes(deflate.deflate_compress(rows[1:],
                                                                      PNG_DEFLATE_LEVEL))
        else:
            assert image_data == bytes(deflate.zlib_compress(rows, PNG_DEFLATE_LEVEL))

# Far too tall for a slide as drawn (with 20 steps): fitting gives its slides a layout of
# their own. With 2 steps it needs none.
CHAIN = '''
    """A pipeline of steps, top to bottom."""
    from diagrams import Diagram
    from diagrams.onprem.compute import Server

    with Diagram("Chain", show=False, direction="TB"):
        steps = [Server(f"step {i}") for i in range(STEPS)]
        for a, b in zip(steps, steps[1:]):
            a >> b
'''


def built_pngs(course) -> set[str]:
    return {p.name for p in course.built("diagrams").glob("*.png")}


def manifest_figures(course) -> dict:
    import json

    return json.loads(course.built("manifest.json").read_text())["figures"]


def test_a_figure_with_a_slide_layout_has_pngs_of_that_layout_alone(course):
    import zipfile

    course.write("diagrams/chain.py", CHAIN.replace("STEPS", "20"))
    course.figure("small")
    course.chapter("ch", '## Chain\n\n{{ diagram("chain") }}\n\n## Small\n\n'
                   '{{ diagram("small") }}\n')
    result = course.run("build")  # the default formats: SVG, PNG, dark; PowerPoint decks
    assert result.exit_code == 0, result.output
    figures = manifest_figures(course)
    assert figures["chain"]["fit"]["slide_file"] is True
    # A PNG serves slides: the chain's are of its slides' layout, and it has no other.
    assert built_pngs(course) == {"chain.slide.png", "chain.slide.dark.png", "small.png",
                                  "small.dark.png"}
    assert set(figures["chain"]["outputs"]) == {
        f"build/diagrams/chain{suffix}" for suffix in (
            ".svg", ".dark.svg", ".slide.svg", ".slide.dark.svg", ".slide.png",
            ".slide.dark.png", ".outline.md")}
    slide_svg = course.built("diagrams/chain.slide.svg").read_text()
    width, height = (int(v) for v in re.search(r'<svg[^>]* width="(\d+)" height="(\d+)"',
                                                slide_svg).groups())
    from course_assets.render.raster import png_size

    assert png_pixels(course, "chain.slide") == png_size((width, height), DEFAULT_PNG_MAX_SIDE)
    # The gallery links the PNGs there are.
    gallery = course.built("diagrams/README.md").read_text()
    assert "[PNG 2x (slide layout)](chain.slide.png)" in gallery
    assert "[dark PNG 2x (slide layout)](chain.slide.dark.png)" in gallery
    assert "(chain.png)" not in gallery and "(chain.dark.png)" not in gallery
    assert "[PNG 2x](small.png)" in gallery and "[dark PNG 2x](small.dark.png)" in gallery
    # The PowerPoint decks carry them as each figure's fallback, the theme's own.
    for deck, png in (("ch.pptx", "chain.slide.png"), ("ch.dark.pptx", "chain.slide.dark.png")):
        with zipfile.ZipFile(course.built(f"slides/{deck}")) as package:
            media = {package.read(n) for n in package.namelist() if n.endswith(".png")}
        assert course.built(f"diagrams/{png}").read_bytes() in media, deck
        assert media <= {course.built(f"diagrams/{n}").read_bytes() for n in built_pngs(course)}
    assert course.run("check").exit_code == 0


def test_the_chapter_pngs_go_when_a_figure_gets_a_slide_layout_and_come_back_without(course):
    script = course.write("diagrams/chain.py", CHAIN.replace("STEPS", "2"))
    assert course.run("build", "-q").exit_code == 0
    assert built_pngs(course) == {"chain.png", "chain.dark.png"}
    script.write_text(script.read_text().replace("range(2)", "range(20)"))
    assert course.run("build", "-q").exit_code == 0
    assert built_pngs(course) == {"chain.slide.png", "chain.slide.dark.png"}
    assert course.run("check").exit_code == 0
    script.write_text(script.read_text().replace("range(20)", "range(2)"))
    assert course.run("build", "-q").exit_code == 0
    assert built_pngs(course) == {"chain.png", "chain.dark.png"}
    assert not list(course.built("diagrams").glob("chain.slide*"))
    assert course.run("check").exit_code == 0


def test_a_chapter_png_an_earlier_version_made_beside_the_slide_ones_is_removed(course):
    import hashlib
    import json

    course.write("diagrams/chain.py", CHAIN.replace("STEPS", "20"))
    assert course.run("build", "-q").exit_code == 0
    # What an earlier version left: PNGs of the chapter's layout too, recorded as its own.
    manifest_path = course.built("manifest.json")
    manifest = json.loads(manifest_path.read_text())
    for stem, colour in (("chain", "white"), ("chain.dark", "black")):
        out = io.BytesIO()
        Image.new("RGB", (20, 10), colour).save(out, format="PNG")
        course.built(f"diagrams/{stem}.png").write_bytes(out.getvalue())
        manifest["figures"]["chain"]["outputs"][f"build/diagrams/{stem}.png"] = (
            hashlib.sha256(out.getvalue()).hexdigest())
    manifest_path.write_text(json.dumps(manifest, indent=2))
    result = course.run("check")
    assert result.exit_code == 3
    assert "build/diagrams/chain.png: orphaned" in result.output
    result = course.run("build")
    assert result.exit_code == 0, result.output
    assert built_pngs(course) == {"chain.slide.png", "chain.slide.dark.png"}
    outputs = manifest_figures(course)["chain"]["outputs"]
    assert "build/diagrams/chain.png" not in outputs
    assert "build/diagrams/chain.dark.png" not in outputs
    assert "(chain.png)" not in course.built("diagrams/README.md").read_text()
    assert course.run("check").exit_code == 0


def test_a_figure_on_a_clear_page_keeps_cairos_8_bit_alpha(course):
    course.write("pyproject.toml", '[tool.course-assets]\nformats = ["svg", "png"]\n')
    course.write("diagrams/clear.py", '''
        """Two boxes on no background."""
        from diagrams import Diagram, Node

        with Diagram("Clear", show=False, graph_attr={"bgcolor": "transparent"}):
            Node("one", shape="box") >> Node("two", shape="ellipse")
    ''')
    assert course.run("build", "-q").exit_code == 0
    with Image.open(course.built("diagrams/clear.png")) as image:
        assert image.mode == "RGBA" and image.getpixel((0, 0))[3] == 0
        assert image.size == png_pixels(course, "clear")
        levels = set(image.getchannel("A").tobytes())
    # Opaque lines and their faint anti-aliasing alike: less than a quarter covered is kept
    # (libgd's pixels would have dropped it, and kept only 7 bits of the rest).
    assert 255 in levels and any(0 < level < 64 for level in levels)
    assert any(level % 2 for level in levels if 0 < level < 255)


# Run in a process of its own: Graphviz sets the default node label (the node's name) when a
# process makes its first context, so a graph read before that lost the labels it left unset.
FIRST_PNGS_OF_A_PROCESS = """
import io, sys
from PIL import Image, ImageChops
from pygraphviz import graphviz as gv
from course_assets.render import graphviz

first = graphviz.draw('digraph { a [label="A"]; a -> b }')  # the process's first graph
print("b drawn" if b">b</text>" in first.svg else "b lost")
asked = []
render_data = gv.gvRenderData
gv.gvRenderData = lambda *args: asked.append(args[2]) or render_data(*args)
sources = [
    'digraph { a [label="Aa", style=filled, fillcolor="#268bd2"]; a -> b [label="to"] }',
    'digraph { bgcolor="#fdf6e3"; a [label="Aa", style=filled, fillcolor="#268bd2"]; '
    'a -> b [label="to"] }',
]
ours = [graphviz.draw(source, png_max_side=400).png for source in sources]
painted_in_place = b"png:cairo" not in asked
graphviz._cairo = lambda: None  # Cairo's own PNG writer, the build's fallback
theirs = [graphviz.draw(source, png_max_side=400).png for source in sources]
for mine, cairos in zip(ours, theirs):
    mine, cairos = Image.open(io.BytesIO(mine)), Image.open(io.BytesIO(cairos))
    print(mine.mode, cairos.mode, mine.size == cairos.size, mine.getpixel((0, 0)),
          ImageChops.difference(mine, cairos).getbbox())
print("in place" if painted_in_place else "compressed by Cairo")
"""


def test_a_processs_first_pngs_have_the_pixels_of_cairos_own_png_uncompressed():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", FIRST_PNGS_OF_A_PROCESS],
                            capture_output=True, text=True, timeout=120, check=True)
    lines = result.stdout.splitlines()
    assert lines.pop(0) == "b drawn", result.stdout  # named by default, even in the first graph
    # Both pages (the PNG device's default white, and a colour of the graph's): the same
    # drawing as Cairo's own PNG, pixel for pixel, every label in place.
    assert lines[0] == "RGB RGB True (255, 255, 255) None", result.stdout
    assert lines[1] == "RGB RGB True (253, 246, 227) None", result.stdout
    # Painted into the build's own picture: Cairo never compressed a PNG for Pillow to read.
    assert lines[2] == "in place", result.stdout


@pytest.mark.parametrize("shown", [
    'a [shape=none, label="", image="IMAGE"]',  # at its own size: no imagescale
    'a [shape=box, width=2, height=2, fixedsize=true, imagescale=false, image="IMAGE"]',
    'a [shape=plain, label=<<TABLE><TR><TD WIDTH="120" HEIGHT="90"><IMG SRC="IMAGE"/></TD>'
    '</TR></TABLE>>]',
])
def test_an_image_drawn_at_its_own_size_is_its_size_in_the_png(tmp_path, monkeypatch, shown):
    from course_assets.render import graphviz

    image = tmp_path / "red.png"
    Image.new("RGB", (50, 50), (220, 30, 30)).save(image)
    source = f"digraph {{ {shown.replace('IMAGE', str(image))}; a -> b }}"
    ours = graphviz.draw(source, png_max_side=2560).png
    monkeypatch.setattr(graphviz, "_cairo", lambda: None)  # Cairo's own PNG, as the device draws
    theirs = graphviz.draw(source, png_max_side=2560).png
    assert ours is not None and theirs is not None
    with Image.open(io.BytesIO(ours)) as mine, Image.open(io.BytesIO(theirs)) as cairo:
        from PIL import ImageChops

        # Not a third bigger (painting in place measures an image's own size at 72 dpi).
        assert ImageChops.difference(mine.convert("RGB"), cairo.convert("RGB")).getbbox() is None


@pytest.mark.parametrize("resolution", ['dpi="300"', 'resolution="200"'])
def test_a_resolution_the_author_set_leaves_the_figure_as_the_build_sizes_it(resolution):
    from course_assets.render import graphviz

    # Plain diagrams users write graph_attr={"dpi": "300"} for a sharper PNG.
    plain = 'digraph { a [label="Aa", style=filled, fillcolor="#268bd2"]; a -> b [label="to"] }'
    asked = plain.replace("digraph { ", f"digraph {{ {resolution}; ")
    as_built, as_asked = (graphviz.draw(source, png_max_side=800) for source in (plain, asked))
    # The same page and drawing, not a small drawing on a page grown to the resolution.
    assert as_asked.svg == as_built.svg
    assert as_asked.png == as_built.png


@pytest.mark.parametrize("painters", [1, 2])
def test_at_most_half_a_pools_workers_or_two_paint_a_png_at_once(tmp_path, painters):
    import contextlib
    import threading

    from course_assets.render import isolate, pool

    assert [pool.painters(w) for w in (1, 2, 3, 16)] == [1, 2, 2, 8]
    # The workers of a pool share a scratch folder; the locks live there.
    isolate.keep_scratch_in(str(tmp_path))
    isolate.paint_at_most(painters)
    try:
        entered = threading.Event()

        def one_more_painter() -> None:
            with isolate.painting_turn():
                entered.set()

        with contextlib.ExitStack() as painting:
            for _ in range(painters):  # as many as may paint at once are painting
                painting.enter_context(isolate.painting_turn())
            waiting = threading.Thread(target=one_more_painter)
            waiting.start()
            assert not entered.wait(0.3)  # one more waits while they paint
        assert entered.wait(10)  # and paints once they are done
        waiting.join()
        with isolate.painting_turn():  # free again
            pass
    finally:
        isolate.keep_scratch_in(None)
        isolate.paint_at_most(1)


def test_a_clear_figure_as_wide_as_the_largest_png_setting_is_written(course):
    # A clear page keeps its alpha: four bytes a pixel, so a 16,384-pixel row is 64 KiB, more
    # than Pillow hands out at once when asked for rows padded with their filter byte.
    course.write("pyproject.toml", '[tool.course-assets]\npng_max_side = 16384\n'
                 'formats = ["svg", "png"]\nfit = false\n')
    course.write("diagrams/long.py", '''
        """A long chain on no background."""
        from diagrams import Diagram, Node

        with Diagram("Long", show=False, graph_attr={"bgcolor": "transparent"}):
            chain = [Node(f"step {i}", shape="box") for i in range(90)]
            for tail, head in zip(chain, chain[1:]):
                tail >> head
    ''')
    result = course.run("build", "-q")
    assert result.exit_code == 0, result.output
    width, height = svg_pixels(course, "long")
    assert width * 2 >= 16384  # the PNG is as wide as the setting allows
    with Image.open(course.built("diagrams/long.png")) as image:
        assert image.mode == "RGBA" and image.size == (16384, round(height * 16384 / width))
        image.load()
        assert image.getpixel((0, 0))[3] == 0


def png_chunk_bodies(data: bytes) -> dict[str, bytes]:
    """Return each chunk type's data (the image data's chunks joined)."""
    import struct

    bodies: dict[str, bytes] = {}
    at = 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        name = kind.decode("ascii")
        bodies[name] = bodies.get(name, b"") + data[at + 8:at + 8 + length]
        at += 12 + length
    return bodies


def rgb_profile() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def test_a_jpeg_icons_colour_profile_goes_with_it_into_the_figure(course):
    # A photo saved in a wide colour space shows its colours through its profile: a browser
    # reading the PNG without it shows them duller (or shifted).
    import zlib

    import deflate
    from svgtools import placed_icons, parse

    from course_assets.render.raster import PNG_DEFLATE_LEVEL

    profile = rgb_profile()
    (course.root / "icons").mkdir()
    Image.new("RGB", (64, 64), (200, 60, 20)).save(course.root / "icons/photo.jpg",
                                                    format="JPEG", icc_profile=profile)
    course.write("diagrams/photo.py", '''
        """A JPEG icon with a colour profile."""
        from diagrams import Diagram
        from diagrams.custom import Custom
        with Diagram("Photo", show=False):
            Custom("photo", "icons/photo.jpg")
    ''')
    result = course.run("build")
    assert result.exit_code == 0, result.output
    (uri,) = {i.uri for i in placed_icons(parse(course.built("diagrams/photo.svg")))}
    data = base64.b64decode(uri.split(",", 1)[1])
    with Image.open(io.BytesIO(data)) as icon:
        assert icon.info.get("icc_profile") == profile
    # Compressed by libdeflate like the image data: the same bytes on every machine.
    name, compressed = png_chunk_bodies(data)["iCCP"].split(b"\0", 1)
    assert compressed[0] == 0  # compression method 0: deflate
    assert zlib.decompress(compressed[1:]) == profile
    assert compressed[1:] == bytes(deflate.zlib_compress(profile, PNG_DEFLATE_LEVEL))


@pytest.mark.parametrize("mode", ["RGB", "L", "P", "I;16"])
def test_a_profile_is_kept_only_where_it_describes_the_pngs_colours(mode):
    from PIL import ImageCms

    from course_assets.render.raster import encoded_png

    grey = mode in ("L", "I;16")
    image = Image.new(mode, (3, 2), 7)
    for profile, fits in ((rgb_profile(), not grey),
                          (ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes(),
                           False)):
        image.info["icc_profile"] = profile  # what a reader leaves there for a converted picture
        with Image.open(io.BytesIO(encoded_png(image))) as written:
            assert written.info.get("icc_profile") == (profile if fits else None), mode
            assert written.convert("RGB").tobytes() == image.convert("RGB").tobytes()


@pytest.mark.parametrize(("mode", "clear"), [("L", 0), ("RGB", (0, 0, 0))])
def test_a_grey_or_colour_picture_keeps_its_transparent_colour(mode, clear):
    from course_assets.render.raster import encoded_png

    image = Image.new(mode, (4, 4), clear)
    image.paste(200 if mode == "L" else (200, 10, 10), (1, 1, 3, 3))
    image.info["transparency"] = clear
    with Image.open(io.BytesIO(encoded_png(image))) as written:
        rgba = written.convert("RGBA")
    assert rgba.getpixel((0, 0))[3] == 0 and rgba.getpixel((1, 1))[3] == 255


ICON = "ICON"
# Figures of each kind the PNG is painted from: clusters and a title; orthogonal edges with
# labels the build moves off the lines; left to right with ports; an HTML table;
# external labels; icons the build fits; an image at its own size (Cairo's own PNG); a clear
# page.
LAID_OUT_ONCE = {
    "clusters": '''digraph { label="A title"; splines=ortho; node [shape=box];
        subgraph cluster_a { label="Stage one"; bgcolor="#E5F5FD"; a1 -> a2 }
        subgraph cluster_b { label="Stage two"; b1 -> b2 -> b3 }
        a2 -> b1 [label="hand over"]; a1 -> b3 [label="skip"]; a1 -> b2 }''',
    "ports": '''digraph { rankdir=LR; splines=ortho; node [shape=box];
        a -> b [tailport=e, headport=w, label="right"]; a -> c [tailport=s, xlabel="down"];
        c -> b [dir=both] }''',
    "table": '''digraph { r [shape=box, label="in"];
        t [shape=plain, label=<<TABLE><TR><TD BGCOLOR="#FFEECC">one</TD><TD>two</TD></TR></TABLE>>];
        r -> t [label="joined"]; t -> r }''',
    "icons": '''digraph { splines=ortho; node [shape=none, fixedsize=true, imagescale=true,
        labelloc=b, width=1.4, height=1.9, image="ICON"];
        a [label="Train"]; b [label="Serve\\nmodel"]; c [label="Watch"]; a -> b -> c; a -> c }''',
    "image at its own size": 'digraph { a [shape=none, label="", image="ICON"]; a -> b }',
    "clear page": 'digraph { bgcolor=transparent; a -> b [label="to"]; b -> c }',
}


@pytest.mark.parametrize("kind", sorted(LAID_OUT_ONCE))
def test_a_png_painted_from_the_kept_layout_shows_what_a_new_layout_shows(tmp_path, kind):
    # The light PNG is painted in a later process from the layout the light SVG was drawn
    # from, as Graphviz's "dot" output keeps it: the same picture as laying the graph out
    # again, to the rounding of its coordinates (five digits).
    from PIL import ImageChops

    from course_assets.render import graphviz

    icon = tmp_path / "icon.png"
    Image.new("RGB", (64, 48), (220, 30, 30)).save(icon)
    source = LAID_OUT_ONCE[kind].replace(ICON, str(icon))
    drawn = graphviz.draw(source, keep_positions=True)
    assert drawn.png is None and drawn.positions is not None
    painted = graphviz.paint(drawn.positions, png_max_side=2560)
    laid_out_again = graphviz.draw(source, png_max_side=2560).png
    assert laid_out_again is not None
    with Image.open(io.BytesIO(painted)) as mine, Image.open(io.BytesIO(laid_out_again)) as again:
        assert (mine.mode, mine.size) == (again.mode, again.size)
        difference = ImageChops.difference(mine.convert("RGBA"), again.convert("RGBA"))
        # Anti-aliased edges may differ by a shade; nothing moved, nothing missing.
        moved = sum(difference.convert("L").point(lambda shade: shade > 48).histogram()[1:])
        assert moved <= mine.width * mine.height // 1000, moved
        if kind == "clear page":
            assert mine.getpixel((0, 0))[3] == 0


def test_a_graph_with_a_record_is_laid_out_again_for_its_png(course):
    # Read back from Graphviz's "dot" output a record grows by a point, and the page with it.
    from course_assets.render import graphviz

    source = ('digraph { r [shape=Mrecord, label="{<x> in|mid|<y> out}"]; '
              'r:y -> t [label="joined"]; t -> r:x }')
    assert graphviz.draw(source, keep_positions=True).positions is None
    assert graphviz.draw(source.replace("Mrecord", "box"), keep_positions=True).positions
    course.write("pyproject.toml", '[tool.course-assets]\nformats = ["svg", "png"]\n')
    course.write("diagrams/stages.py", '''
        """Three stages in one record."""
        from diagrams import Diagram, Node

        with Diagram("Stages", show=False):
            Node("{in|mid|out}", shape="record") >> Node("next", shape="box")
    ''')
    assert course.run("build", "-q").exit_code == 0
    width, height = svg_pixels(course, "stages")
    assert png_pixels(course, "stages") == (width * 2, height * 2)


def test_a_figure_larger_than_graphviz_writes_exactly_is_laid_out_again_for_its_png():
    # Graphviz writes coordinates to five digits: beyond 10,000 points, whole points or worse.
    from course_assets.render import graphviz

    chain = " -> ".join(f"n{i}" for i in range(160))
    tall = graphviz.draw(f"digraph {{ {chain} }}", keep_positions=True)
    assert max(graphviz.svg_points(tall.svg)) > graphviz.EXACT_POSITIONS
    assert tall.positions is None
    short = graphviz.draw(f"digraph {{ {' -> '.join(f'n{i}' for i in range(20))} }}",
                          keep_positions=True)
    assert short.positions is not None


def test_a_kept_layout_graphviz_cannot_read_back_is_laid_out_again():
    # Reading back what Graphviz wrote failing is the build's fault, not the script's: the
    # figure is drawn from a new layout rather than failed at the author's line.
    import dataclasses

    from course_assets.render import graphviz

    drawn = graphviz.draw('digraph { a -> b [label="to"] }', keep_positions=True)
    assert drawn.positions is not None
    broken = drawn.positions.dot.replace(b"digraph {", b"digraph { ;;[", 1)
    unreadable = dataclasses.replace(drawn.positions, dot=broken)
    assert graphviz.paint(drawn.positions, png_max_side=800) is not None
    assert graphviz.paint(unreadable, png_max_side=800) is None
    source = 'digraph { a -> b [label="to"] }'
    assert graphviz.draw_recoloured(source, source, unreadable) is None
