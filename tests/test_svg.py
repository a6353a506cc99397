"""Post-processing Graphviz's SVG: embedded icons, labels, size and safety."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from course_assets.render import graphviz as dot
from course_assets.render import icons
from course_assets.errors import FigureError
from course_assets.render.isolate import run_isolated
from course_assets.render.svg import postprocess

from svgtools import (
    SVG, XLINK_HREF, assert_self_contained, data_uris, decode_png, placed_icons,
)



def library_icon(name: str) -> str:
    import diagrams

    return str(Path(diagrams.__file__).parent.parent / "resources" / "onprem" / name)


def draw(source: str) -> bytes:
    # In a throwaway child, as the build does: Graphviz keeps the icons it read open, and this
    # process forks build workers in other tests.
    drawing, _ = run_isolated(lambda: dot.draw(source), 60)
    return drawing.svg


def render(source: str, **labels) -> bytes:
    raw = draw(source)
    return postprocess(raw, name=labels.get("name", "fig"), title=labels.get("title", "T"),
                       description=labels.get("description", "D"), load_icon=icons.load_icon,
                       theme=labels.get("theme", ""))


def graph(*nodes: str, extra: str = "") -> str:
    return "digraph G {\n" + extra + "\n".join(nodes) + "\n}"


def test_each_icon_is_carried_once_and_moved_to_each_place_it_is_shown(tmp_path):
    mlflow = library_icon("mlops/mlflow.png")
    airflow = library_icon("workflow/airflow.png")
    sized = "shape=none imagescale=true fixedsize=true"
    source = graph(
        f'a [{sized} width=1 height=1 image="{mlflow}" label="a"]',
        f'b [{sized} width=1 height=1 image="{mlflow}" label="b"]',
        f'c [{sized} width=1 height=1 image="{airflow}" label="c"]',
        f'd [{sized} width=2 height=2 image="{mlflow}" label="d"]',
        f'e [{sized} width=1 height=1 image="{mlflow}" label="e"]', "a -> b -> c -> d -> e",
    )
    out = tmp_path / "fig.svg"
    out.write_bytes(render(source, name="flow", theme="dark"))
    assert_self_contained(out)
    root = ET.fromstring(out.read_bytes())
    # One <image> per icon and size, in <defs>, named with the figure's prefix in the order the
    # icons first appear; each node a <use> that only moves it. LibreOffice's importer ignores
    # the scaling of a <use> (or a <symbol viewBox>), so the size must stay on the <image>.
    [defs] = root.findall(f"{SVG}defs")
    defined = defs.findall(f"{SVG}image")
    assert [image.get("id") for image in defined] == [
        "flow.dark.icon-1", "flow.dark.icon-2", "flow.dark.icon-3"]
    assert len(list(root.iter(f"{SVG}image"))) == 3 and not list(root.iter(f"{SVG}symbol"))
    uses = list(root.iter(f"{SVG}use"))
    assert [use.get(XLINK_HREF) for use in uses] == [
        "#flow.dark.icon-1", "#flow.dark.icon-1", "#flow.dark.icon-2", "#flow.dark.icon-3",
        "#flow.dark.icon-1"]
    assert all(set(use.attrib) == {XLINK_HREF, "x", "y"} for use in uses)
    icons = placed_icons(root)
    assert [icon.width for icon in icons] == [72, 72, 72, 144, 72]
    assert len({icon.y for icon in icons}) == 5  # each in its own place
    assert icons[0].uri == icons[1].uri == icons[4].uri != icons[3].uri != icons[2].uri
    for uri in data_uris(root):
        assert decode_png(uri).size[0] > 0
    assert render(source, name="flow", theme="dark") == out.read_bytes()


def test_sizes_a_rounding_error_apart_share_one_icon_and_larger_differences_do_not():
    mlflow = library_icon("mlops/mlflow.png")
    images = "".join(
        f'<image xlink:href="{mlflow}" width="100.8px" height="{height}px" '
        f'preserveAspectRatio="xMinYMin meet" x="{x}" y="-50"/>'
        for x, height in ((0, "36.61875"), (120, "36.61874"), (240, "36.61876"), (360, "36.7")))
    raw = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
           f'width="480pt" height="60pt" viewBox="0 0 480 60"><g>{images}</g></svg>').encode()
    root = ET.fromstring(postprocess(raw, name="f", title="t", description="d",
                                     load_icon=icons.load_icon))
    assert [use.get(XLINK_HREF) for use in root.iter(f"{SVG}use")] == [
        "#f.icon-1", "#f.icon-1", "#f.icon-1", "#f.icon-2"]
    assert [icon.x for icon in placed_icons(root)] == [0, 120, 240, 360]


def test_icon_places_are_written_without_graphviz_float_noise():
    mlflow = library_icon("mlops/mlflow.png")
    images = "".join(
        f'<image xlink:href="{mlflow}" width="100.8px" height="36.6px" '
        f'preserveAspectRatio="xMinYMin meet" x="{x}" y="{y}"/>'
        for x, y in (("-2.84217e-14", "-50"), ("120.5", "-0.000001"), ("240", "-1169.4")))
    raw = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
           f'width="480pt" height="60pt" viewBox="0 0 480 60"><g>{images}</g></svg>').encode()
    root = ET.fromstring(postprocess(raw, name="f", title="t", description="d",
                                     load_icon=icons.load_icon))
    assert [(use.get("x"), use.get("y")) for use in root.iter(f"{SVG}use")] == [
        ("0", "-50"), ("120.5", "0"), ("240", "-1169.4")]


def test_a_figure_without_icons_has_no_defs():
    root = ET.fromstring(render(graph("a -> b")))
    assert not list(root.iter(f"{SVG}defs")) and not list(root.iter(f"{SVG}use"))


def test_title_desc_and_role_are_set():
    root = ET.fromstring(render(graph("a"), title="Tëst <&>", description='Says "hi" & more'))
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title.text == "Tëst <&>" and desc.text == 'Says "hi" & more'
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"


def test_no_version_comment_and_ids_are_prefixed():
    raw = render(graph("a -> b"), name="flow")
    assert b"<!--" not in raw and b"Generated by" not in raw
    root = ET.fromstring(raw)
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert ids and all(i.startswith("flow.") for i in ids)


def test_size_is_tight_with_viewbox():
    root = ET.fromstring(render(graph("a", extra="graph [pad=0.1]")))
    width, height = float(root.get("width")), float(root.get("height"))
    _, _, vb_width, vb_height = map(float, root.get("viewBox").split())
    assert width == pytest.approx(vb_width * 4 / 3, abs=1)
    assert height == pytest.approx(vb_height * 4 / 3, abs=1)
    assert width < 200 and height < 100


@pytest.mark.parametrize("attribute", [
    'URL="javascript:alert(1)"',
    'href="https://example.com/x"',
    'URL="file:///etc/passwd"',
    'class="x" id="y" tooltip="t" target="_blank" URL="http://evil.example"',
])
def test_links_from_graph_attributes_are_removed(attribute):
    raw = render(graph(f"a [{attribute}]"))
    assert b"javascript" not in raw and b"evil" not in raw and b"passwd" not in raw
    assert b"example.com" not in raw
    root = ET.fromstring(raw)
    assert not list(root.iter(f"{SVG}a"))


@pytest.mark.parametrize("label", [
    "<script>alert(1)</script>",
    '<<table><tr><td href="javascript:alert(1)">x</td></tr></table>>',
    '" onload="alert(1)',
    "<foreignObject><div>x</div></foreignObject>",
])
def test_labels_cannot_smuggle_active_content(label):
    quoted = label if label.startswith("<<") else '"' + label.replace('"', '\\"') + '"'
    raw = render(graph(f"a [label={quoted}]"))
    root = ET.fromstring(raw)
    tags = {e.tag.split("}")[-1] for e in root.iter()}
    assert not tags & {"script", "foreignObject", "a", "iframe"}
    for element in root.iter():
        assert not any(k.lower().startswith("on") for k in element.attrib)
        for value in element.attrib.values():
            assert "javascript:" not in value


def test_an_image_url_never_reaches_the_svg():
    raw = render(graph('a [shape=none image="https://example.com/icon.png"]'))
    assert b"example.com" not in raw


def test_a_data_uri_image_in_graphviz_output_is_refused():
    raw = draw(graph("a")).replace(
        b"</svg>", b'<image xlink:href="data:text/html;base64,PHNjcmlwdD4=" width="1" height="1"/></svg>')
    with pytest.raises(FigureError, match="local icon file"):
        postprocess(raw, name="f", title="t", description="d", load_icon=icons.load_icon)


def test_an_icon_in_a_box_of_another_shape_is_placed_on_a_canvas_of_the_box_shape():
    import base64
    import hashlib
    import io

    from PIL import Image

    from course_assets.render.icons import Icon, fitted_icon

    out = io.BytesIO()
    Image.new("RGBA", (400, 100), (255, 0, 0, 255)).save(out, format="PNG")
    raw = out.getvalue()
    icon = Icon(hashlib.sha256(raw).hexdigest(),
                "data:image/png;base64," + base64.b64encode(raw).decode(), 400, 100)
    # A square box 100 px wide: the icon is 100x25 at the box's top, as xMidYMin meet says.
    placed = decode_png(fitted_icon(icon, 100, 100, "xMidYMin meet")).convert("RGBA")
    assert placed.size == (100, 100)
    assert placed.getpixel((50, 10))[3] == 255 and placed.getpixel((50, 60))[3] == 0
    # Shown at its own size or larger: embedded as it is, byte for byte.
    assert fitted_icon(icon, 800, 200, "xMinYMin meet") == icon.data_uri
    assert fitted_icon(icon, 100, 100, "xMidYMin meet") == fitted_icon(icon, 100, 100,
                                                                         "xMidYMin meet")
