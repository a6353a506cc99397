"""Render many figures at once in worker processes; a failing figure never stops the others."""

from __future__ import annotations

import collections
import contextlib
import functools
import os
import signal
import sys
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from course_assets.errors import Problem
from course_assets.render.figure import (
    FigureOutcome,
    FigureTask,
    LightDrawing,
    finish_figure,
    prepare_worker_quietly,
    render_light,
)
from course_assets.render.processes import adopt_orphans, die_with_parent

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    # A figure's first stage gives its light SVG (or its failure), the second its outcome.
    Stage = Future[LightDrawing | FigureOutcome]

T = TypeVar("T")


class WorkerPool:
    """Worker processes kept warm across the builds of a watch session, until it is closed.

    Each worker loads the diagrams library, Graphviz and the fonts once; every figure still
    runs in a child forked from it. The workers die with this process, are shut down on
    `close` (or leaving the `with` block), and are replaced when one has died or when a build
    needs them for another course root, worker count or set of library versions. Use it from
    one thread: the workers are tied to the thread that starts them.
    """

    def __init__(self) -> None:
        self._executor: ProcessPoolExecutor | None = None
        self._prepared_for: tuple[object, ...] | None = None

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        self._stop(interrupt=exc_type is not None)

    def start(self, workers: int, course_root: Path) -> None:
        """Start and warm the workers now, so the next build finds them ready."""
        # The executor forks its workers on its first task: a no-op one.
        self._submit(workers, course_root, lambda executor: executor.submit(os.getpid))

    def close(self) -> None:
        """Cancel what has not started, let running figures end, and stop every worker."""
        self._stop(interrupt=False)

    def _stop(self, interrupt: bool) -> None:
        """Stop every worker; if `interrupt`, end the figures in hand too instead of waiting."""
        executor, self._executor, self._prepared_for = self._executor, None, None
        if executor is None:
            return
        if interrupt:
            # Ctrl-C, or an error in this process: each worker kills its figure's child and
            # what that started, as a timeout does, and exits (see `_start_warm_worker`).
            for process in list((executor._processes or {}).values()):
                with contextlib.suppress(OSError, ValueError):
                    process.terminate()
        executor.shutdown(wait=True, cancel_futures=True)  # joins the worker processes

    def _submit(self, workers: int, course_root: Path,
                submit: Callable[[ProcessPoolExecutor], T]) -> T:
        """Hand the running workers to `submit`; if one has died since, start new ones first."""
        from concurrent.futures.process import BrokenProcessPool

        try:
            return submit(self._running(workers, course_root))
        except BrokenProcessPool:  # killed between builds (by hand, or out of memory)
            self.close()
            return submit(self._running(workers, course_root))

    def _running(self, workers: int, course_root: Path) -> ProcessPoolExecutor:
        """Return the executor prepared for these workers and this course; start it if need be."""
        from course_assets.state.inputs import library_versions

        # Workers keep the modules they loaded: a new library version needs new workers.
        wanted = (course_root.resolve(), workers, tuple(sorted(library_versions().items())))
        if self._executor is not None and self._prepared_for != wanted:
            self.close()
        if self._executor is None:
            self._executor = _executor(workers, _start_warm_worker, (os.getpid(), course_root))
            self._prepared_for = wanted
        return self._executor


