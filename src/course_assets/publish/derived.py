"""Make the outputs built from other outputs: the figure gallery and each chapter's slide decks.

They are made after the figures and chapters, from what those records say and from their built
bytes; `state.plan` decides which are out of date, like every other output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from course_assets.config import Settings
from course_assets.errors import Problem, Severity
from course_assets.state.files import sha256_bytes
from course_assets.state.manifest import ChapterRecord, DerivedRecord, FigureRecord
from course_assets.state.plan import Kind, OutputPlan

Reader = Callable[[str], bytes | None]


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
                 keep: Callable[[str, bytes], object] | None = None) -> DerivedBuild:
    """Make the gallery and decks that are out of date; `read` returns an output's new bytes.

    With `keep`, each file is handed to it as soon as it is made, instead of being returned:
    a course's decks (every figure inlined, in each theme) need not all be in memory at once.
    """
    made: dict[str, bytes] = {}
    gallery: DerivedRecord | None = None
    slides: dict[str, DerivedRecord] = {}
    problems: list[Problem] = []
    names: list[str] = []
    for plan in plans:
        record = plan.record if isinstance(plan.record, DerivedRecord) else None
        if plan.status.needs_build:
            try:
                outputs = _make(settings, plan, figures, chapters, read, problems)
            except _Unmade as exc:
                problems.append(exc.problem)  # keep what was there; the problem says why
            else:
                record = DerivedRecord(plan.inputs,
                                       {p: sha256_bytes(d) for p, d in outputs.items()})
                if keep is None:
                    made.update(outputs)
                else:
                    for path, data in outputs.items():
                        keep(path, data)
                del outputs
                names.append("gallery" if plan.kind is Kind.GALLERY else f"slides {plan.name}")
        if record is None:
            continue
        if plan.kind is Kind.GALLERY:
            gallery = record
        else:
            slides[plan.name] = record
    return DerivedBuild(made, gallery, slides, tuple(problems), tuple(names))


class _Unmade(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _make(settings: Settings, plan: OutputPlan, figures: dict[str, FigureRecord],
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
    html_path, marp_path = paths.slide_outputs(plan.name)[:2]
    text = raw.decode("utf-8", "replace").removeprefix("\ufeff")
    decks = build_decks(text, chapter_path, html_path, marp_path, read,
                        views_by_svg(paths, figures))
    made = {html_path: decks.html, marp_path: decks.marp}
    for pptx_path in paths.pptx_outputs(plan.name):
        from course_assets.publish.decks import build_pptx_deck

        deck = build_pptx_deck(text, chapter_path, pptx_path.endswith(".dark.pptx"), paths,
                               figures, read)
        made[pptx_path] = deck.data
        warnings.extend(deck.problems)
    return made
