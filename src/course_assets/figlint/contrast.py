"""Contrast of text, edges and icons against what lies behind them (WCAG 2.1 AA)."""

from __future__ import annotations

import base64
import functools
import io
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from course_assets.figlint.findings import Finding
from course_assets.figlint.geometry import Geometry, Node
from course_assets.figlint.placement import _lines, describe, owner_line

TEXT_CONTRAST = 4.5  # WCAG 2.1, 1.4.3: text
GRAPHICS_CONTRAST = 3.0  # WCAG 2.1, 1.4.11: graphical objects such as edges and arrowheads
# An icon pixel this close to the background (contrast ratio) is invisible on it...
ICON_PIXEL_CONTRAST = 1.5
# ...unless a contrasting pixel of the icon lies this close (a share of the icon's size) to
# outline it: a white rim around a coloured shape does not hide the shape.
ICON_OUTLINE_SHARE = 0.04
# An icon of which more than this share of the visible pixels vanishes is a finding.
ICON_LOST_SHARE = 0.12
# Icons are measured at most this many pixels wide and high.
ICON_SAMPLE = 128

RGB = tuple[float, float, float]
# Graphviz colours that paint nothing: what lies behind shows through.
CLEAR = frozenset({"transparent", "none", "invis"})
HSV = re.compile(r"([0-9]*\.?[0-9]+)[,\s]+([0-9]*\.?[0-9]+)[,\s]+([0-9]*\.?[0-9]+)")
# The page a figure is read on when its own background is transparent, in each theme.
READER_PAGE: dict[str, RGB] = {"light": (1.0, 1.0, 1.0),
                               "dark": (0x0D / 255, 0x11 / 255, 0x17 / 255)}

if TYPE_CHECKING:
    from PIL import Image


def parse_colour(value: str, behind: RGB = (1.0, 1.0, 1.0)) -> RGB:
    """Return a Graphviz colour as RGB in 0..1, blended over `behind` when translucent."""
    from PIL import ImageColor

    text = value.strip()
    if ":" in text:
        # A gradient ("white:orange", "red;0.3:blue"): its middle, where a centred label sits,
        # is the mean of its stops.
        colours = [part.split(";")[0] for part in text.split(":")]
        stops = [parse_colour(colour, behind) for colour in colours if colour.strip()]
        if stops:
            red, green, blue = (sum(channel) / len(stops) for channel in zip(*stops))
            return red, green, blue
    if text.lower() in CLEAR:
        return behind
    alpha = 1.0
    if text.startswith("#") and len(text) == 9:
        alpha = int(text[7:9], 16) / 255
        text = text[:7]
    hsv = HSV.fullmatch(text)
    try:
        if hsv:  # Graphviz's "H,S,V" or "H S V", each 0 to 1
            import colorsys

            h, s, v = (min(1.0, float(part)) for part in hsv.groups())
            rgb = tuple(round(c * 255) for c in colorsys.hsv_to_rgb(h, s, v))
        else:
            rgb = ImageColor.getrgb(text)
    except ValueError:
        rgb = (0, 0, 0)
    if len(rgb) == 4:
        alpha *= rgb[3] / 255
    own = (rgb[0] / 255, rgb[1] / 255, rgb[2] / 255)
    return (own[0] * alpha + behind[0] * (1 - alpha), own[1] * alpha + behind[1] * (1 - alpha),
            own[2] * alpha + behind[2] * (1 - alpha))


def is_clear(value: str) -> bool:
    """Say whether a Graphviz colour paints nothing (an element hidden on purpose)."""
    text = value.strip().lower()
    return text in CLEAR or (text.startswith("#") and len(text) == 9 and text[7:] == "00")


