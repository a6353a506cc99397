"""Figures on a deck slide: both themes' images, and the figure's text outline behind a disclosure."""

from __future__ import annotations

import html as html_escape
import re

from course_assets.publish import markdown
from course_assets.publish.assets import Reader, resolve

# A figure snippet's <picture>: the dark <source> and the light <img>.
PICTURE = re.compile(
    r"<picture>\s*<source\s+media=\"\(prefers-color-scheme:\s*dark\)\"\s+srcset=\"(?P<dark>[^\"]+)\""
    r"\s*/?>\s*(?P<img><img\s[^>]*?)(?P<end>\s*/?>)\s*</picture>", re.S)
# The snippet's link to the figure's outline, with the line break before it.
OUTLINE_LINK = re.compile(
    r"(?:<br\s*/?>\s*)?<sub>\s*<a\s+href=\"(?P<href>[^\"]+\.outline\.md)\"[^>]*>.*?</a>\s*</sub>",
    re.S)


def with_both_themes(fragment: str) -> str:
    """Return a figure's HTML with its <picture> as two images, one per theme.

    The deck's style sheet shows the one that matches the reader's theme or the theme key's
    choice, which a <picture>'s media query could not follow.
    """
    def split(match: re.Match[str]) -> str:
        light = match.group("img")
        dark = re.sub(r"\ssrc=\"[^\"]*\"", f' src="{match.group("dark")}"', light, count=1)
        end = match.group("end")
        return (f'{_with_class(light, "deck-light")}{end}'
                f'{_with_class(dark, "deck-dark")}{end}')

    return PICTURE.sub(split, fragment)


def _with_class(tag: str, name: str) -> str:
    if re.search(r"\sclass=\"", tag):
        return re.sub(r"\sclass=\"", f' class="{name} ', tag, count=1)
    return f'{tag} class="{name}"'


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
    text = "\n".join(f"\n**{line[3:]}**\n" if line.startswith("## ") else line for line in body)
    inner = markdown.render(markdown.parse(text))
    return ('<details class="deck-outline"><summary>Text outline</summary>\n'
            f"{inner}</details>\n")
