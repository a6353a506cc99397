"""Decide what is out of date: compare each output's inputs and bytes with the manifest.

Every output set (a figure's files, a chapter, the gallery, a chapter's decks) is planned the
same way, as one `OutputPlan`; the hand-edit and orphan rules are written here once.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from course_assets.config import Settings
from course_assets.errors import Problem, Severity
from course_assets.state.files import FileHashes
from course_assets.state.inputs import chapter_inputs, deck_inputs, figure_inputs, gallery_inputs
from course_assets.state.manifest import (
    ChapterRecord, FigureRecord, Manifest, OutputRecord,
)


class Status(enum.Enum):
    UNCHANGED = "unchanged"
    NEW = "new"
    CHANGED = "changed"
    MISSING = "missing"
    INTERRUPTED = "interrupted"
    HAND_EDITED = "hand-edited"
    FORCED = "forced"

    @property
    def needs_build(self) -> bool:
        return self is not Status.UNCHANGED


class Kind(enum.Enum):
    """What an output set is made from; says where to edit instead of a built file."""

    FIGURE = "figure"
    CHAPTER = "chapter"
    GALLERY = "gallery"
    SLIDES = "slides"

    def edit_instead(self, settings: Settings) -> str:
        """Say where to make the change a hand edit of this kind's output was meant to make."""
        if self is Kind.FIGURE:
            return f"edit the source in {settings.outputs.relative(settings.diagrams_dir)}/ instead"
        if self is Kind.CHAPTER:
            return f"edit the source in {settings.outputs.relative(settings.chapters_dir)}/ instead"
        return "it is made from the figures and chapters, so edit those instead"


@dataclass(frozen=True)
class OutputState:
    """One file the build owns: where it is, and what is wrong with it if anything."""

    path: str
    status: Status


@dataclass(frozen=True)
class OutputPlan:
    """Whether one output set must be made again, and why."""

    kind: Kind
    name: str
    source: Path  # the file a problem with these outputs is reported at
    inputs: str
    record: OutputRecord | None
    status: Status
    outputs: tuple[OutputState, ...]


def output_states(paths: Iterable[str], recorded: dict[str, str], manifest: Manifest,
                  root: Path, hashes: FileHashes) -> tuple[OutputState, ...]:
    """Compare each output's bytes on disk with the hash the manifest recorded."""
    states = []
    for path in paths:
        on_disk = hashes.sha256(os.path.join(root, path))  # a string: asked of every output
        if on_disk is None:
            status = Status.MISSING
        elif path not in recorded:
            status = Status.UNCHANGED if manifest.pending.get(path) == on_disk else Status.HAND_EDITED
        elif on_disk == recorded[path]:
            status = Status.UNCHANGED
        elif manifest.pending.get(path) == on_disk:
            status = Status.INTERRUPTED
        else:
            status = Status.HAND_EDITED
        states.append(OutputState(path, status))
    return tuple(states)


def overall_status(record_inputs: str | None, inputs: str, outputs: tuple[OutputState, ...],
                   force: bool) -> Status:
    """Say whether an output set must be made again: its files' states first, then its inputs."""
    for severity in (Status.HAND_EDITED, Status.MISSING, Status.INTERRUPTED):
        if any(o.status is severity for o in outputs):
            return severity
    if record_inputs is None:
        return Status.NEW
    if record_inputs != inputs:
        return Status.CHANGED
    return Status.FORCED if force else Status.UNCHANGED


