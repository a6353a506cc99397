"""Render figure scripts to SVG across worker processes: script, captured graph, dot, SVG."""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
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
    """Run the script in an isolated child, lay out its graph with dot, post-process the SVG."""
    from course_assets import capture, dot, icons, isolate, svg

    started = time.perf_counter()
    output = ""
    try:
        captured, output = isolate.run_isolated(
            lambda: capture.capture_script(task.script, task.course_root, task.padding),
            task.timeout,
        )
        rendered = dot.render_svg(captured.dot_source, task.timeout)
        figure_svg = svg.postprocess(
            rendered.svg, name=task.name, title=captured.title,
            description=captured.description, load_icon=icons.load_icon,
        )
    except FigureError as exc:
        located = exc.problem()
        if located.path is None:
            located = Problem(task.script, None, located.message)
        return FigureOutcome(task.name, output=output or exc.output, problem=located,
                             seconds=time.perf_counter() - started)
    return FigureOutcome(
        task.name,
        files={f"{task.name}.svg": figure_svg},
        title=captured.title,
        description=captured.description,
        helpers=captured.helpers,
        warnings=rendered.warnings,
        output=output,
        seconds=time.perf_counter() - started,
    )


def _prepare_worker(course_root: Path) -> None:
    # Import the diagrams library once per worker, not once per figure.
    from course_assets import capture

    capture.check_library(course_root)


def render_all(tasks: Iterable[FigureTask], jobs: int, course_root: Path,
               on_done: Callable[[FigureOutcome], None] | None = None) -> list[FigureOutcome]:
    """Render every task, `jobs` at a time; a failing figure never stops the others."""
    tasks = list(tasks)
    outcomes: list[FigureOutcome] = []
    for outcome in _outcomes(tasks, min(jobs, len(tasks)), course_root):
        outcomes.append(outcome)
        if on_done is not None:
            on_done(outcome)
    return sorted(outcomes, key=lambda o: o.name)


def _outcomes(tasks: list[FigureTask], workers: int, course_root: Path) -> Iterator[FigureOutcome]:
    if not tasks:
        return
    try:
        _prepare_worker(course_root)
    except FigureError as exc:
        for task in tasks:
            yield FigureOutcome(task.name, problem=Problem(task.script, None, exc.message))
        return
    if workers <= 1:
        # One figure or one job: a pool would cost more to start than the work itself.
        for task in tasks:
            yield render_figure(task)
        return
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_prepare_worker,
                             initargs=(course_root,)) as pool:
        futures: dict[Future, FigureTask] = {pool.submit(render_figure, t): t for t in tasks}
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
