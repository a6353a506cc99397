"""Render the preview's pages: the index of chapters and figures, and each chapter as HTML."""

from __future__ import annotations

import html
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit

from course_assets.preview.files import versioned

if TYPE_CHECKING:
    from markdown_it.token import Token

ASSETS = "/_preview"
# The course's figure scripts, served read-only as text (the gallery links each one).
SCRIPTS = f"{ASSETS}/scripts"


@dataclass(frozen=True)
class Shown:
    """One problem as the findings panel shows it: where (may be empty), what, and its file."""

    location: str
    message: str
    error: bool
    # The file it is about, as the course shows paths ("diagrams/x.py"); empty for none.
    path: str = ""


@dataclass(frozen=True)
class Findings:
    """What one page's findings panel lists: the problems of the page's own files."""

    shown: tuple[Shown, ...]
    # Errors of other files: the build failed, though not on this page.
    errors_elsewhere: int = 0
    # The files whose problems this page lists ("diagrams/x.py"); None for every file.
    sources: tuple[str, ...] | None = None

    @classmethod
    def for_page(cls, every: list[Shown], sources: tuple[str, ...] | None) -> Findings:
        """Keep the problems of `sources` (and those of no file); count other files' errors."""
        if sources is None:
            return cls(tuple(every))
        mine = tuple(s for s in every if not s.path or s.path in sources)
        elsewhere = sum(1 for s in every if s.error and s not in mine)
        return cls(mine, elsewhere, sources)


@dataclass(frozen=True)
class Entry:
    """A built chapter or figure as the index lists it."""

    name: str
    title: str
    url: str
    # A chapter's slide decks, as (label, URL).
    decks: tuple[tuple[str, str], ...] = ()
    # A figure's dark variant, shown when the reader's theme is dark.
    dark_url: str = ""


def page(*, title: str, crumb: str, body: str, version: str, findings: Findings,
         kind: str) -> str:
    """Return a whole preview page around `body`, with the panel of the page's `findings`."""
    trail = ""
    if crumb:
        trail = (' <span aria-hidden="true">/</span> '
                 f'<span id="preview-crumb">{html.escape(crumb)}</span>')
    return f"""<!doctype html>
<html lang="en" data-version="{html.escape(version)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{html.escape(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{ASSETS}/preview.css">
<script src="{ASSETS}/preview.js" defer></script>
</head>
<body>
<header class="preview-bar">
<nav><a href="/">Course preview</a>{trail}</nav>
<span id="preview-status" role="status"></span>
</header>
{findings_panel(findings)}
<main class="preview-{kind} markdown-body">
{body}
</main>
</body>
</html>
"""


def findings_panel(findings: Findings) -> str:
    """Return the page's findings as a panel in the page's flow: folded unless the build failed.

    preview.js builds the same panel from each build's state; keep the two alike.
    """
    errors = sum(1 for s in findings.shown if s.error) + findings.errors_elsewhere
    warnings = sum(1 for s in findings.shown if not s.error)
    items = "\n".join(
        f'<li class="preview-{"error" if s.error else "warning"}">'
        f'<code class="location">{html.escape(s.location)}</code>'
        f'{": " if s.location else ""}<span class="message">{html.escape(s.message)}</span></li>'
        for s in findings.shown
    )
    sources = ("" if findings.sources is None else
               f" data-sources='{html.escape(json.dumps(list(findings.sources)))}'")
    state = " open" if errors else ""
    hidden = "" if errors or warnings else " hidden"
    note = ('<p class="preview-findings-note">The preview below is the last good build. Fix '
            "the error and save; this panel folds when the build passes.</p>\n"
            if errors else "")
    elsewhere = (f'<p class="preview-elsewhere">{_count(findings.errors_elsewhere, "error")} '
                 'in other files: <a href="/">the index</a> lists them.</p>\n'
                 if findings.errors_elsewhere else "")
    return (f'<details id="preview-findings"{sources}{state}{hidden}>\n'
            f'<summary id="preview-findings-title">'
            f"{html.escape(summary(errors, warnings, findings.sources is None))}"
            f"</summary>\n{note}<ul>\n{items}\n</ul>\n{elsewhere}</details>")


