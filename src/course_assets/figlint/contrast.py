"""Contrast of text, edges and icons against what lies behind them (WCAG 2.1 AA)."""

from __future__ import annotations

import base64
import bisect
import functools
import io
import itertools
import operator
import re
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

from course_assets.figlint.findings import Finding
from course_assets.figlint.geometry import CLEAR, Geometry, Node, is_clear
from course_assets.figlint.placement import _lines, describe, owner_line

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

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
Colour8 = tuple[int, int, int]  # an sRGB colour in 8-bit channels
HSV = re.compile(r"([0-9]*\.?[0-9]+)[,\s]+([0-9]*\.?[0-9]+)[,\s]+([0-9]*\.?[0-9]+)")
# The page a figure is read on when its own background is transparent, in each theme.
READER_PAGE: dict[str, RGB] = {"light": (1.0, 1.0, 1.0),
                               "dark": (0x0D / 255, 0x11 / 255, 0x17 / 255)}


# A figure names a few colours, and the lint asks of each again for every point it reads.
@functools.lru_cache(maxsize=4096)
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
    return _lost_share(data_uri, behind, _LUMINANCE_SCALE)


def _lost_share(data_uri: str, behind: RGB, scale: int) -> float:
    """Return lost_share, numbering colours by luminance at `scale` (see _numbered)."""
    from PIL import Image

    raw = base64.b64decode(data_uri.split(",", 1)[1])
    with Image.open(io.BytesIO(raw)) as source:
        icon = source.convert("RGBA")
    # About the pixels it is shown at: finer detail than that cannot save it either.
    icon.thumbnail((ICON_SAMPLE, ICON_SAMPLE), Image.Resampling.BOX)
    flat = Image.new("RGBA", icon.size, (*(round(c * 255) for c in behind), 255))
    flat.alpha_composite(icon)
    shown = icon.getchannel("A").point(lambda alpha: 255 if alpha >= 128 else 0)
    visible = shown.histogram()[255]
    reach = max(1, round(max(icon.size) * ICON_EDGE_REACH))
    # The shown pixels in their colours, the others transparent black. One column more, not
    # shown, ends each row in the bytes of every mask below, so that a run of set pixels never
    # wraps onto the next row.
    shown_pixels = Image.new("RGBA", (icon.width + 1, icon.height), 0)
    shown_pixels.paste(flat, mask=shown)
    width, height = shown_pixels.size
    # An icon is a flat illustration: some hundred colours, anti-aliasing included, among
    # thousands of pixels. So each colour is judged once, in Python, and Pillow's operations on
    # whole images carry the verdicts to the pixels. (getcolors, allowed as many colours as
    # there are pixels, never returns None.)
    colours = cast(list[tuple[int, tuple[int, int, int, int]]],
                   shown_pixels.getcolors(width * height))
    lum = {(red, green, blue): 0.2126 * _LINEAR[red] + 0.7152 * _LINEAR[green]
           + 0.0722 * _LINEAR[blue]
           for _, (red, green, blue, alpha) in colours if alpha}
    order = sorted(lum, key=lum.__getitem__)  # the shown colours, darkest first
    values = [lum[colour] for colour in order]
    first, end = _vanishing_band(values, luminance(behind))
    if first == end:
        return 0.0  # none of the visible pixels is lost

    numbered, numbers = _numbered(shown_pixels, order, values, scale)
    luminance_at = dict(zip(numbers, values))
    lowest, highest = numbers[first], numbers[end - 1]  # the band that vanishes
    low = _image_math(lambda names: names["convert"](
        (names["number"] >= lowest) & (names["number"] <= highest), "L"), number=numbered)
    # Whether a rim pixel meets a colour with 3:1 against it within the reach needs only the
    # darkest and the brightest strong pixel (shown, not vanishing) there, as the ratio grows
    # with the difference in luminance on either side: window maxima of the strong pixels'
    # numbers, counted up from the darkest and down from the brightest, give both.
    top = numbers[-1] + 1
    from_darkest = _image_math(
        lambda names: names["number"] * ((names["number"] < lowest) | (names["number"] > highest)),
        number=numbered)
    from_brightest = _image_math(lambda names: (top - names["number"]) % top,
                                 number=from_darkest)
    # Both side by side, `reach` apart, take their window maxima in one pass: no window
    # reaches across the gap of zeros between them.
    both = Image.new("I", (2 * width + reach, height))
    both.paste(from_darkest, (0, 0))
    both.paste(from_brightest, (width + reach, 0))
    maxima = _window_max(both, reach)
    brightest = memoryview(maxima.crop((0, 0, width, height)).tobytes()).cast("i")
    darkest = memoryview(
        maxima.crop((width + reach, 0, 2 * width + reach, height)).tobytes()).cast("i")
    number_at = memoryview(numbered.tobytes()).cast("i")

    def edged(index: int) -> bool:
        own = luminance_at[number_at[index]]
        return (brightest[index] > 0
                and _ratio(own, luminance_at[brightest[index]]) >= GRAPHICS_CONTRAST
                or darkest[index] > 0
                and _ratio(own, luminance_at[top - darkest[index]]) >= GRAPHICS_CONTRAST)

    rim = _rim(low)
    lost = 0
    for part in _parts(low.tobytes(), width):
        rim_size = sum(rim.count(1, start, end) for start, end in part)
        part_rim = (match.start() for start, end in part
                    for match in _SET_PIXEL.finditer(rim, start, end))
        if not _edged_enough(part_rim, rim_size, edged):
            lost += sum(end - start for start, end in part)
    return lost / visible if visible else 0.0


