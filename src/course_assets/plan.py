"""Decide what is out of date: compare each output's inputs and bytes with the manifest."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from course_assets.config import Settings
from course_assets.fsutil import sha256_file
from course_assets.manifest import ChapterRecord, FigureRecord, Manifest
from course_assets.sources import (
    figure_inputs, figure_template_path, hash_inputs, read_or_missing, relative,
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


@dataclass(frozen=True)
class OutputState:
    """One file the build owns: where it is, and what is wrong with it if anything."""

    path: str
    status: Status


@dataclass(frozen=True)
class FigurePlan:
    name: str
    script: Path
    inputs: str
    record: FigureRecord | None
    status: Status
    outputs: tuple[OutputState, ...]


def figure_output_paths(settings: Settings, name: str) -> tuple[str, ...]:
    """Return the outputs a figure has with the course's formats, relative to the course root."""
    stems = [name] + ([f"{name}.dark"] if "dark" in settings.formats else [])
    suffixes = ["svg"] + (["png"] if "png" in settings.formats else [])
    return tuple(relative(settings, settings.figures_out / f"{stem}.{suffix}")
                 for stem in stems for suffix in suffixes)


def gallery_output_path(settings: Settings) -> str:
    """Return where the gallery of every figure goes."""
    return relative(settings, settings.figures_out / "README.md")


def slide_output_paths(settings: Settings, chapter: str) -> tuple[str, ...]:
    """Return a chapter's slide decks: self-contained HTML, and Marp Markdown."""
    return (relative(settings, settings.slides_out / f"{chapter}.html"),
            relative(settings, settings.slides_out / f"{chapter}.marp.md"))


def chapter_output_path(settings: Settings, name: str) -> str:
    return relative(settings, settings.chapters_out / f"{name}.md")


def output_states(settings: Settings, paths: tuple[str, ...], recorded: dict[str, str],
                  manifest: Manifest) -> tuple[OutputState, ...]:
    """Compare each output's bytes on disk with the hash the manifest recorded."""
    states = []
    for path in paths:
        on_disk = sha256_file(settings.root / path)
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


def plan_figures(settings: Settings, figures: dict[str, Path], manifest: Manifest,
                 environment: dict[str, str], force: bool = False) -> list[FigurePlan]:
    """Return, for every figure script, whether it must be rendered again and why."""
    plans = []
    for name, script in sorted(figures.items()):
        record = manifest.figures.get(name)
        helpers = record.helpers if record else ()
        inputs = figure_inputs(settings, script, helpers, environment)
        recorded = record.outputs if record else {}
        outputs = output_states(settings, figure_output_paths(settings, name), recorded, manifest)
        status = overall_status(record.inputs if record else None, inputs, outputs, force)
        plans.append(FigurePlan(name, script, inputs, record, status, outputs))
    return plans


@dataclass(frozen=True)
class FigureFacts:
    """What chapters need to know of a built figure."""

    title: str
    description: str
    outputs: dict[str, str]


def facts_from(manifest: Manifest) -> dict[str, FigureFacts]:
    """Return what the last build recorded of each figure."""
    return {name: FigureFacts(r.title, r.description, r.outputs)
            for name, r in manifest.figures.items()}


def chapter_inputs(settings: Settings, source: Path, used: tuple[str, ...],
                   figures: dict[str, FigureFacts], environment: dict[str, str]) -> str:
    """Hash a chapter's source, the figure template and the figures it embeds."""
    parts: list[str | bytes] = [
        "chapter", settings.fingerprint(), f"course-assets={environment.get('course-assets')}",
        relative(settings, source), read_or_missing(source),
        read_or_missing(figure_template_path(settings.templates_dir)),
    ]
    for name in used:
        facts = figures.get(name)
        if facts is None:
            parts += [name, "\0unbuilt"]
            continue
        parts += [name, facts.title, facts.description]
        parts += [f"{path}={digest}" for path, digest in sorted(facts.outputs.items())]
    return hash_inputs(*parts)


@dataclass(frozen=True)
class ChapterPlan:
    name: str
    source: Path
    inputs: str
    record: ChapterRecord | None
    status: Status
    outputs: tuple[OutputState, ...]


def plan_chapters(settings: Settings, chapters: dict[str, Path], manifest: Manifest,
                  figures: dict[str, FigureFacts], environment: dict[str, str],
                  force: bool = False) -> list[ChapterPlan]:
    """Return, for every chapter, whether it must be rendered again and why."""
    plans = []
    for name, source in sorted(chapters.items()):
        record = manifest.chapters.get(name)
        used = record.figures if record else ()
        inputs = chapter_inputs(settings, source, used, figures, environment)
        recorded = record.outputs if record else {}
        outputs = output_states(settings, (chapter_output_path(settings, name),), recorded,
                                manifest)
        status = overall_status(record.inputs if record else None, inputs, outputs, force)
        plans.append(ChapterPlan(name, source, inputs, record, status, outputs))
    return plans


def orphaned_outputs(settings: Settings, manifest: Manifest, figure_names: set[str],
                     chapter_names: set[str]) -> dict[str, str]:
    """Return outputs the manifest owns whose source is gone, with their recorded hashes."""
    orphans: dict[str, str] = {}
    for name, record in manifest.figures.items():
        expected = set(figure_output_paths(settings, name)) if name in figure_names else set()
        orphans.update({p: h for p, h in record.outputs.items() if p not in expected})
    for name, record in manifest.chapters.items():
        expected = {chapter_output_path(settings, name)} if name in chapter_names else set()
        orphans.update({p: h for p, h in record.outputs.items() if p not in expected})
    for name, record in manifest.slides.items():
        expected = set(slide_output_paths(settings, name)) if name in chapter_names else set()
        orphans.update({p: h for p, h in record.outputs.items() if p not in expected})
    if manifest.gallery is not None:
        expected = {gallery_output_path(settings)} if figure_names else set()
        orphans.update({p: h for p, h in manifest.gallery.outputs.items() if p not in expected})
    return orphans
