"""Render figure scripts to SVG across worker processes: script, captured graph, dot, SVG."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from course_assets.errors import FigureError, Problem, Severity
from course_assets.render import limits

if TYPE_CHECKING:
    from course_assets.render.capture import CapturedFigure
    from course_assets.render.raster import PendingPng
    from course_assets.render.theme import IconTiles


@dataclass(frozen=True)
class FigureTask:
    """One figure to render, with everything a worker needs to know."""

    name: str
    script: Path
    course_root: Path
    padding: float
    timeout: float
    # Which files to make: "svg" always, "png" at twice its size, "dark" the dark variants.
    formats: tuple[str, ...] = ("svg",)


@dataclass(frozen=True)
class FigureOutcome:
    """What rendering a figure gave: its files (name -> bytes) or the problem that stopped it."""

    name: str
    files: dict[str, bytes] = field(default_factory=dict)
    title: str = ""
    description: str = ""
    helpers: tuple[Path, ...] = ()
    warnings: tuple[str, ...] = ()
    output: str = ""
    problem: Problem | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class Variant:
    """One theme's rendering of a figure: its SVG, the PNG being painted, and what it learnt."""

    stem: str
    svg: bytes
    captured: CapturedFigure
    warnings: tuple[str, ...]
    output: str
    png: PendingPng | None = None


def render_figure(task: FigureTask) -> FigureOutcome:
    """Run the script in an isolated child, lay out its graph with dot, post-process the SVG.

    With the "dark" format the script runs a second time in the dark theme; with "png" each
    variant is also painted to PNG from the same graph.
    """
    import tempfile

    from course_assets.render import raster
    from course_assets.render.capture import preload_library_modules
    from course_assets.render.theme import DARK, LIGHT, IconTiles

    started = time.perf_counter()
    try:
        _prepare_worker(task.course_root)
    except FigureError as exc:
        return FigureOutcome(task.name, problem=Problem(task.script, None, exc.message))
    preload_library_modules(task.script)
    variants: list[Variant] = []
    try:
        # The dark graph points at tiled icon copies, which dot reads after the child is gone.
        with tempfile.TemporaryDirectory(prefix="course-assets-") as scratch:
            try:
                variants.append(_render_variant(task, LIGHT, None, Path(scratch)))
                if "dark" in task.formats:
                    variants.append(_render_variant(task, DARK, IconTiles(Path(scratch)),
                                                    Path(scratch)))
                files: dict[str, bytes] = {}
                for variant in variants:
                    files[f"{variant.stem}.svg"] = variant.svg
                    if variant.png is not None:
                        # Graphviz painted it meanwhile; collect it at twice the SVG's size.
                        width, height = raster.svg_size(variant.svg)
                        with limits.located_at(task.script, variant.captured.line):
                            files[f"{variant.stem}.png"] = variant.png.result(
                                (width * raster.SCALE, height * raster.SCALE))
            finally:
                for variant in variants:
                    if variant.png is not None:
                        variant.png.cancel()
    except Exception as exc:  # noqa: BLE001 - every failure is this figure's, not the worker's
        if not isinstance(exc, FigureError):
            line = variants[0].captured.line if variants else None
            exc = limits.figure_error(exc, task.script, line)
        located = exc.problem()
        if located.path is None:
            located = Problem(task.script, None, located.message)
        output = "\n".join(v.output for v in variants if v.output.strip())
        return FigureOutcome(task.name, output=output or exc.output, problem=located,
                             seconds=time.perf_counter() - started)
    light = variants[0].captured
    return FigureOutcome(
        task.name,
        files=files,
        title=light.title,
        description=light.description,
        helpers=tuple(sorted({h for v in variants for h in v.captured.helpers})),
        warnings=tuple(dict.fromkeys(w for v in variants for w in v.warnings)),
        output="\n".join(v.output for v in variants if v.output.strip()),
        seconds=time.perf_counter() - started,
    )


def _render_variant(task: FigureTask, theme: str, icon_filter: IconTiles | None,
                    scratch: Path) -> Variant:
    """Capture the script in `theme`, render its SVG, and start painting its PNG."""
    from course_assets.render import capture, icons, isolate, raster, svg
    from course_assets.render import graphviz as dot
    from course_assets.render.theme import LIGHT, applied, paint_tiles

    def job() -> CapturedFigure:
        with applied(theme):
            return capture.capture_script(task.script, task.course_root, task.padding,
                                          icon_filter=icon_filter)

    try:
        captured, output = isolate.run_isolated(job, task.timeout)
    except FigureError as exc:
        if theme != LIGHT:
            exc.message = f"in the {theme} theme: {exc.message}"
            exc.args = (exc.message,)
        raise
    stem = task.name if theme == LIGHT else f"{task.name}.{theme}"
    too_long = limits.long_string_problem(captured.dot_source)
    if too_long is not None:
        raise FigureError(too_long, task.script, captured.line)
    with limits.located_at(task.script, captured.line):
        paint_tiles(captured.icon_copies)
    # Graphviz paints the PNG in its own process while this one goes on.
    png = (raster.PendingPng(captured.dot_source, task.timeout, scratch)
           if "png" in task.formats else None)
    try:
        with limits.located_at(task.script, captured.line):
            rendered = dot.render_svg(captured.dot_source, task.timeout)
            # Its own id prefix, so the light and dark SVG can sit inlined on one page.
            data = svg.postprocess(
                rendered.svg, name=task.name if theme == LIGHT else f"{task.name}-{theme}",
                title=captured.title, description=captured.description,
                load_icon=icons.load_icon,
            )
    except BaseException:
        if png is not None:
            png.cancel()
        raise
    return Variant(stem, data, captured, rendered.warnings, output, png)


def _prepare_worker(course_root: Path) -> None:
    # The diagrams library is imported once per worker (here, on its first figure), not once
    # per figure.
    from course_assets.render import capture

    capture.check_library(course_root)


def warning_problems(outcome: FigureOutcome, script: Path) -> list[Problem]:
    """Return Graphviz's warnings for a figure, each once, under the figure's script."""
    return [Problem(script, None, f"Graphviz: {w}", Severity.WARNING) for w in outcome.warnings]
