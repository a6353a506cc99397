"""Every figure as PNG at twice its size (within a slide) and in a dark variant, as the formats
setting says."""

from __future__ import annotations

import json
import runpy
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from course_assets.config import DEFAULT_PNG_MAX_SIDE
from course_assets.render.raster import png_size, png_zoom
from course_assets.render.theme import DARK_DEFAULTS
from slidetools import REPO, built_repo_course, contrast_ratio, rgb
from svgtools import SVG, placed_icons

FIGURES = ("mlops_benefits", "mlops_workflow", "three_stage_process")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return built_repo_course(tmp_path_factory)


def svg_root(path: Path) -> ET.Element:
    return ET.fromstring(path.read_bytes())


def background(root: ET.Element) -> str:
    """Return the fill of the page polygon Graphviz draws first in the graph."""
    return root.find(f"{SVG}g").find(f"{SVG}polygon").get("fill")


def text_fills(root: ET.Element) -> set[str]:
    return {t.get("fill", "black") for t in root.iter(f"{SVG}text")}


def icon_boxes(root: ET.Element, scale: float) -> list[tuple[int, int, int, int]]:
    """Return where each icon of the SVG lands in an image `scale` times its pixel size."""
    viewbox = [float(v) for v in root.get("viewBox").split()]
    px_per_unit = float(root.get("width")) / viewbox[2] * scale
    transform = root.find(f"{SVG}g").get("transform")
    tx, ty = (float(v) for v in transform.split("translate(")[1].rstrip(")").split())
    boxes = []
    for use in placed_icons(root):
        x, y = (use.x + tx) * px_per_unit, (use.y + ty) * px_per_unit
        w, h = use.width * px_per_unit, use.height * px_per_unit
        boxes.append((round(x), round(y), round(x + w), round(y + h)))
    return boxes


def png_scale(root: ET.Element) -> float:
    """Return how many times its SVG's size the figure's PNG is: twice, or less on a slide."""
    return png_zoom((int(root.get("width")), int(root.get("height"))), DEFAULT_PNG_MAX_SIDE)


