"""Write a chapter's slides as a Marp Markdown deck whose images point at the built figures."""

from __future__ import annotations

import json
import posixpath
import re

from course_assets.publish.assets import Reader, fit, image_size, rebase, resolve
from course_assets.publish.deck_figures import SlideView, ViewsOf
from course_assets.publish.sections import Block, Slide

# Room a Marp slide (default theme) leaves for figures under its heading, in CSS pixels.
MARP_FIGURE_BOX = (1120, 470)
MARP_FIGURE_BOX_WITH_TEXT = (1120, 300)
# Words of an image's alt text that Marp reads as options (size, CSS filter, background).
MARP_KEYWORD = re.compile(
    r"^(?:(?:\d*\.)?\d+%|w(?:idth)?:.*|h(?:eight)?:.*|bg|(?:blur|brightness|contrast|drop-shadow"
    r"|grayscale|hue-rotate|invert|opacity|saturate|sepia)(?::.*)?)$")
WORD_JOINER = "\u2060"


def marp_deck(slides: list[Slide], lines: list[str], title: str, chapter_path: str,
              deck_path: str, read: Reader, views_of: ViewsOf | None = None) -> str:
    """Return the Marp deck of `slides`; `lines` are the built chapter's, for verbatim text.

    With `views_of`, a figure shows its slide layout, and its zoomed views follow its slide,
    one a slide, each an SVG view fragment (`#svgView(viewBox(...))`) of the same file.
    """
    front = [
        "---",
        "marp: true",
        f"title: {json.dumps(title, ensure_ascii=False)}",
        "size: 16:9",
        "paginate: true",
        "style: |",
        "  section img { display: block; margin: 0 auto; }",
        "---",
    ]
    pages = []
    for slide in slides:
        figures = sum(len(b.images) for b in slide.blocks if b.figure)
        box = MARP_FIGURE_BOX_WITH_TEXT if slide.has_text else MARP_FIGURE_BOX
        if figures > 1:
            box = (box[0], max(120, box[1] // figures))
        parts = ["<!-- _class: lead -->"] if slide.heading is None else []
        zooms: list[str] = []
        for block in slide.blocks:
            parts.append(_marp_block(block, lines, chapter_path, deck_path, read, box,
                                     views_of))
            if block.figure and views_of is not None:
                zooms += _zoomed_pages(block, slide.heading or title, chapter_path, deck_path,
                                       views_of)
        pages.append("\n\n".join(part for part in parts if part))
        pages += zooms
    return "\n".join(front) + "\n\n" + "\n\n---\n\n".join(pages) + "\n"


def _views(target: str, chapter_path: str, views_of: ViewsOf | None) -> list[SlideView]:
    path = resolve(target, chapter_path)
    return (views_of(path) or []) if path and views_of is not None else []


def _marp_block(block: Block, lines: list[str], chapter_path: str, deck_path: str,
                read: Reader, box: tuple[int, int], views_of: ViewsOf | None = None) -> str:
    first = block.tokens[0]
    if block.figure:
        images = []
        for image in block.images:
            target = image.target
            views = _views(target, chapter_path, views_of)
            if views:  # the layout fitted to slides, whole
                target = posixpath.relpath(views[0].svg, posixpath.dirname(chapter_path) or ".")
            size = fit(image_size(target, chapter_path, read), box)
            keywords = f"w:{size[0]}px h:{size[1]}px " if size else ""
            images.append(f"![{keywords}{marp_alt(image.alt)}]"
                          f"({rebase(target, chapter_path, deck_path)})")
        return "\n".join(images)
    if first.type == "heading_open":
        # ATX headings always: a setext underline of dashes would read as a slide break.
        level = int(first.tag[1:])
        return "#" * level + " " + block.tokens[1].content.strip()
    start, end = first.map or (0, 0)
    text = "\n".join(lines[start:end]).rstrip()
    return _rebase_markdown(text, block, chapter_path, deck_path)


def _zoomed_pages(block: Block, heading: str, chapter_path: str, deck_path: str,
                  views_of: ViewsOf) -> list[str]:
    """Return a page for each zoomed view of the block's figures, after their slide."""
    pages = []
    for image in block.images:
        for view in _views(image.target, chapter_path, views_of):
            if view.box is None:
                continue
            x, y, width, height = view.box
            # The crop, in CSS px at the figure's own size (its viewBox is in points).
            scale = min(MARP_FIGURE_BOX[0] / (width * 4 / 3), MARP_FIGURE_BOX[1] / (height * 4 / 3))
            shown = (max(1, round(width * 4 / 3 * scale)), max(1, round(height * 4 / 3 * scale)))
            target = posixpath.relpath(view.svg, posixpath.dirname(deck_path) or ".")
            pages.append(f"## {heading}: {view.caption}\n\n"
                         f"![w:{shown[0]}px h:{shown[1]}px {marp_alt(image.alt)}]"
                         f"({target}#svgView(viewBox({x:g},{y:g},{width:g},{height:g})))")
    return pages


def marp_alt(alt: str) -> str:
    """Return alt text Marp shows as written: no brackets, no word it would take as an option."""
    words = re.sub(r"[\[\]\\]", "", alt).split()
    # An invisible joiner in front keeps the word for readers but stops Marp matching it.
    return " ".join(WORD_JOINER + w if MARP_KEYWORD.match(w) else w for w in words)


def _rebase_markdown(text: str, block: Block, chapter_path: str, deck_path: str) -> str:
    """Point the relative links and images of verbatim Markdown at their targets from the deck."""
    targets = set()
    for token in block.tokens:
        for child in token.children or []:
            if child.type == "link_open":
                targets.add(str(child.attrs.get("href", "")))
            elif child.type == "image":
                targets.add(str(child.attrs.get("src", "")))
    for target in sorted(targets, key=len, reverse=True):
        moved = rebase(target, chapter_path, deck_path)
        if moved != target:
            text = re.sub(r"\]\(\s*<?" + re.escape(target) + r"(?=[>\s)])",
                          lambda m: m.group(0)[: -len(target)] + moved, text)
    return text