def luminance(colour: RGB) -> float:
    """Return WCAG's relative luminance of an sRGB colour."""
    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ratio(first: RGB, second: RGB) -> float:
    """Return the WCAG contrast ratio of two colours, from 1 to 21."""
    a, b = sorted((luminance(first), luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def contrast_findings(geometry: Geometry, theme: str) -> list[Finding]:
    """Return every text, edge and icon of the figure that its background swallows."""
    page = parse_colour(geometry.background, READER_PAGE.get(theme, READER_PAGE["light"]))
    return [*_texts(geometry, page, theme), *_edges(geometry, page, theme),
            *_icons(geometry, page, theme)]


def _behind(geometry: Geometry, point: tuple[float, float], page: RGB,
            node: Node | None = None) -> RGB:
    if node is not None and node.fill and node.box.contains(point):
        return parse_colour(node.fill, page)
    return parse_colour(geometry.background_at(point), page)


def _texts(geometry: Geometry, page: RGB, theme: str) -> Iterator[Finding]:
    for text in geometry.texts:
        if is_clear(text.colour):
            continue  # not there to be read
        node = geometry.node(text.key) if text.owner == "node" else None
        behind = _behind(geometry, text.box.centre, page, node)
        measured = ratio(parse_colour(text.colour, behind), behind)
        if measured < TEXT_CONTRAST:
            yield Finding("text-contrast",
                          f"{describe(geometry, text)} has contrast {measured:.1f}:1 against "
                          f"its background (at least {TEXT_CONTRAST}:1)",
                          _lines(owner_line(geometry, text)), theme)


def _edges(geometry: Geometry, page: RGB, theme: str) -> Iterator[Finding]:
    from course_assets.figlint.placement import _edge_name

    for edge in geometry.edges:
        points = list(edge.path) + [p for head in edge.arrowheads for p in head]
        if not points or is_clear(edge.colour):
            continue  # nothing drawn, or drawn to hold the layout only
        worst = min(ratio(parse_colour(edge.colour, behind), behind)
                    for behind in {_behind(geometry, p, page) for p in points})
        if worst < GRAPHICS_CONTRAST:
            yield Finding("edge-contrast",
                          f"{_edge_name(geometry, edge)} has contrast {worst:.1f}:1 against "
                          f"its background (at least {GRAPHICS_CONTRAST}:1)",
                          _lines(edge.line), theme)


def _icons(geometry: Geometry, page: RGB, theme: str) -> Iterator[Finding]:
    cache: dict[tuple[str, RGB], float] = {}
    for node in geometry.nodes:
        if node.icon is None or not node.icon_uri:
            continue
        behind = _behind(geometry, node.icon.centre, page)
        key = (node.icon_uri, behind)
        if key not in cache:
            cache[key] = lost_share(node.icon_uri, behind)
        if cache[key] > ICON_LOST_SHARE:
            yield Finding("icon-contrast",
                          f'{cache[key]:.0%} of the icon of "{node.label}" vanishes into its '
                          "background: give it a contrasting background (or another icon)",
                          _lines(node.line), theme)


@functools.lru_cache(maxsize=256)
def lost_share(data_uri: str, behind: RGB) -> float:
    """Return the share of an icon's visible pixels that its background swallows."""
    from PIL import Image, ImageChops, ImageFilter

    raw = base64.b64decode(data_uri.split(",", 1)[1])
    with Image.open(io.BytesIO(raw)) as source:
        icon = source.convert("RGBA")
    # About the pixels it is shown at: finer detail than that cannot save it either.
    icon.thumbnail((ICON_SAMPLE, ICON_SAMPLE), Image.Resampling.BOX)
    background = tuple(round(c * 255) for c in behind)
    flat = Image.new("RGBA", icon.size, (*background, 255))
    flat.alpha_composite(icon)
    lum = _luminance_image(flat.convert("RGB"))
    back = luminance(behind)
    # Pixels whose contrast with the background is below the threshold, in luminance terms.
    low_hi = (back + 0.05) * ICON_PIXEL_CONTRAST - 0.05
    low_lo = (back + 0.05) / ICON_PIXEL_CONTRAST - 0.05
    low = lum.point(lambda v: 255 if low_lo * 255 <= v <= low_hi * 255 else 0)
    opaque = icon.getchannel("A").point(lambda a: 255 if a >= 128 else 0)
    contrasting = ImageChops.multiply(ImageChops.invert(low), opaque)
    radius = max(1, round(max(icon.size) * ICON_OUTLINE_SHARE))
    outlined = contrasting
    for _ in range(radius):  # one 3x3 pass per pixel of reach: far cheaper than one wide pass
        outlined = outlined.filter(ImageFilter.MaxFilter(3))
    lost = ImageChops.multiply(ImageChops.multiply(low, opaque), ImageChops.invert(outlined))
    visible = opaque.histogram()[255]
    return lost.histogram()[255] / visible if visible else 0.0


def _luminance_image(image: Image.Image) -> Image.Image:
    lut = [round(255 * (v / 255 / 12.92 if v / 255 <= 0.04045
                        else ((v / 255 + 0.055) / 1.055) ** 2.4)) for v in range(256)]
    linear = image.point(lut * 3)
    return linear.convert("L", matrix=(0.2126, 0.7152, 0.0722, 0))
