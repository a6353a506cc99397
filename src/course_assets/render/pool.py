"""Render many figures at once in worker processes; a failing figure never stops the others."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from course_assets.errors import Problem
from course_assets.render.figure import FigureOutcome, FigureTask, render_figure
from course_assets.render.processes import die_with_parent


def render_all(tasks: Iterable[FigureTask], jobs: int, course_root: Path,
               on_done: Callable[[FigureOutcome], FigureOutcome] | None = None,
               meanwhile: Callable[[], None] | None = None) -> list[FigureOutcome]:
    """Render every task, `jobs` at a time; a failing figure never stops the others.

    `on_done` sees each outcome as it arrives and returns what to keep of it (a build keeps
    the files on disk, not in memory). `meanwhile` runs in this process while the workers
    render (to prepare the next stage).
    """
    tasks = list(tasks)
    outcomes: list[FigureOutcome] = []
    for outcome in _outcomes(tasks, min(jobs, len(tasks)), course_root, meanwhile):
        outcomes.append(on_done(outcome) if on_done is not None else outcome)
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
    # Workers die with this process, even when it is killed and cannot shut the pool down.
    with ProcessPoolExecutor(workers, mp_context=context, initializer=die_with_parent,
                             initargs=(os.getpid(),)) as pool:
        futures = {pool.submit(render_figure, t): t for t in tasks}
        if meanwhile is not None:
            meanwhile()
        for future in as_completed(futures):
            # Let go of the future once its outcome is taken: it holds the figure's bytes.
            task = futures.pop(future)
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - a dead worker is one figure's error
                yield FigureOutcome(task.name, problem=Problem(
                    task.script, None, f"the process rendering this figure died "
                    f"({type(exc).__name__}: {exc}); a figure too large for this machine's "
                    "memory does that: split it into smaller figures, or remove \"png\" from "
                    "`formats` in [tool.course-assets]",
                ))