def summary(errors: int, warnings: int, whole_course: bool = False) -> str:
    """Return the panel's one-line summary; the word "error" only where there are errors."""
    where = "in the course" if whole_course else "on this page"
    lint = f"{_count(warnings, 'figure lint warning')} {where}"
    if errors:
        return f"The build failed: {_count(errors, 'error')}" + (f"; {lint}" if warnings else "")
    return lint[0].upper() + lint[1:]


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}{'' if number == 1 else 's'}"


def chapter_body(markdown_text: str, build_dir: Path, page_url: str,
                 scripts_dir: Path | None = None) -> str:
    """Return a built chapter's Markdown as HTML, its figures' URLs pinned to their bytes.

    Links to a figure script in `scripts_dir` (the gallery's "Source" links) open it as text.
    """
    from course_assets.publish import markdown  # markdown-it on first chapter, not at start-up

    tokens = markdown.parse(markdown_text)
    slugs: dict[str, int] = {}
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and index + 1 < len(tokens):
            token.attrSet("id", _unique(_slug(markdown.plain_text(tokens[index + 1])), slugs))
        elif token.type == "html_block":
            token.content = _pin_media(token.content, build_dir, page_url, scripts_dir)
        for child in token.children or ():
            _rewrite_inline(child, build_dir, page_url, scripts_dir)
    return markdown.render(tokens)


def _rewrite_inline(token: Token, build_dir: Path, page_url: str,
                    scripts_dir: Path | None) -> None:
    if token.type == "image":
        token.attrSet("src", versioned(build_dir, page_url, str(token.attrGet("src") or "")))
    elif token.type == "html_inline":
        token.content = _pin_media(token.content, build_dir, page_url, scripts_dir)
    elif token.type == "link_open":
        token.attrSet("href", _preview_link(str(token.attrGet("href") or ""), build_dir,
                                            page_url, scripts_dir))


def _preview_link(href: str, build_dir: Path, page_url: str, scripts_dir: Path | None) -> str:
    split = urlsplit(href)
    if split.scheme or split.netloc or not split.path:
        return href
    script = _script_linked(split.path, build_dir, page_url, scripts_dir)
    if script is not None:
        return f"{SCRIPTS}/{quote(script)}"
    # Chapters link to each other's .md files; in the preview those are the .html pages.
    if not split.path.endswith(".md"):
        return href
    return split._replace(path=split.path[:-3] + ".html").geturl()


def _script_linked(link: str, build_dir: Path, page_url: str,
                   scripts_dir: Path | None) -> str | None:
    """Return the name of the figure script a relative `link` of the page reaches, if any.

    The link is relative to the built file on disk, so it may climb out of build/ (the
    gallery's `../../diagrams/x.py`), where the URL of the page cannot follow it.
    """
    if scripts_dir is None or link.startswith("/") or not link.endswith(".py"):
        return None
    page = PurePosixPath(unquote(page_url.partition("?")[0]))
    on_disk = build_dir.joinpath(*page.parent.parts[1:], *PurePosixPath(unquote(link)).parts)
    target = Path(os.path.normpath(on_disk))
    return target.name if target.parent == Path(os.path.normpath(scripts_dir)) else None


def _pin_media(fragment: str, build_dir: Path, page_url: str,
               scripts_dir: Path | None = None) -> str:
    """Add each local image's content hash to its URL in raw HTML (img src, source srcset);
    point links to built Markdown at their preview pages."""
    from course_assets.publish import markdown

    def rewrite(tag: str, attrs: markdown.Attributes) -> markdown.Attributes:
        if tag == "a":  # a figure's outline link, say: its preview page, not raw Markdown
            return [(name, _preview_link(value, build_dir, page_url, scripts_dir)
                     if name == "href" and value else value)
                    for name, value in attrs]
        if tag not in ("img", "source"):
            return attrs
        pinned: markdown.Attributes = []
        for name, value in attrs:
            if value is not None and name == "srcset":
                value = ", ".join(_pin_candidate(c, build_dir, page_url)
                                  for c in value.split(","))
            elif value is not None and name == "src":
                value = versioned(build_dir, page_url, value)
            pinned.append((name, value))
        return pinned

    return markdown.rewrite_html(fragment, rewrite)