@dataclass(frozen=True)
class Planner:
    """Plan output sets of one course against one manifest, hashing files with `hashes`."""

    settings: Settings
    manifest: Manifest
    environment: dict[str, str]
    hashes: FileHashes
    force: bool = False

    def plan(self, kind: Kind, name: str, source: Path, inputs: str,
             record: OutputRecord | None, paths: tuple[str, ...]) -> OutputPlan:
        """Plan one output set from its inputs' hash, its last record and its paths."""
        outputs = output_states(paths, record.outputs if record else {}, self.manifest,
                                self.settings.root, self.hashes)
        status = overall_status(record.inputs if record else None, inputs, outputs, self.force)
        if status is Status.UNCHANGED and record is not None and set(record.outputs) - set(paths):
            # It owns a file the course no longer makes (an earlier version made a chapter
            # PNG beside the slides' one): made again, its record lists what it makes now.
            status = Status.CHANGED
        return OutputPlan(kind, name, source, inputs, record, status, outputs)

    def figures(self, scripts: dict[str, Path]) -> list[OutputPlan]:
        """Return, for every figure script, whether it must be rendered again and why."""
        plans = []
        for name, script in sorted(scripts.items()):
            record = self.manifest.figures.get(name)
            helpers = record.helpers if record else ()
            inputs = figure_inputs(self.settings, script, helpers, self.environment)
            plans.append(self.plan(Kind.FIGURE, name, script, inputs, record,
                                   figure_outputs(self.settings, name, record)))
        return plans

    def chapters(self, sources: dict[str, Path],
                 figures: dict[str, FigureRecord]) -> list[OutputPlan]:
        """Return, for every chapter, whether it must be rendered again and why."""
        plans = []
        for name, source in sorted(sources.items()):
            record = self.manifest.chapters.get(name)
            used = record.figures if record else ()
            inputs = chapter_inputs(self.settings, source, used, figures, self.environment)
            plans.append(self.plan(Kind.CHAPTER, name, source, inputs, record,
                                   (self.settings.outputs.chapter_output(name),)))
        return plans

    def derived(self, figures: dict[str, FigureRecord], chapters: dict[str, ChapterRecord],
                images_of: Callable[[ChapterRecord], Sequence[str]] | None = None,
                ) -> list[OutputPlan]:
        """Plan the gallery (when there are figures) and the decks of every built chapter.

        `images_of` names the course files a built chapter shows besides its figures.
        """
        settings, paths = self.settings, self.settings.outputs
        plans = []
        if figures:
            inputs = gallery_inputs(settings, figures, chapters, self.environment)
            plans.append(self.plan(Kind.GALLERY, "", settings.diagrams_dir, inputs,
                                   self.manifest.gallery, (paths.gallery_output(),)))
        for name, record in sorted(chapters.items()):
            images = images_of(record) if images_of is not None else ()
            inputs = deck_inputs(settings, name, record, figures, self.environment, images)
            plans.append(self.plan(Kind.SLIDES, name, settings.root / record.source, inputs,
                                   self.manifest.slides.get(name), paths.slide_outputs(name)))
        return plans

    def existing(self, chapter_names: Iterable[str], has_figures: bool) -> list[OutputPlan]:
        """Plan the chapters, gallery and decks a build will write, from their files alone.

        Finds hand edits before any work: only the files' states matter then, so no input is
        hashed (their `inputs` are empty).
        """
        paths, chapters_dir = self.settings.outputs, self.settings.chapters_dir
        plans = []
        for name in sorted(chapter_names):
            plans.append(self.plan(Kind.CHAPTER, name, chapters_dir, "",
                                   self.manifest.chapters.get(name),
                                   (paths.chapter_output(name),)))
        if has_figures:
            plans.append(self.plan(Kind.GALLERY, "", self.settings.diagrams_dir, "",
                                   self.manifest.gallery, (paths.gallery_output(),)))
        for name in sorted(chapter_names):
            plans.append(self.plan(Kind.SLIDES, name, chapters_dir, "",
                                   self.manifest.slides.get(name), paths.slide_outputs(name)))
        return plans


def figure_outputs(settings: Settings, name: str, record: FigureRecord | None) -> tuple[str, ...]:
    """Return a figure's outputs, as its manifest record says (slide files or not)."""
    return settings.outputs.figure_outputs(name, record.slide_file if record else False)


def hand_edit_advice(settings: Settings, kind: Kind) -> str:
    """Say what to do about an output of `kind` edited by hand (build and check both say it)."""
    return f"{kind.edit_instead(settings)}, or run `course-assets build --force` to replace it"


def hand_edits(settings: Settings, plans: Iterable[OutputPlan]) -> list[Problem]:
    """Return one problem for each output changed by hand (or not written by course-assets)."""
    found = []
    for plan in plans:
        for output in plan.outputs:
            if output.status is Status.HAND_EDITED:
                found.append(Problem(Path(output.path), None,
                    "was changed by hand (or not written by course-assets), so the build will "
                    f"not overwrite it; {hand_edit_advice(settings, plan.kind)}"))
    return found


def orphaned_outputs(settings: Settings, manifest: Manifest,
                     figure_names: set[str] | dict[str, FigureRecord],
                     chapter_names: set[str]) -> dict[str, str]:
    """Return outputs the manifest owns that the next manifest will not, with their hashes.

    `figure_names` and `chapter_names` are those the next manifest records (a source that
    failed before it ever built has none); given as records, their outputs are those the
    records say (a figure's slide files come and go with fitting). The gallery is made from recorded figures: with
    none left, it is an orphan too, so that it never stays on disk without a record.
    """
    paths = settings.outputs
    owners: list[tuple[OutputRecord, set[str]]] = []
    for name, figure in manifest.figures.items():
        next_record = (figure_names.get(name) if isinstance(figure_names, dict)
                       else figure if name in figure_names else None)
        owners.append((figure, set(figure_outputs(settings, name, next_record))
                       if next_record is not None else set()))
    for name, chapter in manifest.chapters.items():
        owners.append((chapter, {paths.chapter_output(name)} if name in chapter_names else set()))
    for name, decks in manifest.slides.items():
        owners.append((decks, set(paths.slide_outputs(name)) if name in chapter_names else set()))
    if manifest.gallery is not None:
        owners.append((manifest.gallery, {paths.gallery_output()} if figure_names else set()))
    orphans: dict[str, str] = {}
    for record, expected in owners:
        orphans.update({p: h for p, h in record.outputs.items() if p not in expected})
    return orphans


def removable_orphans(settings: Settings, manifest: Manifest, orphans: dict[str, str],
                      hashes: FileHashes) -> tuple[list[str], list[Problem]]:
    """Split orphans into those still as written (to remove) and those edited since (kept)."""
    removable, kept = [], []
    for path, recorded in sorted(orphans.items()):
        on_disk = hashes.sha256(settings.root / path)
        if on_disk is None:
            continue
        if on_disk in (recorded, manifest.pending.get(path)):
            removable.append(path)
        else:
            kept.append(Problem(Path(path), None, "its source is gone, but it was changed by "
                                "hand, so it was left in place; delete it if it is not needed",
                                Severity.WARNING))
    return removable, kept

