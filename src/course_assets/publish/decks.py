"""Make slide decks from a built chapter: a self-contained HTML deck and a Marp Markdown deck.

A deck has a title slide (the chapter's `#` heading and what precedes its first `##`), then one
slide per `##` section. Both decks are made from the built chapter, so they show exactly what
readers see, figures included.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit, urlunsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token

from course_assets.lint import is_external

TEMPLATES = Path(__file__).parent.parent / "templates" / "slides"
SLIDE_WIDTH, SLIDE_HEIGHT = 1280, 720
# Room a Marp slide (default theme) leaves for figures under its heading, in CSS pixels.
MARP_FIGURE_BOX = (1120, 470)
MARP_FIGURE_BOX_WITH_TEXT = (1120, 300)
# Left as they are in an SVG data URI: never special there, nor in a double-quoted attribute.
SVG_URI_SAFE = "/+=:;,.-_ ()'!*@$~"
# Everything else is percent-encoded; a regex finds the few such bytes at C speed, where
# urllib's quote() walks all of them in Python (a tenth of a second per large figure).
SVG_URI_UNSAFE = re.compile(rb"[^A-Za-z0-9" + re.escape(SVG_URI_SAFE.encode()) + rb"]")
IMAGE_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg",
               ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp"}

# Reads an output of the build (a path relative to the course root); None when there is none.
Reader = Callable[[str], bytes | None]


@dataclass(frozen=True)
class Decks:
    """A chapter's two decks, ready to write."""

    html: bytes
    marp: bytes


@dataclass(frozen=True)
class _Block:
    """One top-level Markdown block: its tokens, and whether it is a figure."""

    tokens: list[Token]
    figure: bool


@dataclass(frozen=True)
class _Slide:
    heading: str | None
    blocks: list[_Block]

    @property
    def has_text(self) -> bool:
        return any(not b.figure and b.tokens[0].type != "heading_open" for b in self.blocks)


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def build_decks(chapter_text: str, chapter_path: str, html_path: str, marp_path: str,
                read: Reader) -> Decks:
    """Return the HTML and Marp decks of the built chapter at `chapter_path` (course-relative)."""
    parser = _parser()
    tokens = parser.parse(chapter_text)
    slides = _slides(tokens)
    title = _deck_title(slides, chapter_path)
    lines = chapter_text.splitlines()
    html = _html_deck(parser, slides, title, chapter_path, html_path, read)
    marp = _marp_deck(slides, lines, title, chapter_path, marp_path, read)
    return Decks(html.encode("utf-8"), marp.encode("utf-8"))


# -- splitting a chapter into slides ------------------------------------------------------------

def _blocks(tokens: list[Token]) -> list[_Block]:
    blocks, depth, current = [], 0, []
    for token in tokens:
        current.append(token)
        depth += token.nesting
        if depth == 0:
            blocks.append(_Block(current, _is_figure(current)))
            current = []
    return blocks


def _is_figure(tokens: list[Token]) -> bool:
    """Say whether a block shows nothing but images (a figure snippet, or `![..](..)` alone)."""
    first = tokens[0]
    if first.type == "html_block":
        return bool(_HtmlImages.find(first.content))
    if first.type == "paragraph_open" and len(tokens) == 3 and tokens[1].children:
        children = [c for c in tokens[1].children
                    if not (c.type in ("softbreak", "hardbreak")
                            or c.type == "text" and not c.content.strip())]
        return bool(children) and all(c.type == "image" for c in children)
    return False


def _slides(tokens: list[Token]) -> list[_Slide]:
    slides: list[_Slide] = [_Slide(None, [])]
    for block in _blocks(tokens):
        first = block.tokens[0]
        if first.type == "heading_open" and first.tag == "h2":
            slides.append(_Slide(_plain(block.tokens[1]), []))
        if first.type == "hr":
            continue  # slides are made by `##`; a rule inside a section is no slide break
        slides[-1].blocks.append(block)
    if not slides[0].blocks:
        slides.pop(0)
    return slides or [_Slide(None, [])]