def _pin_candidate(candidate: str, build_dir: Path, page_url: str) -> str:
    url, _, descriptor = candidate.strip().partition(" ")
    pinned = versioned(build_dir, page_url, url)
    return f"{pinned} {descriptor.strip()}" if descriptor.strip() else pinned


def _slug(text: str) -> str:
    # GitHub's anchors: lower case, punctuation dropped, spaces become hyphens.
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-") or "section"


def _unique(slug: str, seen: dict[str, int]) -> str:
    count = seen.get(slug, 0)
    seen[slug] = count + 1
    return slug if count == 0 else f"{slug}-{count}"


def chapter_title(markdown_text: str, fallback: str) -> str:
    """Return a chapter's first top-level heading, or `fallback` when it has none."""
    from course_assets.publish import markdown

    return markdown.title(markdown.parse(markdown_text)) or fallback


def index_body(course: str, chapters: list[Entry], figures: list[Entry], build_dir: Path,
               gallery_url: str | None = None) -> str:
    """Return the index: every built chapter with its decks, the gallery, then every figure."""
    parts = [f"<h1>{html.escape(course)}</h1>"]
    parts.append("<h2>Chapters</h2>")
    if chapters:
        parts.append('<ul class="preview-chapters">')
        for chapter in chapters:
            decks = "".join(f' <a class="preview-deck" href="{html.escape(url)}">'
                            f'{html.escape(label)}</a>' for label, url in chapter.decks)
            parts.append(f'<li><a href="{html.escape(chapter.url)}">{html.escape(chapter.title)}'
                         f'</a> <span class="preview-name">{html.escape(chapter.name)}</span>'
                         f'{decks}</li>')
        parts.append("</ul>")
    else:
        parts.append('<p class="preview-empty">No chapter is built yet.</p>')
    parts.append("<h2>Figures</h2>")
    if gallery_url is not None:
        parts.append(f'<p><a class="preview-gallery" href="{html.escape(gallery_url)}">The '
                     "gallery</a>: every figure with its description, files and chapters.</p>")
    if figures:
        parts.append('<ul class="preview-figures">')
        for figure in figures:
            src = html.escape(versioned(build_dir, "/", figure.url))
            image = f'<img src="{src}" alt="" loading="lazy">'
            if figure.dark_url:
                dark = html.escape(versioned(build_dir, "/", figure.dark_url))
                image = (f'<picture><source media="(prefers-color-scheme: dark)" '
                         f'srcset="{dark}">{image}</picture>')
            parts.append(
                f'<li><a href="{html.escape(figure.url)}">{image}'
                f'</a><span class="preview-figure-title">{html.escape(figure.title)}</span> '
                f'<span class="preview-name">{html.escape(figure.name)}</span></li>'
            )
        parts.append("</ul>")
    else:
        parts.append('<p class="preview-empty">No figure is built yet.</p>')
    return "\n".join(parts)


def not_found_body(url_path: str) -> str:
    """Return the body of the page for a URL that names nothing in the build."""
    return (f"<h1>Not found</h1>\n<p>Nothing in the build answers to "
            f"<code>{html.escape(url_path)}</code>. This page reloads by itself if a build "
            f"creates it.</p>\n<p><a href=\"/\">Back to the index</a></p>")


def url_for(build_dir: Path, path: Path) -> str:
    """Return the URL path of a file under the build folder."""
    return "/" + quote(path.relative_to(build_dir).as_posix())
