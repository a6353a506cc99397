"""Make the outputs built from other outputs: the figure gallery and each chapter's slide decks.

They are made after the figures and chapters, from what those records say and from their built
bytes; `state.plan` decides which are out of date, like every other output. This module
records what was made; `publish.making` makes it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from course_assets.config import Settings
from course_assets.errors import Problem
from course_assets.state.files import Held, Staging
from course_assets.state.manifest import ChapterRecord, DerivedRecord, FigureRecord
from course_assets.state.plan import Kind, OutputPlan

if TYPE_CHECKING:
    from course_assets.publish.assets import Reader
    from course_assets.publish.making import Made



@dataclass(frozen=True)
class DerivedBuild:
    """What making the derived outputs gave: files to write, records, and problems."""

    files: dict[str, bytes] = field(default_factory=dict)
    gallery: DerivedRecord | None = None
    slides: dict[str, DerivedRecord] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    made: tuple[str, ...] = ()


def make_derived(settings: Settings, plans: list[OutputPlan], figures: dict[str, FigureRecord],
                 chapters: dict[str, ChapterRecord], read: Reader,
                 staging: Staging | None = None, jobs: int = 1) -> DerivedBuild:
    """Make the gallery and decks that are out of date; `read` returns an output's new bytes.

    With `staging`, each file is staged as soon as it is made, by the process that made it,
    instead of being returned: a course's decks (every figure inlined, in each theme) need not
    all be in memory at once, nor pass through this process. With `jobs` above one, the decks
    are made that many at a time, in forked processes.
    """
    wanted = [(index, part) for index, plan in enumerate(plans)
              if plan.status.needs_build for part in _parts(settings, plan)]
    if not wanted:
        return _gathered(plans, iter(()), settings, staging)
    # Imported here: a build with nothing to make loads neither the makers nor a process pool.
    from course_assets.publish.making import Job, Piece, made_apart

    job = Job(settings, plans, figures, chapters, read, staging)
    pieces = [Piece(index, part) for index, part in wanted]
    with contextlib.closing(made_apart(job, pieces, jobs)) as arriving:
        return _gathered(plans, arriving, settings, staging)


def _parts(settings: Settings, plan: OutputPlan) -> list[str]:
    if plan.kind is Kind.GALLERY:
        return ["gallery"]
    return ["decks", *settings.outputs.pptx_outputs(plan.name)]


def _gathered(plans: list[OutputPlan], arriving: Iterator[Made], settings: Settings,
              staging: Staging | None) -> DerivedBuild:
    """Record each plan's pieces as they arrive, in the order they were handed out."""
    made: dict[str, bytes] = {}
    gallery: DerivedRecord | None = None
    slides: dict[str, DerivedRecord] = {}
    problems: list[Problem] = []
    names: list[str] = []
    for plan in plans:
        record = plan.record if isinstance(plan.record, DerivedRecord) else None
        if plan.status.needs_build:
            held: list[Held] = []
            unmade: Problem | None = None
            for _part in _parts(settings, plan):  # in the order they were handed out
                piece = next(arriving)
                held += piece.held
                problems.extend(piece.warnings)
                unmade = unmade or piece.unmade
                del piece
            if unmade is not None:
                problems.append(unmade)  # keep what was there; the problem says why
                if staging is not None:
                    for staged in held:
                        staging.discard(staged)
            else:
                record = DerivedRecord(plan.inputs, {h.path: h.digest for h in held})
                for staged in held:
                    if staging is not None:
                        staging.adopt(staged)
                    elif staged.data is not None:
                        made[staged.path] = staged.data
                names.append("gallery" if plan.kind is Kind.GALLERY else f"slides {plan.name}")
            del held
        if record is None:
            continue
        if plan.kind is Kind.GALLERY:
            gallery = record
        else:
            slides[plan.name] = record
    return DerivedBuild(made, gallery, slides, tuple(problems), tuple(names))