def _plain(inline: Token) -> str:
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


def _deck_title(slides: list[_Slide], chapter_path: str) -> str:
    for slide in slides[:1]:
        for block in slide.blocks:
            if block.tokens[0].type == "heading_open" and block.tokens[0].tag == "h1":
                return _plain(block.tokens[1])
    return PurePosixPath(chapter_path).stem


# -- paths: what the chapter pointed at, seen from the deck -------------------------------------

def _rebase(target: str, chapter_path: str, deck_path: str) -> str:
    """Return a relative `target` of the built chapter as seen from the deck."""
    if not target or is_external(target) or target.startswith(("#", "/")):
        return target
    parts = urlsplit(target)
    if not parts.path:
        return target
    absolute = posixpath.normpath(posixpath.join(posixpath.dirname(chapter_path), parts.path))
    moved = posixpath.relpath(absolute, posixpath.dirname(deck_path) or ".")
    return urlunsplit(("", "", moved, parts.query, parts.fragment))


def _resolve(target: str, chapter_path: str) -> str | None:
    """Return the course-relative path a local image `target` of the chapter names."""
    if not target or is_external(target) or target.startswith(("#", "/", "data:")):
        return None
    path = urlsplit(target).path
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(chapter_path), path))
    return None if resolved.startswith("../") or resolved == ".." else resolved


def _data_uri(target: str, chapter_path: str, read: Reader) -> str | None:
    resolved = _resolve(target, chapter_path)
    kind = IMAGE_TYPES.get(PurePosixPath(resolved or "").suffix.lower())
    if resolved is None or kind is None:
        return None
    data = read(resolved)
    if data is None:
        return None
    if kind == "image/svg+xml":
        # Mostly base64 icon data already, which needs no escaping: a quarter smaller than
        # base64 of base64.
        escaped = SVG_URI_UNSAFE.sub(lambda m: b"%%%02X" % m[0][0], data)
        return "data:image/svg+xml," + escaped.decode("ascii")
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


# -- the HTML deck ------------------------------------------------------------------------------