def render_all(tasks: Iterable[FigureTask], jobs: int, course_root: Path,
               on_done: Callable[[FigureOutcome], FigureOutcome] | None = None,
               meanwhile: Callable[[], None] | None = None,
               pool: WorkerPool | None = None,
               on_light: Callable[[LightDrawing], None] | None = None,
               cancelled: Callable[[], bool] | None = None) -> list[FigureOutcome]:
    """Render every task, `jobs` at a time; a failing figure never stops the others.

    Every figure's light SVG is drawn before any figure's other files: `on_light` sees each
    as it arrives. `on_done` sees each whole outcome as it arrives and returns what to keep of
    it (a build keeps the files on disk, not in memory). `meanwhile` runs in this process
    while the workers render (to prepare the next stage). Once `cancelled()` says so, nothing
    more is started, what is running is let finish, and what arrives after has no outcome
    (it may have been made from sources changed since).
    Without a `pool`, the workers are started for these tasks and stopped before this returns.
    """
    tasks = list(tasks)
    outcomes: list[FigureOutcome] = []
    stages = _Stages(on_light, cancelled)
    with contextlib.closing(_outcomes(tasks, jobs, course_root, meanwhile, pool,
                                      stages)) as arriving:
        for outcome in arriving:
            outcomes.append(on_done(outcome) if on_done is not None else outcome)
    return sorted(outcomes, key=lambda o: o.name)


def _outcomes(tasks: list[FigureTask], jobs: int, course_root: Path,
              meanwhile: Callable[[], None] | None,
              pool: WorkerPool | None, stages: _Stages) -> Generator[FigureOutcome, None, None]:
    if not tasks:
        return
    if pool is None:
        # Always worker processes, even for one figure: this process never imports the
        # diagrams library, and gets on with `meanwhile` while they work.
        workers = min(jobs, len(tasks))
        with _executor(workers, _start_worker, (os.getpid(),)) as executor:
            yield from stages.run(stages.start(executor, tasks, workers), meanwhile)
        return
    executor = pool._submit(jobs, course_root,
                            lambda running: stages.start(running, tasks, jobs))
    deaths: list[BaseException] = []
    finished = False
    try:
        yield from stages.run(executor, meanwhile, deaths.append)
        finished = True
    finally:
        if not finished:
            # Nothing of an interrupted build outlives it; the next build starts new workers.
            stages.cancel()
            pool._stop(interrupt=True)
        elif deaths:
            pool.close()  # a worker died, which breaks them all: the next build starts afresh


def _executor(workers: int, initializer: Callable[..., None],
              initargs: tuple[object, ...]) -> ProcessPoolExecutor:
    # Imported here: a build with nothing to render should not pay for process pools.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    # Workers die with this process, even when it is killed and cannot shut the pool down.
    return ProcessPoolExecutor(workers, mp_context=context, initializer=initializer,
                               initargs=initargs)


def _start_worker(parent: int) -> None:
    """Tie this worker to `parent`: when it dies, however it dies, the figure in hand ends too."""
    # SIGTERM is how a pool stops its warm workers, and what the kernel sends when `parent`
    # dies: the figure in hand ends with its child's process group (a SIGKILL would leave
    # what the script started running, orphaned).
    signal.signal(signal.SIGTERM, functools.partial(_exit_on_terminate, parent))
    die_with_parent(parent, signal.SIGTERM)
    adopt_orphans()


def _start_warm_worker(parent: int, course_root: Path) -> None:
    """Tie this worker to `parent`, leave Ctrl-C to it, and load what every figure needs."""
    _start_worker(parent)
    # The terminal's Ctrl-C reaches the whole process group; the watching process handles it
    # and stops the workers, which would otherwise each print a KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    prepare_worker_quietly(course_root)


def _exit_on_terminate(parent: int, signum: int, frame: object) -> None:
    from course_assets.render.isolate import end_child_in_hand

    end_child_in_hand()
    if os.getppid() != parent:
        # No one is left to shut this worker down: waiting for its next task would be for ever.
        os._exit(1)
    raise SystemExit(0)  # the figure in hand unwinds; the pool's shutdown ends the worker


