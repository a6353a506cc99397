"""Read built SVG files the way the tests check them: by parsing the XML."""

from __future__ import annotations

import base64
import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
NAMESPACES = ("http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink")


def parse(path: Path) -> ET.Element:
    return ET.fromstring(path.read_bytes())


def references(root: ET.Element) -> list[str]:
    """Return every href and url(...) value in the document."""
    found = []
    for element in root.iter():
        for name, value in element.attrib.items():
            if name in (XLINK_HREF, "href") or "url(" in value:
                found.append(value)
    return found


def data_uris(root: ET.Element) -> list[str]:
    return [r for r in references(root) if r.startswith("data:")]


def decode_png(uri: str) -> Image.Image:
    assert uri.startswith("data:image/png;base64,"), uri[:40]
    image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1], validate=True)))
    image.load()
    return image


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def assert_self_contained(path: Path) -> None:
    """Assert the figure loads nothing from outside itself and embeds only PNG icons."""
    raw = path.read_bytes()
    root = ET.fromstring(raw)
    for reference in references(root):
        assert reference.startswith(("#", "data:image/png;base64,")), f"{path.name}: {reference[:80]}"
    for uri in set(data_uris(root)):
        decode_png(uri)
    text = raw.decode("utf-8")
    for namespace in NAMESPACES:
        text = text.replace(namespace, "")
    assert "http://" not in text and "https://" not in text, path.name
    assert "site-packages" not in text and "/tmp/" not in text, path.name


@dataclass(frozen=True)
class PlacedIcon:
    """An icon where the figure draws it, in the SVG's user units, with its data URI."""

    x: float
    y: float
    width: float
    height: float
    uri: str


def placed_icons(root: ET.Element) -> list[PlacedIcon]:
    """Return every drawn icon in document order: a <use> resolved to its <image>, or an <image>."""
    defined = {id(e) for defs in root.iter(f"{SVG}defs") for e in defs.iter(f"{SVG}image")}
    named = {e.get("id"): e for e in root.iter(f"{SVG}image") if e.get("id")}
    placed = []
    for element in root.iter():
        if element.tag == f"{SVG}image" and id(element) not in defined:
            image, dx, dy = element, 0.0, 0.0
        elif element.tag == f"{SVG}use":
            target = element.get(XLINK_HREF, "")
            assert target[1:] in named, f"<use> names no <image>: {target[:40]}"
            assert not {"width", "height"} & set(element.attrib), "a <use> that scales"
            image = named[target[1:]]
            dx, dy = float(element.get("x", "0")), float(element.get("y", "0"))
        else:
            continue
        placed.append(PlacedIcon(dx + float(image.get("x", "0")), dy + float(image.get("y", "0")),
                                 float(image.get("width")), float(image.get("height")),
                                 image.get(XLINK_HREF, "")))
    return placed
