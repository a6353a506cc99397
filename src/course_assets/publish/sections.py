"""Split a built chapter into slides: a title slide, then one slide per `##` section."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import PurePosixPath

from markdown_it.token import Token

from course_assets.publish import markdown


@dataclass(frozen=True)
class Block:
    """One top-level Markdown block: its tokens, and whether it is a figure."""

    tokens: list[Token]
    figure: bool

    @functools.cached_property
    def images(self) -> tuple[markdown.Reference, ...]:
        """Return the images the block shows, in order (read from its HTML once)."""
        return tuple(markdown.images_of_block(self.tokens))


@dataclass(frozen=True)
class Slide:
    """One slide: its `##` heading (None for the title slide) and its blocks."""

    heading: str | None
    blocks: list[Block]

    @property
    def has_text(self) -> bool:
        return any(not b.figure and b.tokens[0].type != "heading_open" for b in self.blocks)


def split_slides(tokens: list[Token]) -> list[Slide]:
    """Return the slides of a parsed chapter; a rule inside a section is no slide break."""
    slides: list[Slide] = [Slide(None, [])]
    for block in _blocks(tokens):
        first = block.tokens[0]
        if first.type == "heading_open" and first.tag == "h2":
            slides.append(Slide(markdown.plain_text(block.tokens[1]), []))
        if first.type == "hr":
            continue
        slides[-1].blocks.append(block)
    if not slides[0].blocks:
        slides.pop(0)
    return slides or [Slide(None, [])]


def deck_title(tokens: list[Token], chapter_path: str) -> str:
    """Return the chapter's `#` heading, or its file name when it has none."""
    return markdown.title(tokens) or PurePosixPath(chapter_path).stem


def _blocks(tokens: list[Token]) -> list[Block]:
    blocks: list[Block] = []
    depth, current = 0, []
    for token in tokens:
        current.append(token)
        depth += token.nesting
        if depth == 0:
            blocks.append(Block(current, _is_figure(current)))
            current = []
    return blocks


def _is_figure(tokens: list[Token]) -> bool:
    """Say whether a block shows nothing but images (a figure snippet, or `![..](..)` alone)."""
    first = tokens[0]
    if first.type == "html_block":
        return any(tag.name == "img" and tag.attrs.get("src")
                   for tag in markdown.html_tags(first.content))
    if first.type == "paragraph_open" and len(tokens) == 3 and tokens[1].children:
        children = [c for c in tokens[1].children
                    if not (c.type in ("softbreak", "hardbreak")
                            or c.type == "text" and not c.content.strip())]
        return bool(children) and all(c.type == "image" for c in children)
    return False