class _Stages:
    """Run each figure in two stages, light SVG then the rest, and say what arrives.

    No more tasks are handed to the workers than they can start: the rest wait here, every
    light SVG before any second stage, so that the order holds and a cancelled build leaves
    nothing queued in the workers.
    """

    def __init__(self, on_light: Callable[[LightDrawing], None] | None,
                 cancelled: Callable[[], bool] | None) -> None:
        self.on_light = on_light
        self.cancelled = cancelled
        self.in_flight: dict[Stage, FigureTask] = {}
        self._lights: collections.deque[FigureTask] = collections.deque()
        self._seconds: collections.deque[tuple[FigureTask, LightDrawing]] = collections.deque()
        self._workers = 1

    def start(self, executor: ProcessPoolExecutor, tasks: list[FigureTask],
              workers: int) -> ProcessPoolExecutor:
        """Queue every figure and hand the first ones to the workers; return the executor."""
        self._workers = workers
        self._lights.extend(tasks)
        self._hand_out(executor)
        return executor

    def cancel(self) -> None:
        """Start nothing more, and cancel what the workers have not started."""
        self._lights.clear()
        self._seconds.clear()
        for future in list(self.in_flight):
            if future.cancel():
                del self.in_flight[future]

    def _hand_out(self, executor: ProcessPoolExecutor) -> None:
        while len(self.in_flight) < self._workers and (self._lights or self._seconds):
            if self._lights:
                task = self._lights.popleft()
                first: Stage = executor.submit(render_light, task)
                self.in_flight[first] = task
            else:
                task, light = self._seconds.popleft()
                second: Stage = executor.submit(finish_figure, task, light)
                self.in_flight[second] = task

    def run(self, executor: ProcessPoolExecutor, meanwhile: Callable[[], None] | None,
            died: Callable[[BaseException], None] | None = None) -> Iterator[FigureOutcome]:
        """Yield each figure's outcome as its second stage ends (or its first one fails)."""
        import shutil
        from concurrent.futures import FIRST_COMPLETED, wait

        if meanwhile is not None:
            meanwhile()
        drawn: dict[str, LightDrawing] = {}  # light SVGs whose second stage has not ended
        shown: list[LightDrawing] = []  # light SVGs to tell `on_light` of
        stopping = False
        try:
            while self.in_flight:
                # With someone to ask whether to stop, ask every 50 ms.
                done, _ = wait(list(self.in_flight), return_when=FIRST_COMPLETED,
                               timeout=0.05 if self.cancelled is not None else None)
                if not stopping and self.cancelled is not None and self.cancelled():
                    stopping = True
                    self.cancel()
                for future in done:
                    task = self.in_flight.pop(future, None)
                    if task is None or future.cancelled():
                        continue
                    try:
                        result = future.result()
                    except Exception as exc:  # noqa: BLE001 - a dead worker is one figure's error
                        if died is not None:
                            died(exc)
                        if not stopping:
                            yield _died(task, exc)
                        continue
                    if isinstance(result, LightDrawing):
                        drawn[task.name] = result
                        if not stopping:
                            self._seconds.append((task, result))
                            shown.append(result)
                    else:
                        drawn.pop(task.name, None)  # the second stage removed its folder
                        if not stopping:  # else made from sources a newer save changed
                            yield result
                try:
                    self._hand_out(executor)
                except Exception as exc:  # noqa: BLE001 - a broken pool: each figure left died
                    if died is not None:
                        died(exc)
                    left = [*self._lights, *(task for task, _ in self._seconds)]
                    self.cancel()
                    for task in left:
                        yield _died(task, exc)
                # Told once the workers have their next tasks: showing a light SVG writes files.
                for light in shown:
                    if self.on_light is not None:
                        self.on_light(light)
                shown.clear()
        finally:
            for light in drawn.values():
                shutil.rmtree(light.scratch, ignore_errors=True)


def _died(task: FigureTask, exc: BaseException) -> FigureOutcome:
    """Return the outcome of a figure whose worker died under it."""
    return FigureOutcome(task.name, problem=Problem(
        task.script, None, f"the process rendering this figure died "
        f"({type(exc).__name__}: {exc}); a figure too large for this machine's "
        "memory does that: split it into smaller figures, or remove \"png\" from "
        "`formats` in [tool.course-assets]",
    ))