def _vanishing_band(values: list[float], back: float) -> tuple[int, int]:
    """Return where, in luminances sorted up, those below 1.5:1 against `back` start and end."""
    def vanishes(value: float) -> bool:
        return _ratio(value, back) < ICON_PIXEL_CONTRAST

    # The ratio grows as a luminance moves away from the background's, on either side: the
    # values that vanish are one run, found by halving instead of testing each.
    middle = bisect.bisect_left(values, back)
    first = bisect.bisect_left(values, True, hi=middle, key=vanishes)
    end = bisect.bisect_left(values, True, lo=middle, key=lambda value: not vanishes(value))
    return first, end


def _numbered(shown_pixels: PILImage, order: list[Colour8], values: list[float],
              scale: int) -> tuple[PILImage, list[int]]:
    """Return a number per pixel that rises with its luminance (0: not shown), and per colour.

    `order` holds the shown colours by luminance, `values` their luminances. Pillow adds up
    each pixel's luminance as an integer: the three channels' shares of it times `scale`,
    looked up per channel. Those integers keep the order of the exact luminances unless two of
    the icon's colours are within about 3/scale of each other, so the order is checked; where
    it fails (about one icon and background in 2,500), each pixel looks up its colour's rank
    in Python instead, about a millisecond more.
    """
    from PIL import Image

    red, green, blue = _luminance_shares(scale)
    numbers = [red[r] + green[g] + blue[b] + 1 for r, g, b in order]
    if all(map(operator.lt, numbers, numbers[1:])):
        *channels, shown = shown_pixels.split()
        # A pixel not shown is transparent black: a share of 0 in each channel, and no 1 added.
        shares = [band.point(share, "I") for band, share in zip(channels, (red, green, blue))]
        numbered = _image_math(
            lambda names: names["red"] + names["green"] + names["blue"] + names["shown"],
            red=shares[0], green=shares[1], blue=shares[2],
            shown=shown.point([0] + [1] * 255, "I"))
        return numbered, numbers
    # Equal luminances share the rank of the first of them.
    numbers = [bisect.bisect_left(values, value) + 1 for value in values]
    # A pixel's colour and alpha packed in one integer, as the image's bytes hold them.
    by_pixel = {int.from_bytes(bytes((*colour, 255)), sys.byteorder): number
                for colour, number in zip(order, numbers)}
    by_pixel[0] = 0  # not shown: transparent black
    numbered = Image.new("I", shown_pixels.size)
    numbered.putdata(list(map(by_pixel.__getitem__,
                              memoryview(shown_pixels.tobytes()).cast("I"))))
    return numbered, numbers


# Pillow's luminances are integers below 2**31: each of the three shares below 2**30.
_LUMINANCE_SCALE = 2**30


@functools.lru_cache(maxsize=4)
def _luminance_shares(scale: int) -> tuple[list[int], list[int], list[int]]:
    """Return each channel's 8-bit values' shares of WCAG's relative luminance, times `scale`."""
    red, green, blue = ([round(weight * linear * scale) for linear in _LINEAR]
                        for weight in (0.2126, 0.7152, 0.0722))
    return red, green, blue


# sRGB's 8-bit values made linear, for WCAG's relative luminance.
_LINEAR = [v / 255 / 12.92 if v / 255 <= 0.04045 else ((v / 255 + 0.055) / 1.055) ** 2.4
           for v in range(256)]
