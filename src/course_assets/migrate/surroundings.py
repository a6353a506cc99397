"""What around a migrated image names and styles its figure: the heading above it, and the
course's own style helper."""

from __future__ import annotations

import ast
import bisect
from dataclasses import dataclass
from pathlib import Path

from course_assets.publish import markdown

STYLE_MODULE = "_style"
# The helpers a generated script calls when the course has them (each takes **overrides).
STYLE_HELPERS = ("graph_attr", "node_attr", "edge_attr")
# Used too when the course has it: a cluster's look (init's style helper defines it).
CLUSTER_HELPER = "cluster_attr"


@dataclass(frozen=True)
class Headings:
    """A chapter's headings by line, to find the one above an image."""

    lines: tuple[int, ...]
    titles: tuple[str, ...]

    def above(self, line: int) -> str:
        """Return the text of the last heading before `line` (1-based), or ''."""
        index = bisect.bisect_left(self.lines, line) - 1
        return self.titles[index] if index >= 0 else ""


def chapter_headings(text: str) -> Headings:
    """Return the chapter's Markdown headings (ATX and setext), outside code blocks."""
    tokens = markdown.parse(text)
    found: list[tuple[int, str]] = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.map and index + 1 < len(tokens):
            words = markdown.plain_text(tokens[index + 1]).split()
            found.append((token.map[0] + 1, " ".join(words)))
    return Headings(tuple(line for line, _ in found), tuple(title for _, title in found))


def course_style(diagrams_dir: Path) -> str | None:
    """Return the style module's name when the course has one with the helpers, else None."""
    return STYLE_MODULE if set(STYLE_HELPERS) <= _style_functions(diagrams_dir) else None


def has_cluster_style(diagrams_dir: Path) -> bool:
    """Say whether the course style also styles clusters (`cluster_attr`, as `init` writes)."""
    defined = _style_functions(diagrams_dir)
    return set(STYLE_HELPERS) <= defined and CLUSTER_HELPER in defined


def _style_functions(diagrams_dir: Path) -> set[str]:
    path = diagrams_dir / f"{STYLE_MODULE}.py"
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError, RecursionError):
        return set()
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
