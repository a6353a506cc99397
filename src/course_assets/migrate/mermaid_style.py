"""Mermaid's look as Graphviz attributes: node shapes, CSS from classDef/style/linkStyle, colours.

One table says where each CSS property goes on a node, a cluster and an edge; anything with no
faithful Graphviz equal raises `Unsupported` or becomes a note.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace

from course_assets.migrate.model import Attrs, Unsupported

# What the generated Diagram sets for every node and edge, so Mermaid's compact boxes come back
# instead of the library's fixed 1.4-inch icon cells with labels at the bottom.
NODE_DEFAULTS = (
    ("shape", "box"), ("style", "solid"), ("fixedsize", "false"), ("width", "0.75"),
    ("height", "0.5"), ("margin", "0.2,0.1"), ("labelloc", "c"),
)
EDGE_DEFAULTS = (("color", "#333333"),)
GRAPH_ATTRS = (("splines", "spline"),)

SHAPE_ATTRS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    # Mermaid shape -> (Graphviz shape or None for the default box, style words)
    "rectangle": (None, ()),
    "rounded": (None, ("rounded",)),
    "stadium": (None, ("rounded",)),
    "circle": ("circle", ()),
    "double circle": ("doublecircle", ()),
    "rhombus": ("diamond", ()),
    "hexagon": ("hexagon", ()),
    "cylinder": ("cylinder", ()),
    "parallelogram": ("parallelogram", ()),
    "trapezoid": ("trapezium", ()),
    "inverted trapezoid": ("invtrapezium", ()),
}

# CSS colour names that Graphviz's X11 scheme lacks or draws differently.
_CSS_COLOURS = {
    "gray": "#808080", "grey": "#808080", "green": "#008000", "maroon": "#800000",
    "purple": "#800080", "aqua": "#00ffff", "fuchsia": "#ff00ff", "lime": "#00ff00",
    "olive": "#808000", "silver": "#c0c0c0", "teal": "#008080", "crimson": "#dc143c",
    "indigo": "#4b0082", "rebeccapurple": "#663399",
}


@dataclass(frozen=True)
class Style:
    """CSS-like properties collected from classDef, class, style and linkStyle; None: unset."""

    fill: str | None = None
    stroke: str | None = None
    stroke_width: str | None = None
    color: str | None = None
    dashed: bool | None = None

    def over(self, other: Style) -> Style:
        """Return this style with every property `other` sets replaced by `other`'s."""
        changes = {f.name: getattr(other, f.name) for f in fields(other)
                   if getattr(other, f.name) is not None}
        return replace(self, **changes)


@dataclass(frozen=True)
class Css:
    """The style a CSS declaration list sets, and a note for each property it had to drop."""

    style: Style
    dropped: tuple[str, ...] = ()


def parse_css(props: str, statement: str, link: bool = False) -> Css:
    """Read `fill:#f9f,stroke:#333` as a Style; `link`: the properties of a linkStyle."""
    style = Style()
    dropped = []
    for prop in _split_outside_parens(props, ","):
        prop = prop.strip().removesuffix("!important").strip()
        if not prop:
            continue
        if ":" not in prop:
            raise Unsupported(f"cannot read the style {prop!r} in {statement!r}")
        key, value = (part.strip() for part in prop.split(":", 1))
        key = key.lower()
        if key == "fill":
            if link:
                continue  # linkStyle fill only paints the inside of the path: nothing shows
            style = replace(style, fill="none" if value.lower() == "none" else colour(value))
        elif key == "stroke":
            style = replace(style, stroke="transparent" if value.lower() == "none"
                            else colour(value))
        elif key == "stroke-width":
            style = replace(style, stroke_width=width(value))
        elif key == "color":
            style = replace(style, color=colour(value))
        elif key == "stroke-dasharray":
            style = replace(style, dashed=value.strip().lower() not in ("0", "none", ""))
        else:
            dropped.append(f"The Mermaid style {key}:{value} was dropped.")
    return Css(style, tuple(dropped))


def cascade(base: Style, classes: Iterable[str], class_defs: Mapping[str, Style]) -> Style:
    """Return `base` with each defined class in `classes` applied over it, in order."""
    style = base
    for name in classes:
        if name in class_defs:
            style = style.over(class_defs[name])
    return style


def link_style(index: int, link_styles: Iterable[tuple[str, Style]], links: int) -> Style:
    """Return the style of the link at `index`: `linkStyle default` first, then its own."""
    styles = list(link_styles)
    style = Style()
    for which, declared in styles:
        if which == "default":
            style = style.over(declared)
    for which, declared in styles:
        if which == "default":
            continue
        indexes = set()
        for part in which.split(","):
            part = part.strip()
            if not part.isdigit() or int(part) >= links:
                raise Unsupported(f"linkStyle {which} names a link that does not exist")
            indexes.add(int(part))
        if index in indexes:
            style = style.over(declared)
    return style


