"""Make the pieces of the gallery and the decks, a few at a time in forked processes.

`publish.derived` says which pieces are out of date and records what they gave.
"""

from __future__ import annotations

import collections
import os
import signal
import sys
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from course_assets.config import Settings
from course_assets.errors import Problem, Severity
from course_assets.state.files import Held, Staging, sha256_bytes
from course_assets.state.manifest import ChapterRecord, FigureRecord
from course_assets.state.plan import Kind, OutputPlan

if TYPE_CHECKING:
    from course_assets.publish.assets import Reader


@dataclass(frozen=True)
class Piece:
    """One part of a derived output to make: the gallery, a chapter's HTML and Marp decks, or
    one of its PowerPoint decks (the costliest, so each is made apart)."""

    plan: int  # its index in the plans
    part: str  # "gallery", "decks", or a PowerPoint deck's path


@dataclass(frozen=True)
class Made:
    """What making a piece gave: its files, its warnings, or why it could not be made."""

    held: tuple[Held, ...] = ()  # staged, or in memory for a build without staging
    warnings: tuple[Problem, ...] = ()
    unmade: Problem | None = None


@dataclass(frozen=True)
class Job:
    """Everything the pieces are made from (a forked process inherits it)."""

    settings: Settings
    plans: list[OutputPlan]
    figures: dict[str, FigureRecord]
    chapters: dict[str, ChapterRecord]
    read: Reader
    staging: Staging | None

    def make(self, piece: Piece) -> Made:
        """Make one piece; a missing input is its problem, not an exception."""
        warnings: list[Problem] = []
        try:
            outputs = _make(self.settings, self.plans[piece.plan], piece.part, self.figures,
                            self.chapters, self.read, warnings)
        except _Unmade as exc:
            return Made(warnings=tuple(warnings), unmade=exc.problem)
        if self.staging is None:
            return Made(tuple(Held(path, sha256_bytes(data), data=data)
                              for path, data in outputs.items()), tuple(warnings))
        # Staged here, in the process that made it: its bytes never travel.
        return Made(tuple(self.staging.made_apart(path, data)
                          for path, data in outputs.items()), tuple(warnings))


# The job a forked deck maker works on: set before it forks, so it is inherited, not pickled.
_forked_job: Job | None = None


def made_apart(job: Job, pieces: list[Piece], jobs: int) -> Generator[Made, None, None]:
    """Yield each piece's result in order, made `jobs` at a time in forked processes."""
    global _forked_job
    # Fork is Linux's default only; one piece is not worth a process.
    if jobs < 2 or len(pieces) < 2 or not sys.platform.startswith("linux"):
        yield from map(job.make, pieces)
        return
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor

    if any(piece.part.endswith(".pptx") for piece in pieces):
        from course_assets.publish.pptx_deck import preload

        preload()  # once here, where the deck makers fork, rather than once in each
    # The workers are forked on the first submission, and inherit the job from here.
    _forked_job = job
    executor = ProcessPoolExecutor(min(jobs, len(pieces)),
                                   mp_context=multiprocessing.get_context("fork"),
                                   initializer=_start_deck_maker, initargs=(os.getpid(),))
    try:
        # A few ahead of the one awaited: the decks waiting here in memory stay few.
        ahead: collections.deque[Future[Made]] = collections.deque()
        waiting = collections.deque(pieces)
        while waiting or ahead:
            while waiting and len(ahead) < 2 * jobs:
                ahead.append(executor.submit(_make_forked, waiting.popleft()))
            yield ahead.popleft().result()
    finally:  # however the build ends: what has not started never will
        executor.shutdown(wait=True, cancel_futures=True)
        _forked_job = None


def _start_deck_maker(parent: int) -> None:
    """Leave Ctrl-C to the build, which waits for the deck in hand and stops the rest."""
    from course_assets.render.processes import die_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent)


def _make_forked(piece: Piece) -> Made:
    assert _forked_job is not None, "a deck maker is forked with its job"
    return _forked_job.make(piece)


class _Unmade(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _make(settings: Settings, plan: OutputPlan, part: str, figures: dict[str, FigureRecord],
          chapters: dict[str, ChapterRecord], read: Reader,
          warnings: list[Problem]) -> dict[str, bytes]:
    paths = settings.outputs
    if plan.kind is Kind.GALLERY:
        from course_assets.publish.gallery import render_gallery

        path = paths.gallery_output()
        outputs = {name: paths.chapter_output(name) for name in chapters}
        data = render_gallery(path, paths.relative(settings.diagrams_dir) + "/", figures,
                              chapters, outputs, read)
        return {path: data}
    from course_assets.publish.deck_figures import views_by_svg
    from course_assets.publish.decks import build_decks

    chapter_path = paths.chapter_output(plan.name)
    raw = read(chapter_path)
    if raw is None:
        raise _Unmade(Problem(plan.source, None, f"no slides: the built chapter {chapter_path} "
                              "is missing; run `course-assets build`", Severity.ERROR))
    text = raw.decode("utf-8", "replace").removeprefix("\ufeff")
    if part == "decks":
        html_path, marp_path = paths.slide_outputs(plan.name)[:2]
        decks = build_decks(text, chapter_path, html_path, marp_path, read,
                            views_by_svg(paths, figures))
        return {html_path: decks.html, marp_path: decks.marp}
    from course_assets.publish.decks import build_pptx_deck

    deck = build_pptx_deck(text, chapter_path, part.endswith(".dark.pptx"), paths, figures, read)
    warnings.extend(deck.problems)
    return {part: deck.data}
