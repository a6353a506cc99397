"""Figures on a deck slide: both themes' images, and the figure's text outline behind a disclosure."""

from __future__ import annotations

import html as html_escape
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from course_assets.outputs import OutputPaths
from course_assets.publish import markdown
from course_assets.publish.assets import Reader, resolve
from course_assets.state.manifest import FigureRecord

# A <picture> element, whatever its attributes; its tags are read with the one HTML tag reader.
PICTURE = re.compile(r"<picture\b[^>]*>(?P<inner>.*?)</picture\s*>", re.S | re.I)
# The snippet's link to the figure's outline, with the line break before it.
OUTLINE_LINK = re.compile(
    r"(?:<br\s*/?>\s*)?<sub>\s*<a\s+href=\"(?P<href>[^\"]+\.outline\.md)\"[^>]*>.*?</a>\s*</sub>",
    re.S)


@dataclass(frozen=True)
class SlideView:
    """What one slide shows of a figure: which files, which part of them, under what caption.

    Paths are course-relative (`build/diagrams/x.slide.svg`); the dark and PNG files are None
    where the course's formats make none. `box` crops the picture: x, y, width and height in
    the SVG's user units (its viewBox), of `size` in all; None shows it whole.
    """

    svg: str
    dark_svg: str | None
    png: str | None
    dark_png: str | None
    box: tuple[float, float, float, float] | None
    size: tuple[float, float]
    # "" for a figure shown whole on its one slide; "overview" for the whole figure before
    # its zoomed slides; a cluster's label or "part N" for a zoomed slide.
    caption: str

    def crop_fractions(self) -> tuple[float, float, float, float] | None:
        """Return how much of the picture the crop cuts off: left, top, right, bottom (0-1).

        A PPTX picture's srcRect takes these times 100000; the same box as the HTML deck's
        viewBox, so that every deck shows the same part.
        """
        if self.box is None or not self.size[0] or not self.size[1]:
            return None
        x, y, width, height = self.box
        total_width, total_height = self.size
        return (round(x / total_width, 5), round(y / total_height, 5),
                round(max(0.0, 1 - (x + width) / total_width), 5),
                round(max(0.0, 1 - (y + height) / total_height), 5))


# Returns the slide views of the figure whose chapter SVG is at a course-relative path, if any.
ViewsOf = Callable[[str], list[SlideView] | None]


def slide_views(paths: OutputPaths, name: str, record: FigureRecord) -> list[SlideView]:
    """Return what the decks show of figure `name` on slides, one view a slide, in order.

    The whole figure in the layout fitted to slides (or the chapter's where it needs none);
    where no layout makes it readable on one slide, that whole view first ("overview"), then
    one zoomed crop a slide. With fitting off, the chapter's files, whole, on one slide.
    """
    dark = "dark" in paths.formats
    if record.slide_file:
        svg, dark_svg = paths.slide_figure(name), paths.slide_figure(name, dark=True)
    else:
        svg, dark_svg = paths.figure_file(f"{name}.svg"), paths.figure_file(f"{name}.dark.svg")
    png_file = paths.figure_png(name, slide_file=record.slide_file)
    dark_png = paths.figure_png(name, dark=True, slide_file=record.slide_file)
    raw_size = record.fit.get("viewbox") or (0.0, 0.0)
    size = (float(raw_size[0]), float(raw_size[1]))
    found = []
    for view in record.fit.get("views") or [{"caption": "", "box": None}]:
        box = view.get("box")
        found.append(SlideView(
            svg, dark_svg if dark else None, png_file, dark_png,
            (float(box[0]), float(box[1]), float(box[2]), float(box[3])) if box else None,
            size, str(view.get("caption", ""))))
    return found


def views_by_svg(paths: OutputPaths, figures: Mapping[str, FigureRecord]) -> ViewsOf:
    """Return a lookup of slide views by the chapter SVG a built chapter embeds."""
    table = {paths.figure_file(f"{name}.svg"): (name, record) for name, record in figures.items()}

    def views_of(svg: str) -> list[SlideView] | None:
        found = table.get(svg)
        return slide_views(paths, *found) if found else None

    return views_of


def on_slides(fragment: str, chapter_path: str, views_of: ViewsOf) -> str:
    """Point a figure's images at the files its slide views show (the slide layout's)."""
    def rewrite(tag: str, attrs: markdown.Attributes) -> markdown.Attributes | None:
        if tag not in ("img", "source"):
            return attrs
        kept: markdown.Attributes = []
        for name, value in attrs:
            if value is not None and name in ("src", "srcset"):
                value = _slide_file(value, chapter_path, views_of)
            kept.append((name, value))
        return kept

    return markdown.rewrite_html(fragment, rewrite)


def _slide_file(target: str, chapter_path: str, views_of: ViewsOf) -> str:
    path = resolve(target, chapter_path)
    if path is None:
        return target
    light = path.replace(".dark.svg", ".svg") if path.endswith(".dark.svg") else path
    views = views_of(light)
    if not views:
        return target
    wanted = views[0].dark_svg if light != path else views[0].svg
    if wanted is None or wanted in (path,):
        return target
    return posixpath.relpath(wanted, posixpath.dirname(chapter_path) or ".")


