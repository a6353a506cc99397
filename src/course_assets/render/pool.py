"""Render many figures at once in worker processes; a failing figure never stops the others."""

from __future__ import annotations

import collections
import contextlib
import functools
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from course_assets.errors import Problem, without_addresses
from course_assets.render.figure import (
    FigureOutcome,
    FigureTask,
    LightDrawing,
    Variant,
    finish_part,
    finish_parts,
    finished,
    prepare_worker_quietly,
    render_figure,
    render_light,
    render_slides,
)
from course_assets.render.processes import adopt_orphans, die_with_parent
from course_assets.render.scratch import make_owned_folder, remove_folder, sweep_abandoned

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    # A figure's first stage gives its light SVG (or its failure); the slides' stage, where
    # fitting named a layout for them, the same drawing with it; the second, split in a part
    # per theme that workers make at once, each theme's variant (or its failure).
    Stage = Future[LightDrawing | Variant | FigureOutcome]

T = TypeVar("T")
# What `_Stages` notes of a slides' stage in hand, where it notes a second stage's theme.
SLIDES = "slides"


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
        self._scratch: str | None = None  # the workers' scratch folders' folder

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
        scratch, self._scratch = self._scratch, None
        if executor is None:
            return
        if interrupt:
            # Ctrl-C, or an error in this process: each worker kills its figure's child and
            # what that started, as a timeout does, and exits (see `_start_warm_worker`).
            _end_workers(executor)
        executor.shutdown(wait=True, cancel_futures=True)  # joins the worker processes
        if scratch is not None:  # what a worker that died left there
            remove_folder(scratch)

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
            self._scratch = _new_scratch_root()
            self._executor = _executor(workers, _start_warm_worker,
                                       (os.getpid(), self._scratch, course_root))
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
        # diagrams library, and gets on with `meanwhile` while they work. A figure's rest is
        # made in parts at once (its light and dark files), so one figure can use two.
        workers = min(jobs, sum(len(finish_parts(task)) for task in tasks))
        # Again, in new workers, for the figures a worker's death left unstarted.
        while tasks:
            with _scratch_folder() as scratch, \
                    _executor(workers, _start_prepared_worker,
                              (os.getpid(), scratch, course_root)) as executor, \
                    _ended_if_interrupted(executor, stages):
                yield from stages.run(stages.start(executor, tasks, workers), meanwhile,
                                      end_workers=functools.partial(_end_workers, executor))
            tasks, meanwhile = stages.take_unstarted(), None
        return
    while tasks:
        executor = pool._submit(jobs, course_root,
                                lambda running: stages.start(running, tasks, jobs))
        deaths: list[BaseException] = []
        finished = False
        try:
            yield from stages.run(executor, meanwhile, deaths.append,
                                  end_workers=lambda: _end_workers(pool._executor))
            finished = True
        finally:
            if not finished:
                # Nothing of an interrupted build outlives it; the next build starts new workers.
                stages.cancel()
                pool._stop(interrupt=True)
            elif deaths:
                pool.close()  # a worker died, which breaks them all: start afresh
        tasks, meanwhile = stages.take_unstarted(), None


# How long a worker may take past a figure's own time limit (and the figure queued before it
# on the same worker) before it counts as stuck: stopped (SIGSTOP) by its script, say.
STUCK_GRACE = 20.0


def _overdue_after(task: FigureTask) -> float:
    """Return the seconds after which a figure seen running has certainly overrun its limits."""
    variants = 2 if "dark" in task.formats else 1
    # It may have waited behind one other figure in its worker's queue.
    return 2 * task.timeout * variants + STUCK_GRACE


@contextlib.contextmanager
def _ended_if_interrupted(executor: ProcessPoolExecutor,
                          stages: _Stages | None = None) -> Iterator[None]:
    """End `executor`'s workers, and the figures in hand, if the block is left by an exception.

    Ctrl-C, SIGTERM (see stopping.py), or an error in this process: the executor's shutdown
    would otherwise wait for every figure in hand to end, up to its time limit.
    """
    try:
        yield
    except BaseException:
        if stages is not None:
            stages.cancel()
        _end_workers(executor)
        raise


