"""Find the links and images of a Markdown chapter, and the ones a course must not have."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from markdown_it import MarkdownIt

from course_assets.errors import Problem, Severity


@dataclass(frozen=True)
class Reference:
    """A link or image in a Markdown file: what it points at and on which line."""

    kind: str  # "image" or "link"
    target: str
    line: int


def references(text: str) -> list[Reference]:
    """Return every link and image in `text`, Markdown syntax and HTML tags alike."""
    found: list[Reference] = []
    parser = MarkdownIt("commonmark")
    for token in parser.parse(text):
        first_line = token.map[0] + 1 if token.map else 1
        if token.type == "html_block":
            found += _html_references(token.content, first_line)
        elif token.type == "inline" and token.children:
            line = first_line
            for child in token.children:
                if child.type in ("softbreak", "hardbreak"):
                    line += 1
                elif child.type == "image":
                    found.append(Reference("image", str(child.attrs.get("src", "")), line))
                elif child.type == "link_open":
                    found.append(Reference("link", str(child.attrs.get("href", "")), line))
                elif child.type == "html_inline":
                    found += _html_references(child.content, line)
    return found


class _TagCollector(HTMLParser):
    def __init__(self, first_line: int) -> None:
        super().__init__(convert_charrefs=True)
        self.first_line = first_line
        self.found: list[Reference] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        line = self.first_line + self.getpos()[0] - 1
        if tag == "img" and values.get("src"):
            self.found.append(Reference("image", values["src"], line))
        elif tag == "source" and values.get("srcset"):
            for candidate in values["srcset"].split(","):
                if candidate.strip():
                    self.found.append(Reference("image", candidate.split()[0], line))
        elif tag == "a" and values.get("href"):
            self.found.append(Reference("link", values["href"], line))

    handle_startendtag = handle_starttag


def _html_references(html: str, first_line: int) -> list[Reference]:
    collector = _TagCollector(first_line)
    collector.feed(html)
    collector.close()
    return collector.found


def is_external(target: str) -> bool:
    parts = urlsplit(target)
    return bool(parts.scheme) or target.startswith("//")


def lint_markdown(path: Path, text: str, resolve_from: Path, *, images_must_resolve: bool,
                  links: bool, strict: bool) -> list[Problem]:
    """Report external images, and relative links or images that resolve to nothing."""
    problems = []
    link_severity = Severity.ERROR if strict else Severity.WARNING
    for ref in references(text):
        if ref.kind == "image" and is_external(ref.target):
            problems.append(Problem(path, ref.line,
                f"image from an external URL: {ref.target} (the course must not depend on "
                "image services; draw it as a figure script in diagrams/)"))
            continue
        if is_external(ref.target) or ref.target.startswith("#") or "{{" in ref.target:
            continue
        local = unquote(urlsplit(ref.target).path)
        if not local:
            continue
        target = (resolve_from / local) if not local.startswith("/") else Path(local)
        if target.exists():
            continue
        if ref.kind == "image" and images_must_resolve:
            problems.append(Problem(path, ref.line, f"image {ref.target} resolves to nothing"))
        elif ref.kind == "link" and links:
            problems.append(Problem(path, ref.line,
                f"link {ref.target} resolves to nothing (no {_shown(target)})", link_severity))
    return problems


def _shown(target: Path) -> str:
    # Relative to the working directory when it is inside it, as the rest of the report is.
    try:
        return target.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(target)
