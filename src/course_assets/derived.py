"""Plan and make the outputs built from other outputs: the figure gallery and the slide decks.

They are made after the figures and chapters, from what those records say and from their built
bytes, and go through the manifest like every output: rebuilt when what they are made of
changes, refused when edited by hand, removed when their source is gone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from course_assets.config import Settings
from course_assets.errors import Problem, Severity
from course_assets.fsutil import sha256_bytes
from course_assets.manifest import ChapterRecord, DerivedRecord, FigureRecord, Manifest
from course_assets.plan import (
    OutputState, Status, chapter_output_path, gallery_output_path, output_states, overall_status,
    slide_output_paths,
)
from course_assets.sources import hash_inputs, relative

GALLERY = "gallery"
SLIDES = "slides"
# What the gallery and the decks are made with; read here, not by importing their modules,
# so that a build with nothing to do stays quick.
TEMPLATES = Path(__file__).parent / "templates"
GALLERY_ASSETS = ("gallery.md.j2",)
DECK_ASSETS = ("slides/deck.html", "slides/deck.css", "slides/deck.js")

Reporter = Callable[[str], None]


@dataclass(frozen=True)
class DerivedPlan:
    """Whether the gallery, or one chapter's decks, must be made again, and why."""

    kind: str
    name: str
    about: Path
    inputs: str
    record: DerivedRecord | None
    status: Status
    outputs: tuple[OutputState, ...]


@dataclass(frozen=True)
class DerivedBuild:
    """What making the derived outputs gave: files to write, records, and problems."""

    files: dict[str, bytes] = field(default_factory=dict)
    gallery: DerivedRecord | None = None
    slides: dict[str, DerivedRecord] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()


def plan_derived(settings: Settings, manifest: Manifest, figures: dict[str, FigureRecord],
                 chapters: dict[str, ChapterRecord], environment: dict[str, str],
                 force: bool = False) -> list[DerivedPlan]:
    """Plan the gallery (when there are figures) and the decks of every built chapter."""
    common = [settings.fingerprint(), f"course-assets={environment.get('course-assets')}"]
    plans = []
    if figures:
        parts: list[str | bytes] = [GALLERY, *common, *_assets(GALLERY_ASSETS),
                                    relative(settings, settings.diagrams_dir)]
        for name, record in sorted(figures.items()):
            parts += [name, record.script, record.title, record.description,
                      str(len(record.outputs)), *sorted(record.outputs)]
        for name, record in sorted(chapters.items()):
            parts += [name, chapter_output_path(settings, name), str(len(record.figures)),
                      *record.figures]
        plans.append(_plan(settings, GALLERY, "", settings.diagrams_dir, hash_inputs(*parts),
                           manifest.gallery, (gallery_output_path(settings),), manifest, force))
    assets = _assets(DECK_ASSETS)
    for name, record in sorted(chapters.items()):
        parts = [SLIDES, *common, *assets, name]
        parts += [f"{path}={digest}" for path, digest in sorted(record.outputs.items())]
        for figure in record.figures:
            built = figures.get(figure)
            parts += [figure] + ([f"{p}={d}" for p, d in sorted(built.outputs.items())]
                                 if built else ["\0unbuilt"])
        plans.append(_plan(settings, SLIDES, name, settings.root / record.source,
                           hash_inputs(*parts), manifest.slides.get(name),
                           slide_output_paths(settings, name), manifest, force))
    return plans


def _assets(names: tuple[str, ...]) -> list[bytes]:
    return [(TEMPLATES / name).read_bytes() for name in names]


def _plan(settings: Settings, kind: str, name: str, about: Path, inputs: str,
          record: DerivedRecord | None, paths: tuple[str, ...], manifest: Manifest,
          force: bool) -> DerivedPlan:
    outputs = output_states(settings, paths, record.outputs if record else {}, manifest)
    status = overall_status(record.inputs if record else None, inputs, outputs, force)
    return DerivedPlan(kind, name, about, inputs, record, status, outputs)


def hand_edits(settings: Settings, manifest: Manifest, chapter_names: set[str],
               has_figures: bool, force: bool) -> list[Problem]:
    """Return a problem for each gallery or deck file changed by hand, or not written by us."""
    if force:
        return []
    expected: dict[str, dict[str, str]] = {}
    if has_figures:
        recorded = manifest.gallery.outputs if manifest.gallery else {}
        expected.update({gallery_output_path(settings): recorded})
    for name in chapter_names:
        record = manifest.slides.get(name)
        for path in slide_output_paths(settings, name):
            expected[path] = record.outputs if record else {}
    found = []
    for path, recorded in sorted(expected.items()):
        (state,) = output_states(settings, (path,), recorded, manifest)
        if state.status is Status.HAND_EDITED:
            found.append(Problem(Path(state.path), None,
                "was changed by hand (or not written by course-assets), so the build will not "
                "overwrite it; it is made from the figures and chapters, so edit those instead, "
                "or run `course-assets build --force` to replace it"))
    return found


def build_derived(settings: Settings, manifest: Manifest, figures: dict[str, FigureRecord],
                  chapters: dict[str, ChapterRecord], files: dict[str, bytes],
                  environment: dict[str, str], force: bool,
                  say: Reporter = lambda message: None) -> DerivedBuild:
    """Make the gallery and decks that are out of date; `files` holds this build's new bytes."""

    def read(path: str) -> bytes | None:
        if path in files:
            return files[path]
        try:
            return (settings.root / path).read_bytes()
        except OSError:
            return None

    made: dict[str, bytes] = {}
    gallery: DerivedRecord | None = None
    slides: dict[str, DerivedRecord] = {}
    problems: list[Problem] = []
    for plan in plan_derived(settings, manifest, figures, chapters, environment, force):
        if not plan.status.needs_build:
            record = plan.record
        else:
            outputs = _make(settings, plan, figures, chapters, read, problems)
            if outputs is None:
                record = plan.record  # keep what was there; the problem says why
            else:
                made.update(outputs)
                record = DerivedRecord(plan.inputs,
                                       {p: sha256_bytes(d) for p, d in outputs.items()})
                say(f"built {plan.kind}" if plan.kind == GALLERY else f"built slides {plan.name}")
        if record is None:
            continue
        if plan.kind == GALLERY:
            gallery = record
        else:
            slides[plan.name] = record
    return DerivedBuild(made, gallery, slides, tuple(problems))


def _make(settings: Settings, plan: DerivedPlan, figures: dict[str, FigureRecord],
          chapters: dict[str, ChapterRecord], read: Callable[[str], bytes | None],
          problems: list[Problem]) -> dict[str, bytes] | None:
    if plan.kind == GALLERY:
        from course_assets.gallery import render_gallery

        path = gallery_output_path(settings)
        outputs = {name: chapter_output_path(settings, name) for name in chapters}
        data = render_gallery(path, relative(settings, settings.diagrams_dir) + "/", figures,
                              chapters, outputs)
        return {path: data}
    from course_assets.slides import build_decks

    chapter_path = chapter_output_path(settings, plan.name)
    raw = read(chapter_path)
    if raw is None:
        problems.append(Problem(plan.about, None, f"no slides: the built chapter {chapter_path} "
                                "is missing; run `course-assets build`", Severity.ERROR))
        return None
    html_path, marp_path = slide_output_paths(settings, plan.name)
    decks = build_decks(raw.decode("utf-8", "replace").removeprefix("\ufeff"), chapter_path,
                        html_path, marp_path, read)
    return {html_path: decks.html, marp_path: decks.marp}