def zoomed_figures(fragment: str, chapter_path: str, views_of: ViewsOf,
                   ) -> list[tuple[str, list[SlideView]]]:
    """Return, for each figure image of `fragment` that has zoomed views, its alt and views."""
    found = []
    for tag in markdown.html_tags(fragment):
        if tag.name != "img":
            continue
        path = resolve(tag.attrs.get("src", ""), chapter_path)
        views = views_of(path) if path else None
        if views and len(views) > 1:
            found.append((tag.attrs.get("alt", ""), [v for v in views if v.box is not None]))
    return found


# A zoomed view takes the figure's room, scaled to fit it (past twice its size: that is its
# use). Inline, so that a deck without zoomed slides is as it was before fitting existed.
CROP_STYLE = "display:block;width:100%;height:100%;min-height:0"
# The root element of a built figure SVG, and what follows its start tag.
SVG_ROOT = re.compile(rb"<svg\b[^>]*>", re.S)


def whole_of_zoomed(fragment: str, chapter_path: str, views_of: ViewsOf, read: Reader,
                    embedded: dict[str, str]) -> str | None:
    """Return the overview of a figure block's one zoomed figure, drawn as its crops are.

    None where the block shows no zoomed figure, or more than one image: those keep their
    images as the chapter has them.
    """
    images = [tag for tag in markdown.html_tags(fragment) if tag.name == "img"]
    zoomed = zoomed_figures(fragment, chapter_path, views_of)
    if len(images) != 1 or len(zoomed) != 1:
        return None
    alt, views = zoomed[0]
    whole = replace(views[0], box=(0.0, 0.0, *views[0].size), caption="overview")
    return cropped_figure(whole, alt, chapter_path, read, embedded) or None


def cropped_figure(view: SlideView, alt: str, chapter_path: str, read: Reader,
                   embedded: dict[str, str]) -> str:
    """Return a zoomed view as inline SVG: the figure's drawing, cut by a viewBox.

    The drawing is carried once per deck, as a <symbol> (`embedded` maps each SVG path to its
    symbol's id and gains the ones this call adds); each zoomed slide shows it with <use>.
    """
    parts = []
    for path, theme in ((view.svg, "deck-light"), (view.dark_svg, "deck-dark")):
        if path is None or view.box is None:
            continue
        if path not in embedded:
            symbol = _symbol(path, read, f"deck-drawing-{len(embedded) + 1}")
            if symbol is None:
                continue
            embedded[path] = f"deck-drawing-{len(embedded) + 1}"
            parts.append(symbol)
        x, y, width, height = view.box
        label = html_escape.escape(f"{alt} ({view.caption})", quote=True)
        parts.append(
            f'<svg class="deck-crop {theme}" xmlns="http://www.w3.org/2000/svg" role="img" '
            f'style="{CROP_STYLE}" aria-label="{label}" viewBox="{x:g} {y:g} {width:g} {height:g}" '
            f'preserveAspectRatio="xMidYMid meet"><use href="#{embedded[path]}" x="0" y="0" '
            f'width="{view.size[0]:g}" height="{view.size[1]:g}" /></svg>')
    return "".join(parts)


def _symbol(path: str, read: Reader, symbol_id: str) -> str | None:
    """Return a figure SVG as an unseen inline <svg> holding it as a <symbol> to <use>."""
    data = read(path)
    if data is None:
        return None
    root = SVG_ROOT.search(data)
    end = data.rfind(b"</svg>")
    if root is None or end < root.end():
        return None
    view_box = re.search(rb'viewBox="([^"]*)"', root.group(0))
    inner = data[root.end():end].decode("utf-8")
    # Made by the build's own SVG post-processing: nothing active is left in it to escape.
    return ('<svg class="deck-drawings" xmlns="http://www.w3.org/2000/svg" '
            'xmlns:xlink="http://www.w3.org/1999/xlink" aria-hidden="true" width="0" '
            'height="0" style="position:absolute;width:0;height:0;overflow:hidden">'
            f'<symbol id="{symbol_id}" viewBox="{(view_box.group(1) if view_box else b"").decode()}">'
            f"{inner}</symbol></svg>")


def with_both_themes(fragment: str) -> str:
    """Return a figure's HTML with its <picture> as two images, one per theme.

    The deck's style sheet shows the one that matches the reader's theme or the theme key's
    choice, which a <picture>'s media query could not follow. A <picture> with no dark
    <source> or no <img> is left as it is.
    """
    def split(match: re.Match[str]) -> str:
        tags = markdown.html_tags(match.group("inner"))
        img = next((tag for tag in tags if tag.name == "img"), None)
        dark = next((markdown.srcset_urls(tag.attrs.get("srcset", ""))[:1] for tag in tags
                     if tag.name == "source" and _is_dark(tag.attrs.get("media", ""))), [])
        if img is None or not dark:
            return match.group(0)
        return (_img({**img.attrs, "class": _classes("deck-light", img.attrs)}) +
                _img({**img.attrs, "src": dark[0], "class": _classes("deck-dark", img.attrs)}))

    return PICTURE.sub(split, fragment)