class _HtmlImages(HTMLParser):
    """Collect the `src` of every <img> in an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "img" and values.get("src"):
            self.found.append((values["src"], values.get("alt") or ""))

    handle_startendtag = handle_starttag

    @classmethod
    def find(cls, html: str) -> list[tuple[str, str]]:
        collector = cls()
        collector.feed(html)
        collector.close()
        return collector.found


# Elements whose URL attributes make a browser load something (links only navigate).
_LOADING = {"img": ("src", "srcset"), "source": ("src", "srcset"), "video": ("src", "poster"),
            "audio": ("src",), "track": ("src",), "iframe": ("src",), "embed": ("src",),
            "object": ("data",), "script": ("src",), "link": ("href",), "input": ("src",)}


class _HtmlRewriter(HTMLParser):
    """Copy an HTML fragment, inlining local images and pointing relative links at the chapter."""

    def __init__(self, chapter_path: str, deck_path: str, read: Reader) -> None:
        super().__init__(convert_charrefs=False)
        self._chapter, self._deck, self._read = chapter_path, deck_path, read
        self.out: list[str] = []

    def _tag(self, tag: str, attrs: list[tuple[str, str | None]], closing: str) -> None:
        if tag == "source" and "prefers-color-scheme" in (dict(attrs).get("media") or ""):
            return  # the deck is light on screen and on paper alike
        kept = []
        for name, value in attrs:
            if tag == "img" and name == "class":
                continue  # replaced by ours, below, with the author's classes kept
            if value is not None and name in _LOADING.get(tag, ()):
                value = self._inline(value, srcset=name == "srcset")
                if value is None:
                    continue
            elif value is not None and tag == "a" and name == "href":
                value = _rebase(value, self._chapter, self._deck)
            kept.append((name, value))
        if tag == "img":
            classes = (dict(attrs).get("class") or "").split()
            kept.append(("class", " ".join(["deck-image", *classes])))
        rendered = "".join(f" {n}" if v is None else f' {n}="{escape(v)}"' for n, v in kept)
        self.out.append(f"<{tag}{rendered}{closing}>")

    def _inline(self, value: str, srcset: bool) -> str | None:
        if srcset:
            value = value.split(",")[0].strip().split()[0] if value.strip() else ""
        return _data_uri(value, self._chapter, self._read) if value else None

    def handle_starttag(self, tag, attrs):
        self._tag(tag, attrs, "")

    def handle_startendtag(self, tag, attrs):
        self._tag(tag, attrs, " /")

    def handle_endtag(self, tag):
        self.out.append(f"</{tag}>")

    def handle_data(self, data):
        self.out.append(data)

    def handle_entityref(self, name):
        self.out.append(f"&{name};")

    def handle_charref(self, name):
        self.out.append(f"&#{name};")

    def handle_comment(self, data):
        self.out.append(f"<!--{data}-->")

    def handle_decl(self, decl):
        self.out.append(f"<!{decl}>")

    def handle_pi(self, data):
        self.out.append(f"<?{data}>")

    def unknown_decl(self, data):
        self.out.append(f"<![{data}]>")


def _rewrite_html(html: str, chapter_path: str, deck_path: str, read: Reader) -> str:
    rewriter = _HtmlRewriter(chapter_path, deck_path, read)
    rewriter.feed(html)
    rewriter.close()
    return "".join(rewriter.out)


def _render_block(parser: MarkdownIt, block: _Block, chapter_path: str, deck_path: str,
                  read: Reader) -> str:
    html = parser.renderer.render(block.tokens, parser.options, {})
    # Markdown and raw HTML (figure snippets among it) alike: images inlined, links rebased,
    # nothing left that would load.
    html = _rewrite_html(html, chapter_path, deck_path, read)
    return f'<div class="deck-figure">{html}</div>\n' if block.figure else html


def _html_deck(parser: MarkdownIt, slides: list[_Slide], title: str, chapter_path: str,
               deck_path: str, read: Reader) -> str:
    from markupsafe import Markup

    css = (TEMPLATES / "deck.css").read_text(encoding="utf-8")
    script = (TEMPLATES / "deck.js").read_text(encoding="utf-8")
    rendered = []
    for number, slide in enumerate(slides, start=1):
        body = "".join(_render_block(parser, b, chapter_path, deck_path, read)
                       for b in slide.blocks)
        kinds = ["slide"]
        if slide.heading is None:
            kinds.append("slide-title")
        if any(b.figure for b in slide.blocks):
            kinds.append("has-figure")
        if slide.has_text:
            kinds.append("has-text")
        rendered.append({"number": number, "classes": " ".join(kinds), "body": Markup(body),
                         "label": slide.heading or title})
    # The page may run our script and nothing else, and load nothing at all.
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    policy = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
              f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'")
    return deck_template().render(title=title, slides=rendered, count=len(rendered), css=Markup(css),
                           script=Markup(script), policy=policy)


@functools.cache
def deck_template():
    """Return the compiled HTML deck template (compiled once per process, not once per deck)."""
    import jinja2

    environment = jinja2.Environment(autoescape=True, keep_trailing_newline=True,
                                     undefined=jinja2.StrictUndefined)
    return environment.from_string((TEMPLATES / "deck.html").read_text(encoding="utf-8"))


# -- the Marp deck ------------------------------------------------------------------------------

def _marp_deck(slides: list[_Slide], lines: list[str], title: str, chapter_path: str,
               deck_path: str, read: Reader) -> str:
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
        figures = sum(len(_figure_images(b)) for b in slide.blocks if b.figure)
        box = MARP_FIGURE_BOX_WITH_TEXT if slide.has_text else MARP_FIGURE_BOX
        if figures > 1:
            box = (box[0], max(120, box[1] // figures))
        parts = ["<!-- _class: lead -->"] if slide.heading is None else []
        for block in slide.blocks:
            parts.append(_marp_block(block, lines, chapter_path, deck_path, read, box))
        pages.append("\n\n".join(part for part in parts if part))
    return "\n".join(front) + "\n\n" + "\n\n---\n\n".join(pages) + "\n"


def _figure_images(block: _Block) -> list[tuple[str, str]]:
    first = block.tokens[0]
    if first.type == "html_block":
        return _HtmlImages.find(first.content)
    return [(str(c.attrs.get("src", "")), c.content) for c in block.tokens[1].children or []
            if c.type == "image"]


def _marp_block(block: _Block, lines: list[str], chapter_path: str, deck_path: str,
                read: Reader, box: tuple[int, int]) -> str:
    first = block.tokens[0]
    if block.figure:
        images = []
        for src, alt in _figure_images(block):
            size = _fit(_image_size(src, chapter_path, read), box)
            keywords = f"w:{size[0]}px h:{size[1]}px " if size else ""
            alt_text = _marp_alt(alt)
            images.append(f"![{keywords}{alt_text}]({_rebase(src, chapter_path, deck_path)})")
        return "\n".join(images)
    if first.type == "heading_open":
        # ATX headings always: a setext underline of dashes would read as a slide break.
        level = int(first.tag[1:])
        return "#" * level + " " + block.tokens[1].content.strip()
    start, end = first.map or (0, 0)
    text = "\n".join(lines[start:end]).rstrip()
    return _rebase_markdown(text, block, chapter_path, deck_path)


# Words of an image's alt text that Marp reads as options (size, CSS filter, background).
MARP_KEYWORD = re.compile(
    r"^(?:(?:\d*\.)?\d+%|w(?:idth)?:.*|h(?:eight)?:.*|bg|(?:blur|brightness|contrast|drop-shadow"
    r"|grayscale|hue-rotate|invert|opacity|saturate|sepia)(?::.*)?)$")
WORD_JOINER = "\u2060"


def _marp_alt(alt: str) -> str:
    """Return alt text Marp shows as written: no brackets, no word it would take as an option."""
    words = re.sub(r"[\[\]\\]", "", alt).split()
    # An invisible joiner in front keeps the word for readers but stops Marp matching it.
    return " ".join(WORD_JOINER + w if MARP_KEYWORD.match(w) else w for w in words)


def _rebase_markdown(text: str, block: _Block, chapter_path: str, deck_path: str) -> str:
    """Point the relative links and images of verbatim Markdown at their targets from the deck."""
    targets = set()
    for token in block.tokens:
        for child in token.children or []:
            if child.type == "link_open":
                targets.add(str(child.attrs.get("href", "")))
            elif child.type == "image":
                targets.add(str(child.attrs.get("src", "")))
    for target in sorted(targets, key=len, reverse=True):
        moved = _rebase(target, chapter_path, deck_path)
        if moved != target:
            text = re.sub(r"\]\(\s*<?" + re.escape(target) + r"(?=[>\s)])",
                          lambda m: m.group(0)[: -len(target)] + moved, text)
    return text


def _image_size(src: str, chapter_path: str, read: Reader) -> tuple[int, int] | None:
    resolved = _resolve(src, chapter_path)
    data = read(resolved) if resolved else None
    if not data:
        return None
    if resolved.endswith(".svg"):
        from course_assets.render.raster import svg_size

        try:
            return svg_size(data)
        except Exception:  # noqa: BLE001 - an SVG without a size is shown at its own size
            return None
    try:
        import io

        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:  # noqa: BLE001 - an image Pillow cannot read is shown at its own size
        return None


def _fit(size: tuple[int, int] | None, box: tuple[int, int]) -> tuple[int, int] | None:
    """Scale `size` to fit `box`, at most twice its own size, keeping its aspect."""
    if size is None or not size[0] or not size[1]:
        return None
    scale = min(box[0] / size[0], box[1] / size[1], 2.0)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))
