"""Write a chapter's slides as one self-contained HTML deck: styles, script and figures inside."""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from html import escape
from pathlib import Path
from typing import Any

from course_assets.publish import markdown
from course_assets.publish.assets import Reader, data_uri, rebase
from course_assets.publish.deck_figures import ViewsOf
from course_assets.publish.sections import Block, Slide

TEMPLATES = Path(__file__).parent.parent / "templates" / "slides"


def html_deck(slides: list[Slide], title: str, chapter_path: str, deck_path: str,
              read: Reader, views_of: ViewsOf | None = None) -> bytes:
    """Return the HTML deck of `slides`, as UTF-8; it loads nothing and runs only its own script.

    With `views_of`, each figure shows its slide views: the layout fitted to slides, and after
    its slide one zoomed slide per crop where the whole figure is too small to read.
    """
    from markupsafe import Markup

    css = (TEMPLATES / "deck.css").read_text(encoding="utf-8")
    script = (TEMPLATES / "deck.js").read_text(encoding="utf-8")
    # The style sheet, script and slides' bodies (each figure inlined: most of the deck) go
    # into the page after the template has laid it out round a mark for each (`_filled`). A
    # mark is markup: the template escapes every other value, so no text of the chapter's can
    # read as one.
    fills: list[str] = []

    def mark(fill: str) -> Markup:
        fills.append(fill)
        return Markup(f"<!--course-assets fill {len(fills) - 1}-->")

    rendered: list[dict[str, Any]] = []
    embedded: dict[str, str] = {}  # each figure drawing zoomed slides cut, carried once
    for slide in slides:
        body = "".join(_render_block(b, chapter_path, deck_path, read, views_of, embedded)
                       for b in slide.blocks)
        kinds = ["slide"]
        if slide.heading is None:
            kinds.append("slide-title")
        if any(b.figure for b in slide.blocks):
            kinds.append("has-figure")
        if slide.has_text:
            kinds.append("has-text")
        rendered.append({"number": len(rendered) + 1, "classes": " ".join(kinds),
                         "body": mark(body), "label": slide.heading or title})
        for caption, zoomed in _zoomed_slides(slide, chapter_path, read, views_of, embedded):
            heading = f"{slide.heading or title}: {caption}"
            rendered.append({"number": len(rendered) + 1, "classes": "slide has-figure deck-zoom",
                             "body": mark(f"<h2>{escape(heading)}</h2>\n"
                                          f'<div class="deck-figure">{zoomed}</div>\n'),
                             "label": heading})
    # The page may run our script and nothing else, and load nothing at all.
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    policy = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
              f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'")
    page = deck_template().render(title=title, slides=rendered, count=len(rendered),
                                  css=mark(css), script=mark(script), policy=policy)
    return _filled(str(page), fills)


MARK = re.compile("<!--course-assets fill ([0-9]+)-->")


def _filled(page: str, fills: list[str]) -> bytes:
    """Return the page with each mark replaced by its fill, as UTF-8.

    Rendered into the page, the fills (megabytes of figures) would be copied by the template
    and the page made one string, then encoded: each is encoded once here instead.
    """
    pieces = MARK.split(page)
    assert sorted(map(int, pieces[1::2])) == list(range(len(fills))), "the template's marks"
    return b"".join((piece if index % 2 == 0 else fills[int(piece)]).encode("utf-8")
                    for index, piece in enumerate(pieces))


@functools.cache
def deck_template() -> Any:
    """Return the compiled HTML deck template (compiled once per process, not once per deck)."""
    import jinja2

    environment = jinja2.Environment(autoescape=True, keep_trailing_newline=True,
                                     undefined=jinja2.StrictUndefined)
    return environment.from_string((TEMPLATES / "deck.html").read_text(encoding="utf-8"))


def _zoomed_slides(slide: Slide, chapter_path: str, read: Reader,
                   views_of: ViewsOf | None, embedded: dict[str, str]) -> list[tuple[str, str]]:
    """Return each zoomed view of the slide's figures: its caption and its cropped figure."""
    if views_of is None:
        return []
    from course_assets.publish.deck_figures import cropped_figure, zoomed_figures

    found = []
    for block in slide.blocks:
        if not block.figure:
            continue
        for alt, views in zoomed_figures(markdown.render(block.tokens), chapter_path, views_of):
            found += [(view.caption, cropped_figure(view, alt, chapter_path, read, embedded))
                      for view in views]
    return found


def _render_block(block: Block, chapter_path: str, deck_path: str, read: Reader,
                  views_of: ViewsOf | None = None,
                  embedded: dict[str, str] | None = None) -> str:
    html = markdown.render(block.tokens)
    outlines = ""
    if block.figure:
        from course_assets.publish.deck_figures import (
            on_slides, outline_details, whole_of_zoomed, with_both_themes,
        )

        html, outlines = outline_details(html, chapter_path, read)
        if views_of is not None:
            # A figure shown zoomed too: its drawing is carried once, for it and its crops.
            whole = whole_of_zoomed(html, chapter_path, views_of, read,
                                    {} if embedded is None else embedded)
            if whole is not None:
                return f'<div class="deck-figure">{whole}</div>\n{outlines}'
            html = on_slides(html, chapter_path, views_of)
        html = with_both_themes(html)
    # Markdown and raw HTML (figure snippets among it) alike: images inlined, links rebased,
    # nothing left that would load.
    html = _for_the_deck(html, chapter_path, deck_path, read)
    return f'<div class="deck-figure">{html}</div>\n{outlines}' if block.figure else html


def _for_the_deck(html: str, chapter_path: str, deck_path: str, read: Reader) -> str:
    def rewrite(tag: str, attrs: markdown.Attributes) -> markdown.Attributes | None:
        values = {name: value or "" for name, value in attrs}
        if tag == "source" and "prefers-color-scheme" in values.get("media", ""):
            return None  # a figure's themes are two images (with_both_themes), not one picture
        kept: markdown.Attributes = []
        for name, value in attrs:
            if tag == "img" and name == "class":
                continue  # replaced by ours, below, with the author's classes kept
            if value is not None and name in markdown.LOADING_ATTRIBUTES.get(tag, ()):
                if name == "srcset":
                    urls = markdown.srcset_urls(value)
                    value = urls[0] if urls else ""
                value = data_uri(value, chapter_path, read) if value else None
                if value is None:
                    continue
            elif value is not None and tag == "a" and name == "href":
                value = rebase(value, chapter_path, deck_path)
            kept.append((name, value))
        if tag == "img":
            kept.append(("class", " ".join(["deck-image", *values.get("class", "").split()])))
        return kept

    return markdown.rewrite_html(html, rewrite)
