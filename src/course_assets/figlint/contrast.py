"""Contrast of text, edges and icons against what lies behind them (WCAG 2.1 AA)."""

from __future__ import annotations

import base64
import functools
import io
import re
from collections.abc import Iterator

from course_assets.figlint.findings import Finding
from course_assets.figlint.geometry import Geometry, Node
from course_assets.figlint.placement import _lines, describe, owner_line

TEXT_CONTRAST = 4.5  # WCAG 2.1, 1.4.3: text
GRAPHICS_CONTRAST = 3.0  # WCAG 2.1, 1.4.11: graphical objects such as edges and arrowheads
# An icon pixel this close to the background (contrast ratio of their relative luminances)
# vanishes into it. Lower than WCAG's 3:1 for graphics ("sufficient"): the rule finds icons a
# reader cannot see, and at 3:1 the light petals of Airflow's pinwheel on white would count.
ICON_PIXEL_CONTRAST = 1.5
# A part of an icon that vanishes so is still seen where its rim meets a colour of the icon
# with 3:1 against it (WCAG 1.4.11: "against adjacent colours"), as near as this share of the
# icon's size (past anti-aliasing and a hairline gap, as between the Python logo's halves)...
ICON_EDGE_REACH = 0.04
# ...on at least this share of its rim: a white rim around a coloured shape, or one colour of
# a logo beside another, does not hide the shape; a dot of colour inside a pale blob does.
ICON_EDGED_SHARE = 0.1
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
    """Return the share of an icon's visible pixels that its background swallows.

    Judged in colour, as WCAG 2.x judges graphics: by the relative luminance of each pixel's
    own sRGB colour against the background's. A part of the icon (a connected area of pixels
    that vanish) is still seen where it meets a colour of the icon that contrasts 3:1 with it,
    so the yellow half of the Python logo stands out against its blue half; a part that meets
    (almost) nothing but the background is lost.
    """
    from PIL import Image

    raw = base64.b64decode(data_uri.split(",", 1)[1])
    with Image.open(io.BytesIO(raw)) as source:
        icon = source.convert("RGBA")
    # About the pixels it is shown at: finer detail than that cannot save it either.
    icon.thumbnail((ICON_SAMPLE, ICON_SAMPLE), Image.Resampling.BOX)
    width, height = icon.size
    flat = Image.new("RGBA", icon.size, (*(round(c * 255) for c in behind), 255))
    flat.alpha_composite(icon)
    colours = flat.convert("RGB").tobytes()
    linear = _LINEAR
    lum = [0.2126 * linear[colours[i]] + 0.7152 * linear[colours[i + 1]]
           + 0.0722 * linear[colours[i + 2]] for i in range(0, len(colours), 3)]
    opaque = [a >= 128 for a in icon.getchannel("A").tobytes()]
    back = luminance(behind)
    low = [shown and _ratio(value, back) < ICON_PIXEL_CONTRAST
           for shown, value in zip(opaque, lum)]
    visible = sum(opaque)
    reach = max(1, round(max(width, height) * ICON_EDGE_REACH))
    lost = sum(len(part) for part in _parts(low, width, height)
               if _edged_share(part, low, opaque, lum, (width, height), reach)
               < ICON_EDGED_SHARE)
    return lost / visible if visible else 0.0


# sRGB's 8-bit values made linear, for WCAG's relative luminance.
_LINEAR = [v / 255 / 12.92 if v / 255 <= 0.04045 else ((v / 255 + 0.055) / 1.055) ** 2.4
           for v in range(256)]


def _ratio(first: float, second: float) -> float:
    return (max(first, second) + 0.05) / (min(first, second) + 0.05)


def _parts(mask: list[bool], width: int, height: int) -> Iterator[list[int]]:
    """Yield each connected area (4-neighbours) of the pixels set in `mask`."""
    seen = [False] * len(mask)
    for start, wanted in enumerate(mask):
        if not wanted or seen[start]:
            continue
        seen[start] = True
        part, queue = [], [start]
        while queue:
            index = queue.pop()
            part.append(index)
            x, y = index % width, index // width
            for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                other = ny * width + nx
                if 0 <= nx < width and 0 <= ny < height and mask[other] and not seen[other]:
                    seen[other] = True
                    queue.append(other)
        yield part


def _edged_share(part: list[int], low: list[bool], opaque: list[bool], lum: list[float],
                 size: tuple[int, int], distance: int) -> float:
    """Return the share of a part's rim that meets an icon colour contrasting 3:1 with it."""
    width, height = size
    members = set(part)
    rim = edged = 0
    reach = range(-distance, distance + 1)
    for index in part:
        x, y = index % width, index // width
        if all(0 <= nx < width and 0 <= ny < height and ny * width + nx in members
               for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1))):
            continue  # inside the part, not on its rim
        rim += 1
        edged += any(
            0 <= x + dx < width and 0 <= y + dy < height
            and opaque[other] and not low[other]
            and _ratio(lum[index], lum[other]) >= GRAPHICS_CONTRAST
            for dy in reach for dx in reach
            for other in ((y + dy) * width + x + dx,)
        )
    return edged / rim if rim else 0.0