def _end_workers(executor: ProcessPoolExecutor | None) -> None:
    """End every worker of `executor`: each ends its figure's processes first, if it can."""
    if executor is None:
        return
    from multiprocessing.connection import wait

    workers = list((executor._processes or {}).values())
    for worker in workers:
        with contextlib.suppress(OSError, ValueError, TypeError):
            # SIGCONT too: a stopped worker would hold the SIGTERM without handling it.
            os.kill(worker.pid, signal.SIGTERM)  # type: ignore[arg-type]
            os.kill(worker.pid, signal.SIGCONT)  # type: ignore[arg-type]
    sentinels = {worker.sentinel: worker for worker in workers}
    deadline = time.monotonic() + 3
    while sentinels and time.monotonic() < deadline:
        for ended in wait(list(sentinels), timeout=max(0.0, deadline - time.monotonic())):
            sentinels.pop(ended, None)  # type: ignore[arg-type]
    for worker in sentinels.values():  # did not end in time: no figure is worth a hang
        with contextlib.suppress(OSError, ValueError):
            worker.kill()


def _executor(workers: int, initializer: Callable[..., None],
              initargs: tuple[object, ...]) -> ProcessPoolExecutor:
    # Imported here: a build with nothing to render should not pay for process pools.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from course_assets.render.figure import return_freed_memory

    # Each figure's files arrive here, pickled: let their buffers go back once they are written.
    return_freed_memory()
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    # Workers die with this process, even when it is killed and cannot shut the pool down.
    started: Callable[..., None] = functools.partial(_start_in_pool, painters(workers),
                                                     initializer)
    return ProcessPoolExecutor(workers, mp_context=context, initializer=started,
                               initargs=initargs)


