"""Find the images and Mermaid blocks of a chapter, with the exact source spans to replace.

markdown-it-py decides what is an image (so nothing inside code blocks or code spans counts);
a small scanner then finds the same images in the raw text to get character offsets, because
the parser reports only line ranges. When the two disagree, the image is reported without a
span and the chapter text around it is never touched.
"""

from __future__ import annotations

import bisect
import html
import re
from dataclasses import dataclass
from typing import Any, Literal

from markdown_it.common.utils import normalizeReference, unescapeAll
from markdown_it.token import Token

from course_assets.publish import markdown

BOM = "\ufeff"
_NEWLINE = re.compile(r"\r\n|\r|\n")
_IMG_TAG = re.compile(r"""<img\b(?:[^>"']|"[^"]*"|'[^']*')*>""", re.IGNORECASE)
# Markup that only places an image (centres it, links it, frames it) and can go with it.
_WRAPPERS = re.compile(
    r"""(?:\s+|<!--.*?-->"""
    r"""|</?(?:div|p|center|figure|a|span|picture|br)\b(?:[^>"']|"[^"]*"|'[^']*')*>)*""",
    re.IGNORECASE | re.DOTALL,
)

ImageKind = Literal["markdown", "html", "fence"]


@dataclass(frozen=True)
class FoundImage:
    """An image or Mermaid block of a chapter."""

    kind: ImageKind
    line: int  # 1-based line where the image starts
    url: str | None
    alt: str
    source: str | None = None  # the code of a fenced block
    # Character offsets of the text to replace; None when the image could not be pinned down.
    span: tuple[int, int] | None = None
    width: str | None = None  # an <img>'s width attribute, as written


@dataclass(frozen=True)
class ChapterText:
    """A chapter decoded for editing: its text without a byte-order mark, and whether it had one."""

    text: str
    bom: bool

    def encode(self, text: str) -> bytes:
        """Return `text` as bytes written the way the chapter was read."""
        return ((BOM if self.bom else "") + text).encode("utf-8")


def decode_chapter(data: bytes) -> ChapterText:
    """Decode chapter bytes (UTF-8, with or without a byte-order mark); raise UnicodeDecodeError."""
    text = data.decode("utf-8")
    if text.startswith(BOM):
        return ChapterText(text[1:], True)
    return ChapterText(text, False)


def find_images(text: str) -> list[FoundImage]:
    """Return every image and Mermaid fence in `text`, in source order."""
    env: dict[str, Any] = {}
    tokens = markdown.parse(text, env)
    lines = _Lines(text)
    found: list[FoundImage] = []
    for token in tokens:
        if token.map is None:
            continue
        if token.type == "fence" and _is_mermaid(token.info):
            found.append(_fence(token, lines))
        elif token.type == "html_block":
            found.extend(_html_block(token, lines))
        elif token.type == "inline":
            found.extend(_inline(token, lines, env))
    return sorted(found, key=lambda image: (image.line, image.span or (0, 0)))


def replace_spans(text: str, replacements: list[tuple[int, int, str]]) -> str:
    """Return `text` with each (start, end) span replaced; the spans must not overlap."""
    out: list[str] = []
    cursor = 0
    for start, end, new in sorted(replacements):
        if start < cursor:
            raise ValueError("overlapping replacements")
        out.append(text[cursor:start])
        out.append(new)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def split_lines(text: str) -> list[str]:
    """Split `text` into lines that keep their own line endings (\\n, \\r\\n or \\r)."""
    lines, start = [], 0
    for match in _NEWLINE.finditer(text):
        lines.append(text[start:match.end()])
        start = match.end()
    if start < len(text):
        lines.append(text[start:])
    return lines


class _Lines:
    """Map markdown-it line numbers to character offsets in the original text."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0] + [match.end() for match in _NEWLINE.finditer(text)]

    def offset(self, line: int) -> int:
        return self.starts[line] if line < len(self.starts) else len(self.text)

    def region(self, first: int, end: int) -> tuple[int, str]:
        start = self.offset(first)
        return start, self.text[start:self.offset(end)]

    def line_of(self, offset: int) -> int:
        """Return the 1-based line holding character `offset`."""
        return bisect.bisect_right(self.starts, offset)


def _is_mermaid(info: str) -> bool:
    words = info.strip().split()
    return bool(words) and words[0].strip("{}").lower() == "mermaid"


def _source_lines(token: Token) -> tuple[int, int]:
    """Return the first and the end line of a block token's source (markdown-it maps each one)."""
    if token.map is None:  # pragma: no cover - only a token made by hand has no map
        raise ValueError(f"a {token.type} token without source lines")
    first, end = token.map
    return first, end


def _fence(token: Token, lines: _Lines) -> FoundImage:
    first, end = _source_lines(token)
    start, region = lines.region(first, end)
    marker = re.search(r"`{3,}|~{3,}", region)
    span = None
    if marker is not None and "\n" not in region[:marker.start()] \
            and "\r" not in region[:marker.start()]:
        span = (start + marker.start(), start + len(region.rstrip("\r\n")))
    return FoundImage("fence", first + 1, None, "", token.content, span)


def _html_block(token: Token, lines: _Lines) -> list[FoundImage]:
    first, end = _source_lines(token)
    start, region = lines.region(first, end)
    parsed = [(_img_attrs(match.group()), match) for match in _IMG_TAG.finditer(token.content)]
    raw = list(_IMG_TAG.finditer(region))
    located = [_img_attrs(match.group()).get("src") for match in raw] == \
        [attrs.get("src") for attrs, _ in parsed]
    whole_block = None
    if located and len(raw) == 1:
        rest = token.content[:parsed[0][1].start()] + token.content[parsed[0][1].end():]
        if _WRAPPERS.fullmatch(rest):
            opening = region.find("<")
            whole_block = (start + opening, start + len(region.rstrip()))
    images = []
    for index, (attrs, match) in enumerate(parsed):
        src = attrs.get("src")
        if src is None:
            continue
        if located:
            tag = raw[index]
            span = whole_block or (start + tag.start(), start + tag.end())
            line = lines.line_of(start + tag.start())
        else:
            span = None
            line = first + 1 + token.content[:match.start()].count("\n")
        images.append(FoundImage("html", line, src.strip(), attrs.get("alt", "").strip(),
                                 None, span, attrs.get("width")))
    return images


def _inline(token: Token, lines: _Lines, env: dict[str, Any]) -> list[FoundImage]:
    children = token.children or []
    md_images: list[tuple[Token, bool]] = []
    html_images: list[dict[str, str]] = []
    for index, child in enumerate(children):
        if child.type == "image":
            # An image that is the whole text of a link goes together with that link.
            linked = (0 < index < len(children) - 1
                      and children[index - 1].type == "link_open"
                      and children[index + 1].type == "link_close")
            md_images.append((child, linked))
        elif child.type == "html_inline" and _IMG_TAG.fullmatch(child.content.strip()):
            html_images.append(_img_attrs(child.content))
    if not md_images and not html_images:
        return []
    first, end = _source_lines(token)
    start, region = lines.region(first, end)
    visible = _blank_code_spans(region)
    found: list[FoundImage] = []

    scanned = _scan_markdown_images(visible, env)
    wanted = [child.attrs.get("src", "") for child, _ in md_images]
    md_located = [dest for _, _, dest in scanned] == wanted
    for index, (child, linked) in enumerate(md_images):
        alt = "".join(" " if part.type in ("softbreak", "hardbreak") else part.content
                      for part in child.children or [])
        src = str(child.attrs.get("src", ""))
        if md_located:
            image_start, image_end, _ = scanned[index]
            span = (start + image_start, start + image_end)
            if linked:
                span = _extend_to_link(visible, image_start, image_end, start, env) or span
            found.append(FoundImage("markdown", lines.line_of(span[0]), src, alt.strip(), None,
                                    span))
        else:
            found.append(FoundImage("markdown", first + 1, src, alt.strip(), None, None))

    tags = list(_IMG_TAG.finditer(visible))
    html_located = [_img_attrs(tag.group()).get("src") for tag in tags] == \
        [attrs.get("src") for attrs in html_images]
    for index, attrs in enumerate(html_images):
        html_src = attrs.get("src")
        if html_src is None:
            continue
        if html_located:
            tag = tags[index]
            span = (start + tag.start(), start + tag.end())
            found.append(FoundImage("html", lines.line_of(span[0]), html_src.strip(),
                                    attrs.get("alt", "").strip(), None, span,
                                    attrs.get("width")))
        else:
            found.append(FoundImage("html", first + 1, html_src.strip(),
                                    attrs.get("alt", "").strip(), None, None,
                                    attrs.get("width")))
    return found


# -- raw-text scanning -----------------------------------------------------------------------------

def _img_attrs(tag: str) -> dict[str, str]:
    found = [t for t in markdown.html_tags(tag) if t.name == "img"]
    return dict(found[0].attrs) if found else {}


def _blank_code_spans(text: str) -> str:
    """Return `text` with code spans overwritten by spaces, keeping every offset."""
    chars = list(text)
    pos = 0
    while True:
        opening = re.compile(r"(?<!`)(`+)(?!`)").search(text, pos)
        if opening is None:
            break
        if _escaped(text, opening.start()):
            pos = opening.end()
            continue
        run = opening.group(1)
        closing = re.compile(r"(?<!`)" + run + r"(?!`)").search(text, opening.end())
        if closing is None:
            pos = opening.end()
            continue
        for index in range(opening.start(), closing.end()):
            if chars[index] not in "\r\n":
                chars[index] = " "
        pos = closing.end()
    return "".join(chars)


def _escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and text[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _matching_bracket(text: str, index: int) -> int | None:
    """Return the index of the "]" that closes the "[" at `index`."""
    depth = 0
    pos = index
    while pos < len(text):
        char = text[pos]
        if char == "\\":
            pos += 2
            continue
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return pos
        pos += 1
    return None


def _destination(text: str, index: int) -> tuple[str, int] | None:
    """Read `(dest "title")` starting at the "(" at `index`; return (dest, end offset)."""
    pos = index + 1
    pos = _skip_space(text, pos)
    if pos < len(text) and text[pos] == "<":
        close = pos + 1
        while close < len(text) and text[close] not in ">\n\r":
            close += 2 if text[close] == "\\" else 1
        if close >= len(text) or text[close] != ">":
            return None
        dest = text[pos + 1:close]
        pos = close + 1
    else:
        begin, depth = pos, 0
        while pos < len(text) and not text[pos].isspace():
            char = text[pos]
            if char == "\\":
                pos += 2
                continue
            if char == "(":
                depth += 1
            elif char == ")":
                if depth == 0:
                    break
                depth -= 1
            pos += 1
        dest = text[begin:pos]
    pos = _skip_space(text, pos)
    if pos < len(text) and text[pos] in "\"'(":
        closer = ")" if text[pos] == "(" else text[pos]
        pos += 1
        while pos < len(text) and text[pos] != closer:
            pos += 2 if text[pos] == "\\" else 1
        pos += 1
        pos = _skip_space(text, pos)
    if pos >= len(text) or text[pos] != ")":
        return None
    return dest, pos + 1


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _normal_link(dest: str) -> str:
    return markdown.parser().normalizeLink(unescapeAll(dest))


def _reference(label: str, env: dict[str, Any]) -> str | None:
    entry = env.get("references", {}).get(normalizeReference(label))
    return entry["href"] if entry else None


def _scan_markdown_images(text: str, env: dict[str, Any]) -> list[tuple[int, int, str]]:
    """Find `![alt](dest)`, `![alt][ref]`, `![alt][]` and `![alt]` images in raw text."""
    found: list[tuple[int, int, str]] = []
    pos = 0
    while True:
        start = text.find("![", pos)
        if start < 0:
            return found
        if _escaped(text, start):
            pos = start + 2
            continue
        alt_end = _matching_bracket(text, start + 1)
        if alt_end is None:
            pos = start + 2
            continue
        after = alt_end + 1
        if text.startswith("(", after):
            parsed = _destination(text, after)
            if parsed is not None:
                found.append((start, parsed[1], _normal_link(parsed[0])))
                pos = parsed[1]
                continue
        label_source = text[start + 2:alt_end]
        end = after
        if text.startswith("[", after):
            label_end = _matching_bracket(text, after)
            if label_end is not None:
                if label_end > after + 1:
                    label_source = text[after + 1:label_end]
                end = label_end + 1
        href = _reference(label_source, env)
        if href is not None:
            found.append((start, end, href))
            pos = end
        else:
            pos = start + 2


def _extend_to_link(text: str, image_start: int, image_end: int, offset: int, env: dict[str, Any]
                    ) -> tuple[int, int] | None:
    """Return the span of `[<image>](href)` around an image, or None if it is not there."""
    if image_start == 0 or text[image_start - 1] != "[" or not text.startswith("]", image_end):
        return None
    after = image_end + 1
    if text.startswith("(", after):
        parsed = _destination(text, after)
        if parsed is not None:
            return offset + image_start - 1, offset + parsed[1]
        return None
    if text.startswith("[", after):
        label_end = _matching_bracket(text, after)
        if label_end is not None and _reference(text[after + 1:label_end] or "", env):
            return offset + image_start - 1, offset + label_end + 1
    return None


def plain_alt(alt: str) -> str:
    """Return alt text on one line, entities decoded."""
    return " ".join(html.unescape(alt).split())