def _is_dark(media: str) -> bool:
    return re.fullmatch(r"\(\s*prefers-color-scheme\s*:\s*dark\s*\)", media.strip()) is not None


def _classes(name: str, attrs: dict[str, str]) -> str:
    return " ".join([name, *attrs.get("class", "").split()])


def _img(attrs: dict[str, str]) -> str:
    return markdown.start_tag("img", attrs.items(), " /")


def outline_details(fragment: str, chapter_path: str, read: Reader) -> tuple[str, str]:
    """Take the outline links out of a figure's HTML; return it and the outlines as <details>."""
    found: list[str] = []

    def take(match: re.Match[str]) -> str:
        path = resolve(html_escape.unescape(match.group("href")), chapter_path)
        data = read(path) if path else None
        if data is None:
            return match.group(0)
        found.append(_details(data.decode("utf-8", "replace")))
        return ""

    return OUTLINE_LINK.sub(take, fragment), "".join(found)


def _details(outline: str) -> str:
    lines = outline.splitlines()
    # The slide shows the title and the figure shows its description: keep the structure.
    body = [line for line in lines[1:] if line.strip()]
    while body and not body[0].startswith("## "):
        body.pop(0)
    inner = _plain_outline_html(body)
    if inner is None:
        text = "\n".join(f"\n**{line[3:]}**\n" if line.startswith("## ") else line
                         for line in body)
        inner = markdown.render(markdown.parse(text))
    return ('<details class="deck-outline"><summary>Text outline</summary>\n'
            f"{inner}</details>\n")


# Words Markdown reads as they are: no character it gives a meaning (labels come escaped with
# `\`, which leaves them to the parser), no control character, single spaces between words.
_WORD = r"(?:[^\\`*_\[\]<>#|&~!\s\x00-\x1f\x7f]| (?! ))"
_WORDS = rf"(?! ){_WORD}+(?<! )"
# An outline's lines as the build writes them: a section heading, or a list item two spaces
# deeper a level, a cluster's in bold; words that do not start another list or a number.
OUTLINE_HEADING = re.compile(rf"## (?P<words>(?=[^\W_]){_WORDS}(?<=[^\W_]))")
OUTLINE_ITEM = re.compile(rf"(?P<indent>(?:  )*)- (?:\*\*(?P<group>(?=[^\W_]){_WORDS}(?<=[^\W_]))"
                          rf"\*\* \(group\)|(?P<words>(?![-+\d]){_WORDS}))")


def _plain_outline_html(body: list[str]) -> str | None:
    """Return an outline's sections as HTML, as the Markdown parser renders them, or None.

    Parsing an outline's nested lists as Markdown was a third of the HTML deck's time. An
    outline as the build writes it (`OUTLINE_HEADING`, `OUTLINE_ITEM`) is a bold paragraph per
    section heading and tight nested lists of plain words: rendered here. Anything else
    (None) is the parser's.
    """
    html: list[str] = []
    # The items of the open lists, outermost first: each its words' HTML and its own items.
    open_lists: list[list[tuple[str, list[Any]]]] = []

    def close_lists() -> None:
        if open_lists:
            html.append(_outline_list_html(open_lists[0]))
            open_lists.clear()

    for line in body:
        heading = OUTLINE_HEADING.fullmatch(line)
        if heading is not None:
            close_lists()
            html.append(f"<p><strong>{_html_text(heading['words'])}</strong></p>\n")
            continue
        item = OUTLINE_ITEM.fullmatch(line)
        if item is None:
            return None
        depth = len(item["indent"]) // 2
        if depth > len(open_lists):
            return None  # a list more than one level deeper than its item
        if depth == len(open_lists):  # a list of its own: the outline's, or the last item's
            open_lists.append(open_lists[-1][-1][1] if depth else [])
        del open_lists[depth + 1:]
        words = (f"<strong>{_html_text(item['group'])}</strong> (group)" if item["group"]
                 else _html_text(item["words"]))
        open_lists[depth].append((words, []))
    close_lists()
    return "".join(html)


def _outline_list_html(items: list[tuple[str, list[Any]]]) -> str:
    """Return a tight list's HTML, as the Markdown renderer writes it, its items' lists inside."""
    rendered = "".join(f"<li>{words}\n{_outline_list_html(inner)}</li>\n" if inner
                       else f"<li>{words}</li>\n" for words, inner in items)
    return f"<ul>\n{rendered}</ul>\n"


def _html_text(text: str) -> str:
    """Return text escaped as the Markdown renderer escapes it: & < > and double quotes."""
    return html_escape.escape(text, quote=False).replace('"', "&quot;")