def painters(workers: int) -> int:
    """Return how many of a pool's workers may paint PNG pixels at once: half, but two of 2 or 3.

    Painting holds a picture of tens of megabytes: with every worker of many painting, the
    peaks add up. Two pictures at once stay well within a small machine's memory, where one
    painter for two workers made the other wait (4% of a 2-core build's time).
    """
    return min(workers, max(2, workers // 2))


def _start_in_pool(painting: int, initializer: Callable[..., None], *args: object) -> None:
    from course_assets.render.isolate import paint_at_most

    paint_at_most(painting)
    initializer(*args)


@contextlib.contextmanager
def _scratch_folder() -> Iterator[str]:
    """Make the folder a pool's workers make their scratch folders in; remove it after them."""
    folder = _new_scratch_root()
    try:
        yield folder
    finally:  # after the workers have ended: what one killed mid-figure left goes too
        remove_folder(folder)


def _new_scratch_root() -> str:
    """Make the scratch folders' folder of a pool about to start, owned by this process.

    First remove those that builds killed before they could (SIGKILL, out of memory) left:
    their owner is gone. Only here, where workers start: a build with nothing to render
    does not even list the temporary folder.
    """
    sweep_abandoned()
    return make_owned_folder()


def _start_worker(parent: int, scratch: str) -> None:
    """Tie this worker to `parent`: when it dies, however it dies, the figure in hand ends too."""
    from course_assets.render.isolate import keep_scratch_in

    keep_scratch_in(scratch)
    # SIGTERM is how a pool stops its warm workers, and what the kernel sends when `parent`
    # dies: the figure in hand ends with its child's process group (a SIGKILL would leave
    # what the script started running, orphaned). SIGHUP too: a closed terminal sends it to
    # the build's process group, workers included, but not to the scripts' own groups.
    signal.signal(signal.SIGTERM, functools.partial(_exit_on_terminate, parent))
    # (Unless ignored, as under `nohup`: then the build goes on, its workers too.)
    if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        signal.signal(signal.SIGHUP, functools.partial(_exit_on_terminate, parent))
    die_with_parent(parent, signal.SIGTERM)
    adopt_orphans()
    _watch_parent(parent)


def _start_prepared_worker(parent: int, scratch: str, course_root: Path) -> None:
    """Tie this worker to `parent`, and load what every figure needs before its first task.

    Every worker of a build gets a figure's stage soon: the second of a one-figure build gets
    its dark part as soon as the light SVG is drawn, and would load it all only then.
    """
    _start_worker(parent, scratch)
    prepare_worker_quietly(course_root)


def _start_warm_worker(parent: int, scratch: str, course_root: Path) -> None:
    """Tie this worker to `parent`, leave Ctrl-C to it, and load what every figure needs."""
    _start_worker(parent, scratch)
    # The terminal's Ctrl-C reaches the whole process group; the watching process handles it
    # and stops the workers, which would otherwise each print a KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    prepare_worker_quietly(course_root)


def _exit_on_terminate(parent: int, signum: int, frame: object) -> None:
    """End the figure in hand and die of the signal, whoever sent it (the pool, the kernel,
    a script); the pool reports the figure, and the next build starts a new worker."""
    from course_assets.render.isolate import end_child_in_hand

    end_child_in_hand()
    # Never SystemExit: the executor's worker loop catches it, sends it back as the figure's
    # result and goes on to the next figure. Dying of the signal breaks the pool instead, which
    # `_collected` turns into this figure's error.
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    os._exit(128 + signum)  # not reached: the default action ends the process


def _watch_parent(parent: int) -> None:
    """End this worker as soon as `parent` is gone, even while its main thread is blocked."""
    # The SIGTERM the kernel sends when `parent` dies runs its handler only between Python
    # instructions: a worker blocked writing a large result to a pipe no one reads, or inside
    # a long Pillow call, would never run it.
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.25)
        from course_assets.render.isolate import end_child_in_hand

        end_child_in_hand()
        os._exit(1)

    threading.Thread(target=watch, name="course-assets-parent-watch", daemon=True).start()


class _Stages:
    """Run each figure in two stages, light SVG then the rest, and say what arrives.

    No more tasks are handed to the workers than they can start (and one more, see `_room`):
    the rest wait here, every light SVG before any second stage, so that the order holds and
    a cancelled build (a watch's) leaves no second stage queued in the workers.
    """

    def __init__(self, on_light: Callable[[LightDrawing], None] | None,
                 cancelled: Callable[[], bool] | None) -> None:
        self.on_light = on_light
        self.cancelled = cancelled
        self.in_flight: dict[Stage, FigureTask] = {}
        self._themes: dict[Stage, str] = {}  # which theme's part a second-stage task makes
        self._lights: collections.deque[FigureTask] = collections.deque()
        # Light SVGs shown whose slides' layout is still to draw (before their parts).
        self._slides: collections.deque[tuple[FigureTask, LightDrawing]] = collections.deque()
        # Second-stage parts still to hand out: the costliest first (see `_next_second`).
        self._seconds: list[tuple[FigureTask, LightDrawing, str]] = []
        self._workers = 1
        # Figures a worker's death stopped before they started (none of them killed it).
        self._unstarted: list[FigureTask] = []

    def start(self, executor: ProcessPoolExecutor, tasks: list[FigureTask],
              workers: int) -> ProcessPoolExecutor:
        """Queue every figure and hand the first ones to the workers; return the executor."""
        self._workers = workers
        # Anew, not added to: a pool found dead refuses the first submission, and `_submit`
        # calls this again with new workers (the figures would be queued, and run, twice).
        self.in_flight = {}
        self._themes = {}
        self._lights = collections.deque(tasks)
        self._slides = collections.deque()
        self._hand_out(executor)
        return executor

    def take_unstarted(self) -> list[FigureTask]:
        """Return (and forget) the figures a worker's death left unstarted, to render anew."""
        unstarted, self._unstarted = self._unstarted, []
        return sorted(dict.fromkeys(unstarted), key=lambda t: t.name)

    def cancel(self) -> None:
        """Start nothing more, and cancel what the workers have not started."""
        self._lights.clear()
        self._slides.clear()
        self._seconds.clear()
        for future in list(self.in_flight):
            if future.cancel():
                del self.in_flight[future]

    def _hand_out(self, executor: ProcessPoolExecutor) -> None:
        while (len(self.in_flight) < self._room()
               and (self._lights or self._slides or self._seconds)):
            # Taken off its queue only once submitted: a broken pool refuses the submission,
            # and the figure must still be rendered again alone.
            if self._lights:
                task = self._lights[0]
                first: Stage = executor.submit(render_light, task)
                self._lights.popleft()
                self.in_flight[first] = task
            elif self._slides:
                task, light = self._slides[0]
                slides: Stage = executor.submit(render_slides, task, light)
                self._slides.popleft()
                self.in_flight[slides] = task
                self._themes[slides] = SLIDES
            else:
                at = self._next_second()
                task, light, theme = self._seconds[at]
                second: Stage = executor.submit(finish_part, task, light, theme)
                del self._seconds[at]
                self.in_flight[second] = task
                self._themes[second] = theme

    def _next_second(self) -> int:
        """Return where the second-stage part to hand out next is: the costliest figure's.

        Its first stage's time (its light SVG, and its slides' layout where fitting tried one)
        stands for its cost: a larger graph draws and paints for longer. The longest parts go
        first, so that the last part of a build is a short one: the workers end together
        instead of one finishing a large figure alone.
        """
        return max(range(len(self._seconds)), key=lambda at: self._seconds[at][1].seconds)

    def _room(self) -> int:
        """Return how many tasks the workers may hold: one more than they can start.

        The extra one waits in the executor's own queue (which holds one more than there are
        workers), so a worker done with a task starts the next at once instead of waiting for
        this process, busy writing the last figure's files, to hand it out. Where a newer save
        may cancel the build (a watch), second stages are handed out only as workers come
        free: the save must find them still here to cancel.
        """
        if self._lights or self.cancelled is None:
            return self._workers + 1
        return self._workers

    def run(self, executor: ProcessPoolExecutor, meanwhile: Callable[[], None] | None,
            died: Callable[[BaseException], None] | None = None,
            end_workers: Callable[[], None] | None = None) -> Iterator[FigureOutcome]:
        """Yield each figure's outcome as its second stage ends (or its first one fails).

        A worker that dies (a signal, an out-of-memory kill, a script that kills it) breaks
        every figure still in the pool, and the pool cannot say which figure it was rendering:
        each of those is rendered again alone, in a worker of its own, which names the one that
        kills it. A worker stuck long past its figure's limits (stopped by its script) is
        ended, and its figure reported.
        """
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        if meanwhile is not None:
            meanwhile()
        drawn: dict[str, LightDrawing] = {}  # light SVGs whose second stage has not ended
        # Each such figure's parts made so far (a failure ends it).
        parts: dict[str, dict[str, Variant | FigureOutcome]] = {}
        # Figures whose outcome is told: a part that arrives later, or dies later, is not theirs
        # to tell again (nor to render again alone).
        told: set[str] = set()
        shown: list[LightDrawing] = []  # light SVGs to tell `on_light` of
        finished: list[FigureOutcome] = []  # whole outcomes to yield
        caught_in_a_death: list[FigureTask] = []
        seen_running: dict[Stage, float] = {}
        stuck: set[Stage] = set()
        stopping = False
        try:
            while self.in_flight:
                # With someone to ask whether to stop, ask every 50 ms; else look for a stuck
                # worker every second.
                done, _ = wait(list(self.in_flight), return_when=FIRST_COMPLETED,
                               timeout=0.05 if self.cancelled is not None else 1.0)
                if not stopping and self.cancelled is not None and self.cancelled():
                    stopping = True
                    self.cancel()
                for future in done:
                    task = self.in_flight.pop(future, None)
                    theme = self._themes.pop(future, None)
                    seen_running.pop(future, None)
                    if task is None or future.cancelled():
                        continue
                    try:
                        result = future.result()
                    except BrokenProcessPool as exc:
                        if died is not None:
                            died(exc)
                        if stopping:
                            continue
                        if future in stuck:  # the one that overran: again would only wait
                            if task.name not in told:
                                told.add(task.name)
                                parts.pop(task.name, None)
                                yield FigureOutcome(task.name, problem=Problem(
                                    task.script, None, _stuck_message(task)))
                        else:
                            caught_in_a_death.append(task)
                        continue
                    except (Exception, SystemExit) as exc:  # noqa: BLE001 - one figure's error
                        if not stopping and task.name not in told:
                            told.add(task.name)
                            parts.pop(task.name, None)
                            yield FigureOutcome(task.name, problem=Problem(
                                task.script, None, f"the process rendering this figure failed "
                                f"({type(exc).__name__}: {without_addresses(str(exc))})"))
                        continue
                    if isinstance(result, LightDrawing):
                        drawn[task.name] = result
                        if stopping:
                            continue
                        if theme is None:  # a first stage: its light SVG is shown at once
                            shown.append(result)
                        if result.slides_to_try is not None:
                            self._slides.append((task, result))
                        else:
                            parts[task.name] = {}
                            self._seconds.extend((task, result, part)
                                                 for part in finish_parts(task))
                    elif theme in (None, SLIDES):  # a first stage's failure, or the slides'
                        if theme == SLIDES:
                            drawn.pop(task.name, None)  # its scratch folder is gone with it
                        if not stopping and isinstance(result, FigureOutcome):
                            told.add(task.name)
                            finished.append(result)
                    elif task.name in parts:
                        made = parts[task.name]
                        made[theme] = result
                        wanted = finish_parts(task)
                        if any(part not in made for part in wanted):
                            continue  # the figure's other part is still being made
                        light = drawn.pop(task.name)
                        del parts[task.name]
                        remove_folder(str(light.scratch))
                        if not stopping:  # else made from sources a newer save changed
                            told.add(task.name)
                            finished.append(_put_together(task, light, [made[p] for p in wanted]))
                self._end_stuck(seen_running, stuck, end_workers)
                try:
                    self._hand_out(executor)
                except Exception as exc:  # noqa: BLE001 - a broken pool: each figure left again
                    if died is not None:
                        died(exc)
                    if not stopping:  # none of these was in hand: new workers render them
                        self._unstarted += [*self._lights, *(t for t, _ in self._slides),
                                            *dict.fromkeys(t for t, _, _ in self._seconds)]
                    self.cancel()
                # Told once the workers have their next tasks: showing a light SVG writes files.
                for light in shown:
                    if self.on_light is not None:
                        self.on_light(light)
                shown.clear()
                # Last, once the workers have their next tasks: whoever takes a finished
                # figure writes its files.
                yield from finished
                finished.clear()
        finally:
            for light in drawn.values():
                remove_folder(str(light.scratch))
        if not stopping:
            alone = sorted({t for t in caught_in_a_death if t.name not in told},
                           key=lambda t: t.name)
            # A figure with one part caught in the death and the other not yet started is
            # rendered alone, once; nor is a figure already told rendered again.
            self._unstarted = [t for t in self._unstarted if t not in alone and t.name not in told]
            for task in alone:
                yield _render_alone(task)

    def _end_stuck(self, seen_running: dict[Stage, float], stuck: set[Stage],
                   end_workers: Callable[[], None] | None) -> None:
        """End the workers if one has run its figure long past the figure's limits."""
        now = time.monotonic()
        for future in self.in_flight:
            if future.running():
                seen_running.setdefault(future, now)
        overdue = {future for future, since in seen_running.items()
                   if future in self.in_flight
                   and now - since > _overdue_after(self.in_flight[future])}
        if overdue and end_workers is not None:
            stuck |= overdue
            end_workers()
            seen_running.clear()


def _put_together(task: FigureTask, light: LightDrawing,
                  made: list[Variant | FigureOutcome]) -> FigureOutcome:
    """Return a figure's outcome from its parts, in theme order: the first failure, if any."""
    variants = []
    for part in made:
        if isinstance(part, FigureOutcome):
            return part
        variants.append(part)
    # Its time is its parts' own, as one worker would have taken: not their wait in the queue.
    return finished(task, light, variants, sum(v.seconds for v in variants))


def _stuck_message(task: FigureTask) -> str:
    return (f"the process rendering this figure stopped responding, long past the figure's "
            f"time limit ({task.timeout:g} s), and was ended: did the script stop its process "
            "(SIGSTOP)?")


def _render_alone(task: FigureTask) -> FigureOutcome:
    """Render one figure in a worker of its own; if that worker dies, say how."""
    from concurrent.futures import TimeoutError as NotYet
    from concurrent.futures.process import BrokenProcessPool

    with _scratch_folder() as scratch, \
            _executor(1, _start_worker, (os.getpid(), scratch)) as executor, \
            _ended_if_interrupted(executor):
        future = executor.submit(render_figure, task)
        workers = list((executor._processes or {}).values())
        try:
            return future.result(timeout=_overdue_after(task))
        except NotYet:
            _end_workers(executor)
            return FigureOutcome(task.name, problem=Problem(task.script, None,
                                                            _stuck_message(task)))
        except BrokenProcessPool:
            pass
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - one figure's error, not the build's
            return FigureOutcome(task.name, problem=Problem(
                task.script, None, f"the process rendering this figure failed "
                f"({type(exc).__name__}: {without_addresses(str(exc))})"))
    codes = [w.exitcode for w in workers if w.exitcode]
    return FigureOutcome(task.name, problem=Problem(task.script, None, _death(codes)))


def _death(exit_codes: list[int]) -> str:
    """Say how the process rendering a figure died, from its exit code (negative: a signal)."""
    signals = [-code for code in exit_codes if code < 0]
    if signals:
        with contextlib.suppress(ValueError):
            how = f"was killed by {signal.Signals(signals[0]).name}"
    else:
        how = (f"ended with exit code {exit_codes[0]}" if exit_codes
               else "died")
    if signals and signals[0] == signal.SIGKILL:
        why = ("the script killed it, or the system did when memory ran out (a figure too "
               "large for this machine's memory does that: split it into smaller figures, or "
               "remove \"png\" from `formats` in [tool.course-assets])")
    else:
        why = "the script, or another process, ended it while the figure was being rendered"
    return f"the process rendering this figure {how}: {why}"