# A set pixel, and a run of them, in a mask of one byte per pixel.
_SET_PIXEL = re.compile(rb"[^\x00]")
_SET_RUN = re.compile(rb"[^\x00]+")


def _ratio(first: float, second: float) -> float:
    return (max(first, second) + 0.05) / (min(first, second) + 0.05)


def _edged_enough(rim: Iterator[int], rim_size: int, edged: Callable[[int], bool]) -> bool:
    """Say whether at least ICON_EDGED_SHARE of a part's `rim_size` rim pixels are edged."""
    if not rim_size:
        return False  # no rim, no share
    # The fewest edged pixels that make the share, found with the same division that states
    # it. Testing stops as soon as the verdict is known: when that many are found, or when
    # too few pixels are left to find them.
    needed = next(count for count in range(rim_size + 1)
                  if count / rim_size >= ICON_EDGED_SHARE)
    found, untested = 0, rim_size
    for index in rim:
        if found >= needed or found + untested < needed:
            break
        found += edged(index)
        untested -= 1
    return found >= needed


def _image_math(formula: Callable[[dict[str, Any]], Any], **images: PILImage) -> PILImage:
    """Return the image Pillow's ImageMath computes by `formula` from the named images."""
    from PIL import ImageMath

    result: PILImage = ImageMath.lambda_eval(formula, **images)
    return result


def _rim(mask: PILImage) -> bytes:
    """Return, a byte per pixel, which set pixels have a 4-neighbour unset or off the image."""
    from PIL import ImageChops

    width, height = mask.size
    inside = mask
    for step_x, step_y in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        # Cropped past its edge the mask reads 0 there: the image's edge is a rim too.
        inside = ImageChops.darker(
            inside, mask.crop((step_x, step_y, width + step_x, height + step_y)))
    return ImageChops.subtract(mask, inside).tobytes()


def _window_max(image: PILImage, reach: int) -> PILImage:
    """Return each pixel's largest value within `reach` pixels across and down, on the image."""
    width, height = image.size
    span = 2 * reach + 1
    # Widened by `reach` on each side with 0, which no number beats, then narrowed back by
    # taking maxima of copies shifted against each other, doubling the span covered each step.
    grid = image.crop((-reach, -reach, width + reach, height + reach))
    for across in (True, False):
        covered = 1
        while covered < span:
            step = min(covered, span - covered)
            right, bottom = grid.size
            if across:
                near, far = (grid.crop((0, 0, right - step, bottom)),
                             grid.crop((step, 0, right, bottom)))
            else:
                near, far = (grid.crop((0, 0, right, bottom - step)),
                             grid.crop((0, step, right, bottom)))
            grid = _image_math(lambda names: names["max"](names["near"], names["far"]),
                               near=near, far=far)
            covered += step
    return grid


def _parts(mask: bytes, width: int) -> Iterator[list[tuple[int, int]]]:
    """Yield each connected area (4-neighbours) of the pixels set in `mask`, as runs in rows.

    `mask` holds rows of `width` bytes, each ending in a 0. A run is the (start, end) indices of
    set pixels side by side in one row; runs in adjacent rows that share a column belong
    together. Joining runs, not pixels, takes a few hundred steps where a flood fill takes one
    per pixel.
    """
    runs: list[tuple[int, int]] = []
    joined: list[int] = []  # per run, a run of the same part (itself: the part's representative)

    def representative(run: int) -> int:
        while joined[run] != run:
            joined[run] = joined[joined[run]]
            run = joined[run]
        return run

    row = -1
    above: list[tuple[int, int, int]] = []  # the runs of the row above, moved down a row
    here: list[tuple[int, int, int]] = []
    upper = 0
    for match in _SET_RUN.finditer(mask):
        start, end = match.span()
        if start // width != row:
            above = here if start // width == row + 1 else []
            here, row, upper = [], start // width, 0
        run = len(runs)
        runs.append((start, end))
        joined.append(run)
        here.append((start + width, end + width, run))
        # The runs above are in column order: those ending before this run starts cannot meet
        # it or the runs after it; the next ones meet it until one starts past its end.
        while upper < len(above) and above[upper][1] <= start:
            upper += 1
        for _, _, other in itertools.takewhile(lambda span: span[0] < end, above[upper:]):
            joined[representative(run)] = representative(other)
    parts: dict[int, list[tuple[int, int]]] = {}
    for run, span in enumerate(runs):
        parts.setdefault(representative(run), []).append(span)
    yield from parts.values()
