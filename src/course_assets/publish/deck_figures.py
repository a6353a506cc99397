"""Figures on a deck slide: both themes' images, and the figure's text outline behind a disclosure."""

from __future__ import annotations

import html as html_escape
import re

from course_assets.publish import markdown
from course_assets.publish.assets import Reader, resolve

# A <picture> element, whatever its attributes; its tags are read with the one HTML tag reader.
PICTURE = re.compile(r"<picture\b[^>]*>(?P<inner>.*?)</picture\s*>", re.S | re.I)
# The snippet's link to the figure's outline, with the line break before it.
OUTLINE_LINK = re.compile(
    r"(?:<br\s*/?>\s*)?<sub>\s*<a\s+href=\"(?P<href>[^\"]+\.outline\.md)\"[^>]*>.*?</a>\s*</sub>",
    re.S)


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
    text = "\n".join(f"\n**{line[3:]}**\n" if line.startswith("## ") else line for line in body)
    inner = markdown.render(markdown.parse(text))
    return ('<details class="deck-outline"><summary>Text outline</summary>\n'
            f"{inner}</details>\n")