def colours_in(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    return len(image.convert("RGB").crop(box).getcolors(1 << 20) or [])


@pytest.mark.parametrize("variant", ["", ".dark"])
@pytest.mark.parametrize("name", FIGURES)
def test_png_is_a_valid_image_at_twice_the_svg_size_within_a_slide(built, name, variant):
    svg = built / "build/diagrams" / f"{name}{variant}.svg"
    png = built / "build/diagrams" / f"{name}{variant}.png"
    root = svg_root(svg)
    with Image.open(png) as image:
        image.verify()  # a whole, valid PNG
    with Image.open(png) as image:
        assert image.format == "PNG"
        svg_pixels = (int(root.get("width")), int(root.get("height")))
        assert image.size == png_size(svg_pixels, DEFAULT_PNG_MAX_SIDE)
        # Twice the SVG's size, unless that is wider than a slide (two of this course's are).
        assert image.size == tuple(2 * side for side in svg_pixels) or image.width == 2560


@pytest.mark.parametrize("variant", ["", ".dark"])
def test_png_paints_every_icon(built, variant):
    root = svg_root(built / f"build/diagrams/mlops_workflow{variant}.svg")
    with Image.open(built / f"build/diagrams/mlops_workflow{variant}.png") as image:
        image.load()
        boxes = icon_boxes(root, png_scale(root))
        assert len(boxes) == 8
        page = image.convert("RGB").getpixel((1, 1))
        for box in boxes:
            # A painted icon has many colours; a blank box has one (the page or a flat tile).
            assert colours_in(image, box) > 20, f"icon at {box} is blank"
            data = image.convert("RGB").crop(box).tobytes()
            pixels = zip(data[0::3], data[1::3], data[2::3])
            differing = sum(1 for pixel in pixels if pixel != page)
            assert differing > 0.1 * len(data) / 3, f"icon at {box} is blank"


def test_dark_and_light_differ_in_background_and_text(built):
    for name in FIGURES:
        light = svg_root(built / f"build/diagrams/{name}.svg")
        dark = svg_root(built / f"build/diagrams/{name}.dark.svg")
        assert rgb(background(light)) != rgb(background(dark)), name
        assert not {rgb(c) for c in text_fills(light)} & {rgb(c) for c in text_fills(dark)}, name


def test_dark_text_keeps_wcag_aa_contrast_in_every_figure(built):
    for name in FIGURES:
        dark = svg_root(built / f"build/diagrams/{name}.dark.svg")
        page = rgb(background(dark))
        assert page == rgb("#0d1117")
        for fill in text_fills(dark):
            assert contrast_ratio(rgb(fill), page) >= 4.5, (name, fill)


def test_course_palette_keeps_wcag_aa_contrast_in_the_dark():
    style = runpy.run_path(str(REPO / "diagrams/_style.py"))
    dark = style["PALETTES"]["dark"]
    light = style["PALETTES"]["light"]
    assert rgb(dark["background"]) != rgb(light["background"])
    assert rgb(dark["text"]) != rgb(light["text"])
    for text in ("text", "muted"):
        for ground in ("background", "box", "cluster"):
            ratio = contrast_ratio(rgb(dark[text]), rgb(dark[ground]))
            assert ratio >= 4.5, f"dark {text} on {ground}: {ratio:.2f}"


def test_generator_dark_defaults_keep_wcag_aa_contrast():
    page = rgb(DARK_DEFAULTS.background)
    for ground in (page, *(rgb(c) for c in DARK_DEFAULTS.cluster_backgrounds)):
        assert contrast_ratio(rgb(DARK_DEFAULTS.text), ground) >= 4.5
        assert contrast_ratio(rgb(DARK_DEFAULTS.muted), ground) >= 4.5


def test_dark_variant_of_an_unstyled_figure_is_dark_and_legible(course):
    course.figure("plain", """
        with Cluster("Outer"):
            with Cluster("Inner"):
                a = Mlflow("tracking")
            b = Airflow("pipeline")
        a >> Edge(label="then") >> b >> Node("plain node")
    """)
    assert course.run("build", "-q").exit_code == 0
    light = svg_root(course.built("diagrams/plain.svg"))
    dark = svg_root(course.built("diagrams/plain.dark.svg"))
    assert rgb(background(light)) == rgb("white")
    page = rgb(background(dark))
    assert contrast_ratio(page, rgb("white")) > 15  # a dark page
    for fill in text_fills(dark):  # titles, labels, cluster names, the edge label
        assert contrast_ratio(rgb(fill), page) >= 4.5, fill
    # Clusters get dark fills too, so light text inside them stays readable.
    for path in dark.iter(f"{SVG}path"):
        fill = path.get("fill")
        if fill and fill != "none" and path.get("stroke") not in (None, "none", "transparent"):
            assert contrast_ratio(rgb(DARK_DEFAULTS.text), rgb(fill)) >= 4.5, fill


def test_dark_icons_sit_on_a_light_tile(built):
    # Provider icons are drawn for a white page; in the dark variant each gets a light tile.
    root = svg_root(built / "build/diagrams/mlops_workflow.dark.svg")
    with Image.open(built / "build/diagrams/mlops_workflow.dark.png") as image:
        rgb_image = image.convert("RGB")
        for left, top, right, bottom in icon_boxes(root, png_scale(root)):
            corner_inset = max(3, (right - left) // 20)
            edge = rgb_image.getpixel(((left + right) // 2, top + corner_inset))
            assert contrast_ratio(edge, rgb("#0d1117")) > 10, (left, top, edge)


def test_dark_svg_ids_do_not_collide_with_the_light_ones(built):
    for name in FIGURES:
        ids = [{e.get("id") for e in svg_root(built / f"build/diagrams/{name}{v}.svg").iter()
                if e.get("id")} for v in ("", ".dark")]
        assert ids[0] and ids[1] and not ids[0] & ids[1], name


def test_chapter_offers_the_dark_figure_to_dark_mode_readers(built):
    text = (built / "build/chapters/chapter-1.md").read_text()
    assert text.count("<picture>") == 3
    assert ('<source media="(prefers-color-scheme: dark)" '
            'srcset="../diagrams/mlops_workflow.dark.svg" />') in text
    assert '<img src="../diagrams/mlops_workflow.svg"' in text


def test_outputs_are_reproducible(course):
    course.figure("fig")
    assert course.run("build", "-q").exit_code == 0
    first = {p.name: p.read_bytes() for p in course.built("diagrams").glob("fig*")}
    assert set(first) == {"fig.svg", "fig.png", "fig.dark.svg", "fig.dark.png",
                          "fig.outline.md"}
    assert course.run("build", "-q", "--force").exit_code == 0
    again = {p.name: p.read_bytes() for p in course.built("diagrams").glob("fig*")}
    assert again == first


def test_the_shell_theme_variable_does_not_leak_into_the_light_figure(course, monkeypatch):
    course.write("diagrams/_style.py", """
        import os
        BACKGROUND = "#101010" if os.environ.get("COURSE_ASSETS_THEME") == "dark" else "#fafafa"
    """)
    course.write("diagrams/themed.py", '''
        """A figure that follows the theme."""
        from diagrams import Diagram, Node
        from _style import BACKGROUND
        with Diagram("Themed", show=False, graph_attr={"bgcolor": BACKGROUND}):
            Node("x")
    ''')
    monkeypatch.setenv("COURSE_ASSETS_THEME", "dark")
    assert course.run("build", "-q").exit_code == 0
    assert background(svg_root(course.built("diagrams/themed.svg"))) == "#fafafa"
    assert background(svg_root(course.built("diagrams/themed.dark.svg"))) == "#101010"


def test_formats_turned_off_remove_their_outputs(course):
    course.figure("fig")
    course.chapter("ch", '## One\n\n{{ diagram("fig") }}\n')
    assert course.run("build", "-q").exit_code == 0
    assert course.built("diagrams/fig.dark.png").exists()

    (course.root / "pyproject.toml").write_text('[tool.course-assets]\nformats = ["svg"]\n')
    result = course.run("build", "-q")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in course.built("diagrams").iterdir())
    assert names == ["README.md", "fig.outline.md", "fig.svg"]  # the outline is always made
    chapter = course.built("chapters/ch.md").read_text()
    assert "<picture>" not in chapter and 'src="../diagrams/fig.svg"' in chapter
    manifest = json.loads(course.built("manifest.json").read_text())
    assert list(manifest["figures"]["fig"]["outputs"]) == ["build/diagrams/fig.outline.md",
                                                          "build/diagrams/fig.svg"]
    assert course.run("check").exit_code == 0

    (course.root / "pyproject.toml").write_text(
        '[tool.course-assets]\nformats = ["svg", "png"]\n')
    assert course.run("build", "-q").exit_code == 0
    assert sorted(p.name for p in course.built("diagrams").iterdir()) == [
        "README.md", "fig.outline.md", "fig.png", "fig.svg"]
    assert course.run("check").exit_code == 0


def test_check_reports_a_missing_png(course):
    course.figure("fig")
    assert course.run("build", "-q").exit_code == 0
    course.built("diagrams/fig.png").unlink()
    result = course.run("check")
    assert result.exit_code == 3
    assert "build/diagrams/fig.png: missing" in result.output
    assert course.run("build", "-q").exit_code == 0
    assert course.run("check").exit_code == 0


def test_a_png_on_an_opaque_page_is_flattened_onto_it_and_one_on_a_clear_page_stays_clear():
    import io

    from course_assets.render.raster import normalized_png

    def encoded(image: Image.Image) -> bytes:
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()

    page = (250, 240, 230)
    drawn = Image.new("RGBA", (40, 30), (*page, 255))
    drawn.paste((10, 20, 30, 255), (5, 5, 15, 15))
    for strip in ((39, 0, 40, 30), (0, 29, 40, 30)):
        drawn.paste((0, 0, 0, 128), strip)  # Cairo's partly covered last column and row
    # The same size, or a pixel of rounding either way: the page shows through, no seam.
    for size in ((40, 30), (41, 31), (39, 29)):
        flattened = Image.open(io.BytesIO(normalized_png(encoded(drawn), size)))
        expected = Image.new("RGB", size, page)
        expected.paste(drawn, (0, 0), drawn)
        assert flattened.mode == "RGB" and flattened.size == size
        assert flattened.tobytes() == expected.tobytes(), size
    assert flattened.getpixel((10, 10)) == (10, 20, 30)
    clear = Image.new("RGBA", (40, 30), (0, 0, 0, 0))
    clear.paste((10, 20, 30, 255), (5, 5, 15, 15))
    kept = Image.open(io.BytesIO(normalized_png(encoded(clear), (40, 30))))
    assert kept.mode == "RGBA" and kept.tobytes() == clear.tobytes()


def drawn_texts(root: ET.Element) -> list[tuple[str, float, float]]:
    """Return every text of the SVG with where it is drawn."""
    return sorted((t.text or "", float(t.get("x")), float(t.get("y")))
                  for t in root.iter(f"{SVG}text"))


def test_a_dark_figure_is_laid_out_as_its_light_one(course):
    # The dark variant is the light figure in other colours: switching themes moves nothing,
    # the page keeps its size. Mlflow's icon is wide, its dark tile a little less so: the tile
    # is drawn in the box the light icon was fitted to.
    course.figure("pipeline", """
        with Cluster("Tracking"):
            runs = Mlflow("runs")
            board = Mlflow("board")
        runs >> Edge(label="logs to") >> board >> Airflow("retrain") >> Node("deploy")
        runs >> Airflow("schedule") >> Edge(label="reads") >> board
    """)
    assert course.run("build", "-q").exit_code == 0
    light = svg_root(course.built("diagrams/pipeline.svg"))
    dark = svg_root(course.built("diagrams/pipeline.dark.svg"))
    assert (light.get("width"), light.get("height")) == (dark.get("width"), dark.get("height"))
    assert drawn_texts(light) == drawn_texts(dark)
    icons, tiles = placed_icons(light), placed_icons(dark)
    assert len(icons) == len(tiles) == 4
    for icon, tile in zip(icons, tiles, strict=True):
        assert abs(icon.x + icon.width / 2 - (tile.x + tile.width / 2)) < 0.6
        assert abs(icon.y + icon.height / 2 - (tile.y + tile.height / 2)) < 0.6
        assert abs(icon.width - tile.width) <= 0.01 * icon.width + 0.6
        assert abs(icon.height - tile.height) <= 0.01 * icon.height + 0.6
    # In its own colours.
    assert rgb(background(dark)) == rgb(DARK_DEFAULTS.background)
    assert {rgb(fill) for fill in text_fills(dark)} <= {rgb(DARK_DEFAULTS.text),
                                                         rgb(DARK_DEFAULTS.muted)}


@pytest.mark.parametrize("dark_only", [
    'Node("night shift")',  # another node
    'Edge(label="a much longer label in the dark")',  # other words, another size
])
def test_a_script_that_draws_another_graph_in_the_dark_gets_a_layout_of_its_own(course,
                                                                              dark_only):
    body = f"""
        import os
        a, b = Mlflow("runs"), Airflow("retrain")
        if os.environ.get("COURSE_ASSETS_THEME") == "dark":
            a >> {dark_only} >> b
        else:
            a >> b
    """
    course.figure("moody", body)
    assert course.run("build", "-q").exit_code == 0
    light = svg_root(course.built("diagrams/moody.svg"))
    dark = svg_root(course.built("diagrams/moody.dark.svg"))
    words = {t.text for t in dark.iter(f"{SVG}text")}
    assert {"night shift"} <= words or {"a much longer label in the dark"} <= words
    assert light.get("width") != dark.get("width")  # laid out for what it draws


def ink_box(image: Image.Image) -> tuple[int, int, int, int]:
    """Return the box around everything drawn on the page (the page's colour is its corner's)."""
    from PIL import ImageChops

    rgb_image = image.convert("RGB")
    page = Image.new("RGB", rgb_image.size, rgb_image.getpixel((0, 0)))
    box = ImageChops.difference(rgb_image, page).convert("L").point(lambda v: v > 60).getbbox()
    assert box is not None, "an empty picture"
    return box


def svg_as_seen(svg: Path, png: Image.Image) -> Image.Image:
    """Return the SVG drawn by librsvg at the PNG's size on the PNG's page: what a viewer shows."""
    import io
    import subprocess

    drawn = subprocess.run(["rsvg-convert", "-w", str(png.width), "-h", str(png.height),
                            str(svg)], check=True, capture_output=True).stdout
    seen = Image.new("RGBA", png.size, png.convert("RGBA").getpixel((0, 0)))
    seen.alpha_composite(Image.open(io.BytesIO(drawn)).convert("RGBA"))
    return seen


def outlines(root: ET.Element) -> list[tuple[float, ...]]:
    """Return every ellipse and polygon the SVG draws, as numbers, in drawing order's set."""
    shapes = []
    for element in root.iter():
        if element.tag == f"{SVG}ellipse":
            shapes.append(tuple(float(element.get(k)) for k in ("cx", "cy", "rx", "ry")))
        elif element.tag == f"{SVG}polygon":
            points = element.get("points").replace(",", " ").split()
            shapes.append(tuple(float(v) for v in points))
    return sorted(shapes)


@pytest.mark.parametrize(("body", "graph_attr"), [
    # Shapes Graphviz draws bigger when read back from its own "dot" output.
    ('Node("start", shape="doublecircle") >> Node("stop", shape="circle", peripheries="2")', {}),
    ('Node("egg", shape="egg") >> Node("lean", shape="parallelogram")', {}),
    # Graphviz leaves room around a cluster at the page's edge; drawn again from its own
    # positions, it would not.
    ('with Cluster("Inside"):\n'
     '    Node("a", shape="ellipse", fixedsize="false") >> '
     'Node("b", shape="ellipse", fixedsize="false")', {}),
    # nop2 leaves the title less room than dot did: the picture would sit lower on its page.
    ('Node("one", shape="box") >> Edge(label="to") >> Node("two", shape="ellipse")', {}),
    # Drawn again from its own positions, a stretched graph's nodes are stretched once more.
    ('a, b, c = (Node(x, shape="ellipse", fixedsize="false") for x in "abc")\n'
     'a >> b >> c\na >> c', {"ratio": "2", "rankdir": "TB"}),
], ids=["two outlines", "leaning shapes", "cluster at the edge", "title",
        "stretched"])
def test_the_dark_figure_and_the_pngs_are_drawn_as_the_light_svg(course, body, graph_attr):
    course.write("diagrams/shapes.py", f'''
        """Shapes Graphviz draws."""
        from diagrams import Cluster, Diagram, Edge, Node

        with Diagram("Shapes", show=False, graph_attr={graph_attr!r}):
{textwrap.indent(body, " " * 12)}
    ''')
    assert course.run("build", "-q").exit_code == 0
    light_svg, dark_svg = (course.built(f"diagrams/shapes{v}.svg") for v in ("", ".dark"))
    light, dark = svg_root(light_svg), svg_root(dark_svg)
    # The dark figure is the light one in other colours: the same page, every outline the same.
    assert (light.get("width"), light.get("height")) == (dark.get("width"), dark.get("height"))
    assert drawn_texts(light) == drawn_texts(dark)
    for mine, theirs in zip(outlines(light), outlines(dark), strict=True):
        assert max(abs(a - b) for a, b in zip(mine, theirs, strict=True)) < 0.6
    # Each PNG shows its SVG, where a viewer draws it: nothing moved, nothing grown.
    for svg in (light_svg, dark_svg):
        with Image.open(svg.with_suffix(".png")) as png:
            seen = svg_as_seen(svg, png)
            assert all(abs(a - b) <= 3 for a, b in zip(ink_box(png), ink_box(seen),
                                                        strict=True)), svg.name


def drawing_order(root: ET.Element, variant: str) -> list[tuple[str, str]]:
    """Return each node and edge group of the SVG, in the order drawn, as a node's id and words,
    or where an edge's line starts."""
    order = []
    for group in root.iter(f"{SVG}g"):
        if group.get("class") == "node":
            words = " ".join(t.text or "" for t in group.iter(f"{SVG}text"))
            order.append((group.get("id").replace(variant, ""), words))
        elif group.get("class") == "edge":
            order.append(("edge", group.find(f"{SVG}path").get("d").split("C")[0]))
    return order


def test_the_dark_figure_draws_its_objects_in_the_light_figures_order(course):
    # What overlaps lies on top in both variants, and the same node has the same id.
    course.figure("order", """
        a, b = Node("a"), Node("b")
        a >> Edge(color="red") >> b
        with Cluster("Later"):
            c = Node("c")
        c >> Edge(color="blue") >> a
        b >> c
    """)
    assert course.run("build", "-q").exit_code == 0
    light = svg_root(course.built("diagrams/order.svg"))
    dark = svg_root(course.built("diagrams/order.dark.svg"))
    assert drawing_order(light, "order.g.") == drawing_order(dark, "order.dark.g.")


def test_clusters_of_one_name_in_different_places_each_get_the_dark_colours(course):
    # Two clusters named alike, one inside another cluster: each is its own box, and each is
    # dark in the dark variant, so the light text inside stays readable.
    course.figure("teams", """
        with Cluster("Team"):
            a = Node("a")
        with Cluster("Ops"):
            with Cluster("Team"):
                b = Node("b")
        a >> b
    """)
    assert course.run("build", "-q").exit_code == 0
    dark = svg_root(course.built("diagrams/teams.dark.svg"))
    boxes = [group.find(f"{SVG}path") for group in dark.iter(f"{SVG}g")
             if group.get("class") == "cluster"]
    assert len(boxes) == 3
    for box in boxes:
        assert contrast_ratio(rgb(DARK_DEFAULTS.text), rgb(box.get("fill"))) >= 4.5, box.get("fill")


def test_words_that_name_graphviz_drawing_attributes_stay_in_the_dark_figure(course):
    # A course about Graphviz may well quote its output: the dark figure says it all too.
    course.figure("xdot", r'''
        a = Node("xdot output: xdotversion=1.7, then _draw_ operations")
        a >> Edge(label='_ldraw_="F 14" sets the font') >> Node("b")
    ''')
    assert course.run("build", "-q").exit_code == 0
    light = svg_root(course.built("diagrams/xdot.svg"))
    dark = svg_root(course.built("diagrams/xdot.dark.svg"))
    words = " ".join(text for text, _, _ in drawn_texts(dark))
    assert "xdotversion=1.7," in words and '_ldraw_="F 14"' in words
    assert drawn_texts(light) == drawn_texts(dark)


def test_a_node_named_like_a_dot_keyword_gets_its_png_and_dark_figure(course):
    # A script may name its nodes (`nodeid`): one called "Edge" or "graph" must be quoted
    # wherever the kept layout names it again, or Graphviz cannot read that layout back.
    course.figure("keywords", """
        with Cluster("Steps"):
            a = Node("first", nodeid="Edge")
            b = Node("second", nodeid="graph")
        a >> b >> Node("third", nodeid="strict")
    """)
    result = course.run("build", "-q")
    assert result.exit_code == 0, result.output
    light = svg_root(course.built("diagrams/keywords.svg"))
    dark = svg_root(course.built("diagrams/keywords.dark.svg"))
    assert drawn_texts(light) == drawn_texts(dark)
    assert course.built("diagrams/keywords.png").is_file()