def _outline(style: Style, stroke_attribute: str) -> Attrs:
    # Every object draws its stroke, stroke width and text colour the same way; only the name
    # of the outline's colour differs (a cluster's `color` would also fill its background).
    attrs = []
    if style.stroke:
        attrs.append((stroke_attribute, style.stroke))
    if style.stroke_width:
        attrs.append(("penwidth", style.stroke_width))
    if style.color:
        attrs.append(("fontcolor", style.color))
    return tuple(attrs)


def node_attrs(shape_name: str, style: Style) -> Attrs:
    """Return a node's Graphviz attributes for its Mermaid shape and style."""
    shape, shape_words = SHAPE_ATTRS[shape_name]
    words = list(shape_words)
    fill: Attrs = ()
    if style.fill and style.fill != "none":
        words.append("filled")
        fill = (("fillcolor", style.fill),)
    if style.dashed:
        words.append("dashed")
    head: Attrs = (("shape", shape),) if shape else ()
    if words:
        head += (("style", ",".join(words)),)
    return head + fill + _outline(_readable(style), "color")


# Text colours for a kept fill that sets none: whichever reads better on it.
TEXT_ON_FILL = ("#000000", "#ffffff")


def _readable(style: Style) -> Style:
    """Give a kept fill without a text colour one that reads on it (WCAG AA, 4.5:1) in both
    themes: the palette's text colour changes with the theme, the kept fill does not."""
    if style.color or not style.fill or style.fill in ("none", "transparent"):
        return style
    from course_assets.figlint.contrast import READER_PAGE, TEXT_CONTRAST, parse_colour, ratio

    def worst(text: str) -> float:
        return min(ratio(parse_colour(text), parse_colour(style.fill or "", page))
                   for page in READER_PAGE.values())

    best = max(TEXT_ON_FILL, key=worst)
    if worst(best) < TEXT_CONTRAST:
        # A translucent fill looks light on the light page and dark on the dark one: no one
        # colour reads on both, the palette's text (which follows the theme) reads best.
        return style
    return replace(style, color=best)


def cluster_attrs(style: Style) -> Attrs:
    """Return a subgraph's Graphviz cluster attributes for its style."""
    attrs: Attrs = ()
    if style.fill == "none":
        attrs = (("bgcolor", "transparent"),)
    elif style.fill:
        attrs = (("bgcolor", style.fill),)
    attrs += _outline(_readable(style), "pencolor")
    if style.dashed:
        attrs += (("style", "rounded,dashed"),)
    return attrs


def edge_attrs(kind: str, minlen: int, style: Style) -> Attrs:
    """Return a link's Graphviz edge attributes for its kind (normal, thick, dotted, invisible)."""
    words = []
    if kind == "dotted" or style.dashed:
        words.append("dashed")
    if kind == "invisible":
        words.append("invis")
    attrs: Attrs = (("style", ",".join(words)),) if words else ()
    if kind == "thick" and not style.stroke_width:
        style = replace(style, stroke_width="3")
    attrs += _outline(style, "color")
    if minlen > 1:
        attrs += (("minlen", str(minlen)),)
    return attrs


def colour(value: str) -> str:
    """Translate a CSS colour into one Graphviz draws the same."""
    value = value.strip()
    lowered = value.lower()
    if re.fullmatch(r"#[0-9a-f]{3,4}", lowered):
        return "#" + "".join(char * 2 for char in lowered[1:])
    if re.fullmatch(r"#[0-9a-f]{6}([0-9a-f]{2})?", lowered):
        return lowered
    match = re.fullmatch(r"rgba?\(([^)]*)\)", lowered)
    if match:
        parts = [part.strip() for part in re.split(r"[,\s/]+", match.group(1).strip()) if part]
        if len(parts) in (3, 4):
            try:
                channels = [_channel(part) for part in parts[:3]]
                if len(parts) == 4:
                    alpha = float(parts[3][:-1]) / 100 if parts[3].endswith("%") \
                        else float(parts[3])
                    channels.append(round(max(0.0, min(1.0, alpha)) * 255))
            except ValueError:
                raise Unsupported(f"cannot read the colour {value!r}") from None
            return "#" + "".join(f"{channel:02x}" for channel in channels)
    if lowered in _CSS_COLOURS:
        return _CSS_COLOURS[lowered]
    if re.fullmatch(r"[a-z]+", lowered):
        return lowered
    raise Unsupported(f"cannot translate the colour {value!r}")


def _channel(part: str) -> int:
    if part.endswith("%"):
        return round(max(0.0, min(100.0, float(part[:-1]))) * 2.55)
    return max(0, min(255, round(float(part))))


def width(value: str) -> str:
    """Translate a CSS stroke width (`2px`, `1.5`) into a Graphviz pen width."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?|\.\d+)\s*(px)?", value.strip().lower())
    if match is None:
        raise Unsupported(f"cannot translate the width {value!r}")
    number = float(match.group(1))
    return f"{number:g}"


def _split_outside_parens(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts
