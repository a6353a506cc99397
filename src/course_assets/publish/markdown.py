"""The one Markdown set-up: parse chapters as GitHub shows them, and find links, images, titles.

Every part of the tool that reads a chapter (lint, decks, the preview, migrate) parses it here,
so that they all agree on what is a link, an image, a heading or raw HTML.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html import escape
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    # Loaded when a chapter is first parsed: a build with nothing to do parses none, and
    # importing markdown-it costs it a fifth of its time.
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

# Elements whose URL attributes make a browser load something, and those attributes.
LOADING_ATTRIBUTES = {
    "img": ("src", "srcset"), "source": ("src", "srcset"), "video": ("src", "poster"),
    "audio": ("src",), "track": ("src",), "iframe": ("src",), "embed": ("src",),
    "object": ("data",), "script": ("src",), "link": ("href",), "input": ("src",),
}

# Elements that navigate the page away or load something by being there, with no script and no
# click (<meta http-equiv="refresh">, <base href>, <link rel="prefetch">, frames, plugins): every
# rewrite of a chapter's HTML (the decks, the preview) drops their tags.
NAVIGATING_TAGS = frozenset({
    "meta", "base", "link", "iframe", "frame", "frameset", "embed", "object", "applet",
    "portal", "fencedframe",
})


# What can start markup, a link, an HTML tag or an entity in the middle of a line (in link
# text, a table cell or a list item), or end a table cell.
_MARKDOWN_PUNCTUATION = frozenset("\\`*_[]<>!|&~")


def text(value: object) -> str:
    """Return `value` as Markdown text that shows as it is: no markup, link, HTML or new line.

    For text from file names (a chapter named `<img onerror=...>.md` or `[x](javascript:)`):
    each mark that could start markup mid-line is escaped, and control characters shown as
    `\\xNN` (a new line or tab as a space).
    """
    shown = []
    for char in str(value):
        if char in _MARKDOWN_PUNCTUATION:
            shown.append("\\" + char)
        elif ord(char) < 32 or ord(char) == 127:
            shown.append(" " if char in "\n\r\t" else f"\\\\x{ord(char):02x}")
        else:
            shown.append(char)
    return "".join(shown)


def link_target(path: str) -> str:
    """Return a relative path as a Markdown link destination: percent-encoded, never a scheme."""
    from urllib.parse import quote

    encoded = quote(path, safe="/-_.~")
    # A first segment with ':' would read as a scheme (javascript:); './' keeps it a path.
    return encoded if ":" not in encoded.split("/")[0] else f"./{encoded}"


@functools.cache
def parser() -> MarkdownIt:
    """Return the chapter parser: CommonMark with raw HTML, tables and strikethrough."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def parse(text: str, env: dict[str, object] | None = None) -> list[Token]:
    """Return the block tokens of a chapter."""
    return parser().parse(text, env if env is not None else {})


def render(tokens: list[Token]) -> str:
    """Return tokens as HTML, as GitHub would show them (raw HTML passed through)."""
    md = parser()
    return str(md.renderer.render(tokens, md.options, {}))


def is_external(target: str) -> bool:
    """Say whether a link or image target points off the course (a scheme, or `//host`)."""
    parts = urlsplit(target)
    return bool(parts.scheme) or target.startswith("//")


def plain_text(inline: Token) -> str:
    """Return the text of an inline token, without its Markdown."""
    parts = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts).strip()


def title(tokens: list[Token]) -> str | None:
    """Return the text of the first `#` heading, or None when there is none."""
    for index, token in enumerate(tokens[:-1]):
        if token.type == "heading_open" and token.tag == "h1":
            return plain_text(tokens[index + 1]) or None
    return None


# -- raw HTML inside Markdown ---------------------------------------------------------------------

@dataclass(frozen=True)
class HtmlTag:
    """A start tag in an HTML fragment: its name, attributes and 1-based line in the fragment."""

    name: str
    attrs: dict[str, str] = field(default_factory=dict)
    line: int = 1


class _TagReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[HtmlTag] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        self.tags.append(HtmlTag(tag, values, self.getpos()[0]))

    handle_startendtag = handle_starttag


def html_tags(fragment: str) -> list[HtmlTag]:
    """Return every start tag of an HTML fragment, in order."""
    reader = _TagReader()
    reader.feed(fragment)
    reader.close()
    return reader.tags


def srcset_urls(value: str) -> list[str]:
    """Return the URLs of a `srcset` attribute (each candidate's first word)."""
    return [candidate.split()[0] for candidate in value.split(",") if candidate.strip()]


Attributes = list[tuple[str, str | None]]
# Returns a start tag's new attributes, or None to drop the tag (its end tag and content stay).
TagRewrite = Callable[[str, Attributes], Attributes | None]


class _Rewriter(HTMLParser):
    """Copy an HTML fragment, passing each start tag's attributes through a rewrite."""

    def __init__(self, rewrite: TagRewrite) -> None:
        super().__init__(convert_charrefs=False)
        self._rewrite = rewrite
        self.out: list[str] = []

    def _tag(self, tag: str, attrs: Attributes, closing: str) -> None:
        if tag in NAVIGATING_TAGS:
            return
        kept = self._rewrite(tag, attrs)
        if kept is None:
            return
        self.out.append(start_tag(tag, kept, closing))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag(tag, attrs, "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag(tag, attrs, " /")

    def handle_endtag(self, tag: str) -> None:
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.out.append(data)

    def handle_entityref(self, name: str) -> None:
        self.out.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.out.append(f"&#{name};")

    def handle_comment(self, data: str) -> None:
        self.out.append(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self.out.append(f"<!{decl}>")

    def handle_pi(self, data: str) -> None:
        self.out.append(f"<?{data}>")

    def unknown_decl(self, data: str) -> None:
        self.out.append(f"<![{data}]>")


def start_tag(name: str, attrs: Iterable[tuple[str, str | None]], closing: str = "") -> str:
    """Write a start tag with its attributes escaped; `closing` " /" makes it self-closing."""
    rendered = "".join(f" {n}" if v is None else f' {n}="{escape(v)}"' for n, v in attrs)
    return f"<{name}{rendered}{closing}>"


def rewrite_html(fragment: str, rewrite: TagRewrite) -> str:
    """Return an HTML fragment with each start tag's attributes passed through `rewrite`.

    Tags that navigate or load by themselves (NAVIGATING_TAGS) are dropped first.
    """
    rewriter = _Rewriter(rewrite)
    rewriter.feed(fragment)
    rewriter.close()
    return "".join(rewriter.out)


# -- links and images ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reference:
    """A link or image in a Markdown file: what it points at and on which line."""

    kind: str  # "image" or "link"
    target: str
    line: int
    alt: str = ""
    # The HTML element it came from ("img", "source", "a"), "srcset" for a candidate of an
    # <img srcset>, or "" for Markdown syntax.
    element: str = ""


def references(text: str) -> list[Reference]:
    """Return every link and image in `text`, Markdown syntax and HTML tags alike."""
    return list(references_in(parse(text)))


def references_in(tokens: Iterable[Token]) -> Iterable[Reference]:
    """Yield every link and image of parsed tokens, with its line."""
    for token in tokens:
        first_line = token.map[0] + 1 if token.map else 1
        if token.type == "html_block":
            yield from _html_references(token.content, first_line)
        elif token.type == "inline" and token.children:
            line = first_line
            for child in token.children:
                if child.type in ("softbreak", "hardbreak"):
                    line += 1
                elif child.type == "image":
                    yield Reference("image", str(child.attrs.get("src", "")), line,
                                    child.content)
                elif child.type == "link_open":
                    yield Reference("link", str(child.attrs.get("href", "")), line)
                elif child.type == "html_inline":
                    yield from _html_references(child.content, line)


def _html_references(fragment: str, first_line: int) -> Iterable[Reference]:
    for tag in html_tags(fragment):
        line = first_line + tag.line - 1
        if tag.name == "img" and tag.attrs.get("src"):
            yield Reference("image", tag.attrs["src"], line, tag.attrs.get("alt", ""), "img")
        if tag.name == "img" and tag.attrs.get("srcset"):
            # A browser at 2x loads a srcset candidate instead of the src: it is an image too.
            for url in srcset_urls(tag.attrs["srcset"]):
                yield Reference("image", url, line, element="srcset")
        if tag.name == "source" and tag.attrs.get("srcset"):
            for url in srcset_urls(tag.attrs["srcset"]):
                yield Reference("image", url, line, element="source")
        elif tag.name == "a" and tag.attrs.get("href"):
            yield Reference("link", tag.attrs["href"], line, element="a")


def images_of_block(tokens: list[Token]) -> list[Reference]:
    """Return the images one block shows: `<img>` and `![..](..)`, not `<source>` or srcset."""
    return [ref for ref in references_in(tokens)
            if ref.kind == "image" and ref.element not in ("source", "srcset")]
