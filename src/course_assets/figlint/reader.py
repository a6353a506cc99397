"""Read one laid-out figure: what a reader would struggle with, the facts its sizes are judged
by, and its outline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from course_assets.figlint.findings import Finding


@dataclass(frozen=True)
class FigureReading:
    """What reading one theme's figure gave: its findings and the facts sizes are judged by."""

    findings: tuple[Finding, ...]
    outline: str
    # The figure's own size in CSS px and its smallest text in CSS px at that size.
    width: float
    height: float
    smallest_text: float
    clusters: int
    # Whether its ranks run across (direction LR or RL) rather than down (TB or BT).
    left_to_right: bool


def read_figure(layout: Mapping[str, Any], svg: bytes, lines: Mapping[str, int], theme: str,
                title: str, description: str) -> FigureReading:
    """Lint one theme's rendering of a figure; layout findings are the light theme's only."""
    from course_assets.figlint.contrast import contrast_findings
    from course_assets.figlint.geometry import read_geometry
    from course_assets.figlint.placement import layout_findings
    from course_assets.figlint.outline import outline_markdown

    geometry = read_geometry(layout, svg, lines)
    findings = contrast_findings(geometry, theme)
    if theme == "light":  # both themes share one layout
        findings = layout_findings(geometry) + findings
    px = 4 / 3
    sizes = [t.size for t in geometry.texts]
    top_level = [c for c in geometry.clusters if c.parent is None]
    width, height = _svg_size(svg)
    return FigureReading(
        tuple(findings), outline_markdown(geometry, title, description), width, height,
        min(sizes) * px if sizes else 0.0, len(top_level),
        geometry.direction in ("LR", "RL"),
    )


def _svg_size(svg: bytes) -> tuple[float, float]:
    """Return the SVG's own size in CSS px (its width and height attributes)."""
    import re

    head = svg[:4096].decode("utf-8", "replace")
    found = [re.search(rf'<svg[^>]*\s{name}="([0-9.]+)', head) for name in ("width", "height")]
    return tuple(float(m.group(1)) if m else 0.0 for m in found)  # type: ignore[return-value]
