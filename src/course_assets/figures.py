"""Render figure scripts to SVG across worker processes: script, captured graph, dot, SVG."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from course_assets.errors import FigureError, Problem, Severity


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


def render_figure(task: FigureTask) -> FigureOutcome:
    """Run the script in an isolated child, lay out its graph with dot, post-process the SVG.

    With the "dark" format the script runs a second time in the dark theme; with "png" each
    variant is also painted to PNG from the same graph.
    """
    import tempfile

    from course_assets import raster
    from course_assets.theme import DARK, LIGHT, IconTiles

    from course_assets.capture import preload_library_modules

    started = time.perf_counter()
    output = ""
    files: dict[str, bytes] = {}
    try:
        _prepare_worker(task.course_root)
    except FigureError as exc:
        return FigureOutcome(task.name, problem=Problem(task.script, None, exc.message))
    preload_library_modules(task.script)
    painting: list[tuple[str, raster.PendingPng]] = []
    try:
        # The dark graph points at tiled icon copies, which dot reads after the child is gone.
        with tempfile.TemporaryDirectory(prefix="course-assets-") as scratch:
            try:
                light, output = _render_variant(task, LIGHT, None, Path(scratch), files,
                                                painting)
                dark = None
                if "dark" in task.formats:
                    dark, dark_output = _render_variant(task, DARK, IconTiles(Path(scratch)),
                                                        Path(scratch), files, painting)
                    output = "\n".join(part for part in (output, dark_output) if part.strip())
                # Graphviz painted the PNGs meanwhile; collect them at twice the SVG's size.
                while painting:
                    stem, pending = painting.pop(0)
                    width, height = raster.svg_size(files[f"{stem}.svg"])
                    files[f"{stem}.png"] = pending.result((width * raster.SCALE,
                                                           height * raster.SCALE))
            finally:
                for _, pending in painting:
                    pending.cancel()
    except FigureError as exc:
        located = exc.problem()
        if located.path is None:
            located = Problem(task.script, None, located.message)
        return FigureOutcome(task.name, output=output or exc.output, problem=located,
                             seconds=time.perf_counter() - started)
    captured, warnings = light
    helpers, all_warnings = captured.helpers, warnings
    if dark is not None:
        helpers = tuple(sorted({*helpers, *dark[0].helpers}))
        all_warnings = tuple(dict.fromkeys((*warnings, *dark[1])))
    return FigureOutcome(
        task.name,
        files=files,
        title=captured.title,
        description=captured.description,
        helpers=helpers,
        warnings=all_warnings,
        output=output,
        seconds=time.perf_counter() - started,
    )


def _render_variant(task: FigureTask, theme: str, icon_filter, scratch: Path,
                    files: dict[str, bytes], painting: list) -> tuple:
    """Capture the script in `theme`, render its SVG into `files`, and start painting its PNG."""
    from course_assets import capture, dot, icons, isolate, raster, svg
    from course_assets.theme import LIGHT, applied, paint_tiles

    def job():
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
    paint_tiles(captured.icon_copies)
    if "png" in task.formats:
        # Graphviz paints the PNG in its own process while this one goes on.
        painting.append((stem, raster.PendingPng(captured.dot_source, task.timeout, scratch)))
    rendered = dot.render_svg(captured.dot_source, task.timeout)
    # Its own id prefix, so the light and dark SVG can sit inlined on one page.
    files[f"{stem}.svg"] = svg.postprocess(
        rendered.svg, name=task.name if theme == LIGHT else f"{task.name}-{theme}",
        title=captured.title, description=captured.description, load_icon=icons.load_icon,
    )
    return (captured, rendered.warnings), output


def _prepare_worker(course_root: Path) -> None:
    # The diagrams library is imported once per worker (here, on its first figure), not once
    # per figure.
    from course_assets import capture

    capture.check_library(course_root)


def render_all(tasks: Iterable[FigureTask], jobs: int, course_root: Path,
               on_done: Callable[[FigureOutcome], None] | None = None,
               meanwhile: Callable[[], None] | None = None) -> list[FigureOutcome]:
    """Render every task, `jobs` at a time; a failing figure never stops the others.

    `meanwhile` runs in this process while the workers render (to prepare the next stage).
    """
    tasks = list(tasks)
    outcomes: list[FigureOutcome] = []
    for outcome in _outcomes(tasks, min(jobs, len(tasks)), course_root, meanwhile):
        outcomes.append(outcome)
        if on_done is not None:
            on_done(outcome)
    return sorted(outcomes, key=lambda o: o.name)


def _outcomes(tasks: list[FigureTask], workers: int, course_root: Path,
              meanwhile: Callable[[], None] | None) -> Iterator[FigureOutcome]:
    if not tasks:
        return
    # Imported here: a build with nothing to render should not pay for process pools.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # Always worker processes, even for one figure: this process never imports the diagrams
    # library, and gets on with `meanwhile` while they work.
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = {pool.submit(render_figure, t): t for t in tasks}
        if meanwhile is not None:
            meanwhile()
        for future in as_completed(futures):
            task = futures[future]
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - a dead worker is one figure's error
                yield FigureOutcome(task.name, problem=Problem(
                    task.script, None, f"the build worker failed: {type(exc).__name__}: {exc}",
                ))


def warning_problems(outcome: FigureOutcome, script: Path) -> list[Problem]:
    """Return Graphviz's warnings for a figure, each once, under the figure's script."""
    return [Problem(script, None, f"Graphviz: {w}", Severity.WARNING) for w in outcome.warnings]
