"""Turn Graphviz's SVG into a self-contained, accessible, reproducible and safe figure."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from course_assets.errors import FigureError
from course_assets.render.icons import ICON_RESOLUTION, Icon, fitted_icon

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XLINK_HREF = f"{{{XLINK_NS}}}href"
HREF_ATTRS = (XLINK_HREF, "href")
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)

# What Graphviz emits, plus what we add; anything else (script, foreignObject, animate, iframe,
# style sheets...) is dropped.
ALLOWED_TAGS = frozenset(
    f"{{{SVG_NS}}}{tag}" for tag in (
        "svg", "g", "title", "desc", "defs", "symbol", "use", "path", "polygon", "polyline",
        "ellipse", "circle", "rect", "line", "text", "tspan", "linearGradient",
        "radialGradient", "stop",
    )
)
GRAPHVIZ_LINK = f"{{{SVG_NS}}}a"
GRAPHVIZ_IMAGE = f"{{{SVG_NS}}}image"
DEFS = f"{{{SVG_NS}}}defs"
USE = f"{{{SVG_NS}}}use"
TITLE = f"{{{SVG_NS}}}title"
LOCAL_URL = re.compile(r"url\(#([A-Za-z0-9_.:-]+)\)")
TRANSFORM = re.compile(r"(\s*(matrix|translate|scale|rotate|skewX|skewY)\([-0-9.eE,\s]*\)\s*)+")
PT_TO_PX = 4 / 3
# Icons whose boxes differ by less (in points, a seventy-fifth of a pixel) are one size: Graphviz
# sizes the same icon in the same node shape a rounding error apart from node to node.
SAME_SIZE = 0.01
# Properties Graphviz puts in `style` (gradient stops) or may, with the values each may take.
COLOUR = re.compile(r"#[0-9A-Fa-f]{3,8}|[A-Za-z]{1,30}")
NUMBER = re.compile(r"([0-9]{1,6}(\.[0-9]{0,6})?|\.[0-9]{1,6})%?")
PRESENTATION = {
    "stop-color": COLOUR, "stop-opacity": NUMBER, "fill": COLOUR, "fill-opacity": NUMBER,
    "stroke": COLOUR, "stroke-opacity": NUMBER, "stroke-width": NUMBER, "opacity": NUMBER,
}

IconLoader = Callable[[Path], Icon]


def element_id(name: str, theme: str = "") -> str:
    """Return the id prefix of figure `name` in `theme` ("" for the light one).

    Every id of every figure is unique across a course, so any SVGs can share a page: a
    figure name never holds a '.', so the part before the first '.' names the figure (a
    name that starts with a digit gets a '_', which no figure name starts with); then the
    theme, then what the id is (`title`, `desc`, `icon-N`, or `g.` and Graphviz's own id).
    """
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "-", name)
    base = cleaned if cleaned[:1].isalpha() else f"_{cleaned}"
    return f"{base}.{theme}." if theme else f"{base}."


def postprocess(svg: bytes, *, name: str, title: str, description: str,
                load_icon: IconLoader, theme: str = "") -> bytes:
    """Return Graphviz's `svg` embedded, labelled, tightened and made safe."""
    try:
        root = ET.fromstring(svg)
    except ET.ParseError as exc:
        raise FigureError(f"Graphviz produced SVG that is not valid XML: {exc}") from None
    prefix = element_id(name, theme)
    _size_in_pixels(root)
    _remove_internal_titles(root)
    _unlink(root)
    _embed_icons(root, load_icon)
    _prefix_ids(root, prefix)
    _share_icons(root, prefix)
    sanitize(root)
    _label(root, prefix, title, description)
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def _size_in_pixels(root: ET.Element) -> None:
    # Graphviz writes points; pixels with the same viewBox scale the same and suit <img>.
    for attribute in ("width", "height"):
        value = root.get(attribute, "")
        match = re.fullmatch(r"([0-9.]+)(pt|px)?", value)
        if match:
            number = float(match.group(1)) * (PT_TO_PX if match.group(2) == "pt" else 1)
            root.set(attribute, f"{round(number)}")


def _remove_internal_titles(root: ET.Element) -> None:
    # Graphviz titles every node, edge and cluster with its internal id, shown as tooltips.
    for parent in root.iter():
        for child in list(parent):
            if child.tag == TITLE and parent is not root:
                parent.remove(child)


def _unlink(root: ET.Element) -> None:
    # Node URL/href attributes become <a> links; a figure in slides and <img> links nowhere.
    for element in root.iter(GRAPHVIZ_LINK):
        element.tag = f"{{{SVG_NS}}}g"
        for attribute in list(element.attrib):
            del element.attrib[attribute]


def _embed_icons(root: ET.Element, load_icon: IconLoader) -> None:
    # Each <image> gets its own data URI here; _share_icons then keeps one copy of each.
    for element in root.iter(GRAPHVIZ_IMAGE):
        href = next((element.get(a) or "" for a in HREF_ATTRS if element.get(a)), "")
        if not href or href.startswith(("data:", "http:", "https:", "#")):
            raise FigureError(f"figure image must be a local icon file, not {href[:60]!r}")
        width = _user_units(element.get("width", "0"))
        height = _user_units(element.get("height", "0"))
        aspect = element.get("preserveAspectRatio", "xMidYMid meet")
        icon = load_icon(Path(href))
        shown = fitted_icon(icon, width * ICON_RESOLUTION, height * ICON_RESOLUTION, aspect)
        for attribute in HREF_ATTRS:
            element.attrib.pop(attribute, None)
        element.set(XLINK_HREF, shown)
        element.set("width", _number(width))
        element.set("height", _number(height))
        element.set("preserveAspectRatio", aspect)


def _share_icons(root: ET.Element, prefix: str) -> None:
    # Each distinct icon (data, size, alignment) is one <image> in <defs>, and every place it is
    # shown a <use> that only moves it: a figure showing an icon ten times carries it once.
    # The size stays on the <image>, not on the <use> nor on a <symbol viewBox>, whose scaling
    # LibreOffice's importer ignores (it drew such icons at their full source size).
    parents = {child: parent for parent in root.iter() for child in parent}
    taken = {value for element in root.iter() if (value := element.get("id"))}
    sizes: dict[tuple[str, str], list[tuple[float, float, str]]] = {}
    defs = ET.Element(DEFS)
    for image in list(root.iter(GRAPHVIZ_IMAGE)):
        data = image.get(XLINK_HREF, "")
        aspect = image.get("preserveAspectRatio", "xMidYMid meet")
        width = _user_units(image.get("width", "0"))
        height = _user_units(image.get("height", "0"))
        known = sizes.setdefault((data, aspect), [])
        icon_id = next((name for w, h, name in known
                        if abs(w - width) <= SAME_SIZE and abs(h - height) <= SAME_SIZE), None)
        if icon_id is None:
            number = len(defs) + 1
            while f"{prefix}icon-{number}" in taken:
                number += 1
            icon_id = f"{prefix}icon-{number}"
            taken.add(icon_id)
            known.append((width, height, icon_id))
            ET.SubElement(defs, GRAPHVIZ_IMAGE, {
                "id": icon_id, "width": _number(width), "height": _number(height),
                "preserveAspectRatio": aspect, XLINK_HREF: data,
            }).tail = "\n"
        use = ET.Element(USE, {XLINK_HREF: f"#{icon_id}"})
        for attribute in ("x", "y"):
            use.set(attribute, _coordinate(image.get(attribute, "0")))
        use.tail = image.tail
        parent = parents[image]
        parent[list(parent).index(image)] = use
    if len(defs):
        defs.text = defs.tail = "\n"
        root.insert(0, defs)


def _user_units(value: str) -> float:
    match = re.fullmatch(r"\s*([0-9.]+)(px|pt)?\s*", value)
    return float(match.group(1)) if match else 0.0


def _number(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") or "0"


def _coordinate(value: str) -> str:
    """Return a coordinate as Graphviz wrote it, less its float noise (-2.84217e-14 is 0)."""
    try:
        number = round(float(value), 4) + 0.0  # + 0.0 turns -0.0 into 0.0
    except ValueError:
        return value
    return _number(number)


def _prefix_ids(root: ET.Element, prefix: str) -> None:
    renamed = {}
    for element in root.iter():
        value = element.get("id")
        if value:
            renamed[value] = f"{prefix}g.{value}"  # never one of ours: those have no "g."
            element.set("id", renamed[value])
    # Gradients are referenced as url(#id) from fill and stroke; those follow the new ids.
    for element in root.iter():
        for attribute, value in element.attrib.items():
            match = LOCAL_URL.fullmatch(value)
            if match and match.group(1) in renamed:
                element.set(attribute, f"url(#{renamed[match.group(1)]})")


def sanitize(root: ET.Element) -> None:
    """Drop every element, attribute and reference that could run code or load anything."""
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag not in ALLOWED_TAGS and not _is_embedded_image(child):
                parent.remove(child)
    for element in root.iter():
        for attribute, value in list(element.attrib.items()):
            local = attribute.rsplit("}", 1)[-1].lower()
            if local.startswith("on"):
                del element.attrib[attribute]
            elif attribute in HREF_ATTRS:
                if not _is_local_reference(element, value):
                    del element.attrib[attribute]
            elif local == "style":
                # CSS could load anything: only plain colours and numbers Graphviz writes (a
                # gradient's stop-color) stay, as presentation attributes.
                del element.attrib[attribute]
                element.attrib.update(presentation_attributes(value))
            # Only transforms and url(#fragment) may hold a call or an escape; anything else
            # that does (url(http:...), image-set(...), CSS escapes) is dropped.
            elif ("(" in value or "\\" in value) and not (
                local == "transform" and TRANSFORM.fullmatch(value) or LOCAL_URL.fullmatch(value)
            ):
                del element.attrib[attribute]


def presentation_attributes(style: str) -> dict[str, str]:
    """Return the properties of a `style` attribute that are on the allow-list, with safe values."""
    kept = {}
    for declaration in style.split(";"):
        name, _, value = declaration.partition(":")
        name, value = name.strip().lower(), value.strip()
        check = PRESENTATION.get(name)
        if check is not None and check.fullmatch(value):
            kept[name] = value
    return kept


def _is_embedded_image(element: ET.Element) -> bool:
    return element.tag == GRAPHVIZ_IMAGE and all(
        _is_local_reference(element, element.get(a) or "") for a in HREF_ATTRS if element.get(a)
    )


def _is_local_reference(element: ET.Element, value: str) -> bool:
    if element.tag == GRAPHVIZ_IMAGE:
        return value.startswith("data:image/png;base64,")
    return element.tag == f"{{{SVG_NS}}}use" and value.startswith("#")


def _label(root: ET.Element, prefix: str, title: str, description: str) -> None:
    title_id, desc_id = f"{prefix}title", f"{prefix}desc"
    title_element = ET.Element(TITLE, {"id": title_id})
    title_element.text = title
    title_element.tail = "\n"
    desc_element = ET.Element(f"{{{SVG_NS}}}desc", {"id": desc_id})
    desc_element.text = description
    desc_element.tail = "\n"
    root.insert(0, desc_element)
    root.insert(0, title_element)
    root.text = "\n"
    root.set("role", "img")
    root.set("aria-labelledby", f"{title_id} {desc_id}")
