"""Shared by the tests of figure formats, dark mode, the gallery and slide decks."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from click.testing import CliRunner

from course_assets.cli import cli

REPO = Path(__file__).resolve().parents[1]
NAMED = {"white": "#ffffff", "black": "#000000"}

_built: dict[str, Path] = {}


def built_repo_course(tmp_path_factory) -> Path:
    """Return a copy of this repository's course, built once per test session."""
    if "repo" not in _built:
        root = tmp_path_factory.mktemp("formats") / "repo-course"
        root.mkdir()
        shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
        shutil.copytree(REPO / "diagrams", root / "diagrams",
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(REPO / "chapters", root / "chapters")
        result = run(root, "build", "-q")
        assert result.exit_code == 0, result.output
        _built["repo"] = root
    return _built["repo"]


def run(root: Path, *args: str):
    return CliRunner().invoke(cli, ["-C", str(root), *args], catch_exceptions=False)


def rgb(colour: str) -> tuple[int, int, int]:
    """Return the RGB of a CSS/Graphviz colour written as #rgb, #rrggbb or white/black."""
    value = NAMED.get(colour.strip().lower(), colour.strip().lower())
    match = re.fullmatch(r"#([0-9a-f]{3}|[0-9a-f]{6})", value)
    assert match, f"not a colour this test reads: {colour!r}"
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return tuple(int(digits[i:i + 2], 16) for i in (0, 2, 4))


def relative_luminance(colour: tuple[int, int, int]) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG 2 contrast ratio between two colours, from 1 to 21."""
    light, dark = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def pdf_page_sizes(pdf: bytes) -> list[tuple[float, float]]:
    """Return the MediaBox width and height of each page of a PDF Chromium printed."""
    pages = re.findall(rb"/Type\s*/Page\b(?!s)", pdf)
    boxes = [tuple(float(v) for v in box.split()[2:4])
             for box in re.findall(rb"/MediaBox\s*\[\s*([-0-9. ]+)\]", pdf)]
    assert len(boxes) >= len(pages) or len(set(boxes)) == 1, boxes
    return [boxes[min(i, len(boxes) - 1)] for i in range(len(pages))]
