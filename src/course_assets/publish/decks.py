"""Make slide decks from a built chapter: a self-contained HTML deck and a Marp Markdown deck.

A deck has a title slide (the chapter's `#` heading and what precedes its first `##`), then one
slide per `##` section. Both decks are made from the built chapter, so they show exactly what
readers see, figures included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from course_assets.outputs import OutputPaths
from course_assets.publish import markdown
from course_assets.publish.assets import Reader
from course_assets.publish.deck_figures import ViewsOf
from course_assets.publish.html_deck import deck_template, html_deck
from course_assets.publish.marp_deck import marp_deck
from course_assets.publish.sections import deck_title, split_slides
from course_assets.state.manifest import FigureRecord

if TYPE_CHECKING:
    from course_assets.publish.pptx_deck import PptxDeck

__all__ = ["Decks", "build_decks", "build_pptx_deck", "deck_template"]


@dataclass(frozen=True)
class Decks:
    """A chapter's two decks, ready to write."""

    html: bytes
    marp: bytes


def build_decks(chapter_text: str, chapter_path: str, html_path: str, marp_path: str,
                read: Reader, views_of: ViewsOf | None = None) -> Decks:
    """Return the HTML and Marp decks of the built chapter at `chapter_path` (course-relative).

    `views_of` says how each figure is shown on slides (deck_figures.slide_views).
    """
    tokens = markdown.parse(chapter_text)
    slides = split_slides(tokens)
    title = deck_title(tokens, chapter_path)
    html = html_deck(slides, title, chapter_path, html_path, read, views_of)
    marp = marp_deck(slides, chapter_text.splitlines(), title, chapter_path, marp_path, read,
                     views_of)
    return Decks(html, marp.encode("utf-8"))


def build_pptx_deck(chapter_text: str, chapter_path: str, dark: bool, paths: OutputPaths,
                    figures: dict[str, FigureRecord], read: Reader) -> PptxDeck:
    """Return the light or dark PowerPoint deck of the built chapter at `chapter_path`."""
    from course_assets.publish.pptx_deck import pptx_deck

    tokens = markdown.parse(chapter_text)
    return pptx_deck(split_slides(tokens), deck_title(tokens, chapter_path), chapter_path, dark,
                     paths, figures, read)
