"""Check a course: is build/ exactly what a build would write, and is the course sound?"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from course_assets.config import Settings
from course_assets.errors import ExitCode, Problem, Severity
from course_assets.lint import external_image_targets, external_images, lint_markdown
from course_assets.state.files import FileHashes
from course_assets.state.inputs import library_versions
from course_assets.state.manifest import Manifest, load_manifest
from course_assets.reading import read_source
from course_assets.state.plan import (
    OutputPlan,
    Planner,
    Status,
    hand_edit_advice,
    orphaned_outputs,
)
from course_assets.state.sources import Sources, discover, figure_description, syntax_problem

BUILD = "run `course-assets build`"
MESSAGES = {
    Status.NEW: f"never built; {BUILD}",
    Status.CHANGED: f"stale: its sources changed since it was built; {BUILD}",
    Status.MISSING: f"missing: the file was deleted since the build wrote it; {BUILD}",
    Status.INTERRUPTED: f"left by an interrupted build; {BUILD}",
    Status.HAND_EDITED: "edited by hand: it differs from what the build wrote",
}


@dataclass(frozen=True)
class CheckReport:
    """What `check` found: outputs that differ from a build's, and problems in the course."""

    outputs: tuple[Problem, ...]
    course: tuple[Problem, ...]
    diffs: tuple[str, ...] = ()
    # Chapters showing a placeholder for a figure that never built: listed after their cause.
    placeholders: tuple[Problem, ...] = ()

    @property
    def problems(self) -> tuple[Problem, ...]:
        return (*self.course, *self.outputs, *self.placeholders)

    @property
    def ok(self) -> bool:
        return self.exit_code is ExitCode.OK

    @property
    def exit_code(self) -> ExitCode:
        """FAILED for errors in the course (a build cannot fix them), else STALE for outputs."""
        if any(p.severity is Severity.ERROR for p in (*self.course, *self.placeholders)):
            return ExitCode.FAILED
        if any(p.severity is Severity.ERROR for p in self.outputs):
            return ExitCode.STALE
        return ExitCode.OK


def check_course(settings: Settings, *, strict: bool = False, diff: bool = False,
                 rebuild: bool = False, jobs: int | None = None) -> CheckReport:
    """Report every stale, missing, orphaned or hand-edited output, and every lint problem.

    With `rebuild`, also render everything in memory and report each file whose bytes differ.
    """
    sources = discover(settings)
    manifest = load_manifest(settings.outputs.manifest, settings.outputs)
    # Hash with the versions the build recorded: the answer is the same on every machine and
    # needs no Graphviz. No hash cache either: check reads every byte.
    planner = Planner(settings, manifest, manifest.environment, FileHashes())
    outputs: list[Problem] = []
    for plan in planner.figures(sources.figures):
        outputs += _output_problems(settings, plan, manifest.failures.get(plan.name))
    chapter_plans = planner.chapters(sources.chapters, manifest.figures)
    for plan in chapter_plans:
        outputs += _output_problems(settings, plan)
    outputs += _derived_problems(settings, planner, manifest, sources)
    # As a build sees them: the figures and chapters it would still record.
    recorded_figures = {n for n in manifest.figures if n in sources.figures or n in sources.held_back}
    recorded_chapters = {n for n in manifest.chapters
                         if n in sources.chapters or n in sources.held_back}
    for path in sorted(orphaned_outputs(settings, manifest, recorded_figures, recorded_chapters)):
        if (settings.root / path).exists():
            outputs.append(Problem(Path(path), None,
                                   f"orphaned: its source is gone; {BUILD} to remove it"))
    outputs += _strangers(settings, manifest)
    from course_assets.figlint.report import readability_problems

    figures = {n: r for n, r in manifest.figures.items() if n in sources.figures}
    chapters = {n: r for n, r in manifest.chapters.items() if n in sources.chapters}
    course = [*sources.problems, *_environment_notes(manifest),
              *_lint(settings, sources.figures, sources.chapters, manifest, strict),
              *readability_problems(settings, figures, chapters, strict)]
    diffs = _chapter_diffs(settings, chapter_plans, manifest) if diff else ()
    if rebuild:
        rebuilt = _rebuilt_differences(settings, jobs)
        course += [p for p in rebuilt.course if p not in course]
        known = {p.path for p in outputs}
        outputs += [p for p in rebuilt.outputs if p.path not in known]
    return CheckReport(tuple(outputs), tuple(course), tuple(diffs),
                       tuple(_placeholders(settings, manifest, sources)))


def _rebuilt_differences(settings: Settings, jobs: int | None) -> CheckReport:
    """Render the course in memory, as `build --force` would, and compare with build/ byte by byte."""
    from course_assets.build import BuildOptions, rebuild_in_memory

    report = rebuild_in_memory(settings, BuildOptions(jobs=jobs))
    course = [p for p in report.problems if p.severity is Severity.ERROR]
    outputs: list[Problem] = []
    for path, data in sorted(report.files.items()):
        try:
            on_disk = (settings.root / path).read_bytes()
        except OSError:
            on_disk = None
        if on_disk != data:
            what = "missing" if on_disk is None else "differs from a fresh build"
            outputs.append(Problem(Path(path), None,
                f"{what}: re-rendered in memory, the bytes are not those in build/; "
                "run `course-assets build --force`"))
    return CheckReport(tuple(outputs), tuple(course))


def _derived_problems(settings: Settings, planner: Planner, manifest: Manifest,
                      sources: Sources) -> list[Problem]:
    # The gallery and decks as a build would plan them: from the figures and chapters that
    # still have sources, as last built.
    figures = {n: r for n, r in manifest.figures.items()
               if n in sources.figures or n in sources.held_back}
    chapters = {n: r for n, r in manifest.chapters.items()
                if n in sources.chapters or n in sources.held_back}
    problems = []
    from course_assets.publish.assets import chapter_images

    for plan in planner.derived(figures, chapters,
                                lambda record: chapter_images(settings, record, None)):
        problems += _output_problems(settings, plan)
    return problems


def _environment_notes(manifest: Manifest) -> list[Problem]:
    notes = []
    for name, version in library_versions().items():
        recorded = manifest.environment.get(name)
        if recorded and recorded != version:
            notes.append(Problem(None, None,
                f"build/ was made with {name} {recorded}; this machine has {version}, "
                "so a build here may write different bytes", Severity.WARNING))
    return notes


def _placeholders(settings: Settings, manifest: Manifest, sources: Sources) -> list[Problem]:
    """Name each built chapter that shows a placeholder for a figure that has never built."""
    problems = []
    scripts = settings.outputs.relative(settings.diagrams_dir)
    for name, record in sorted(manifest.chapters.items()):
        if name not in sources.chapters:
            continue
        for figure in record.figures:
            if figure not in manifest.figures and figure in sources.figures:
                problems.append(Problem(settings.root / record.source, None,
                    f"shows a placeholder for figure {figure!r}, which has not built; fix "
                    f"{scripts}/{figure}.py, then {BUILD}"))
    return problems


def _output_problems(settings: Settings, plan: OutputPlan,
                     failure: str | None = None) -> list[Problem]:
    if not plan.status.needs_build:
        return []
    why = f"its last build failed: {failure}" if failure else ""
    if plan.record is None:
        # Never built: one line for the figure or chapter, not one per missing file.
        first = plan.outputs[0].path if plan.outputs else plan.source
        message = (f"never built: {why}; fix the script, then {BUILD}" if why
                   else MESSAGES[Status.NEW])
        return [Problem(Path(first), None, message)]
    problems = []
    for output in plan.outputs:
        if output.status.needs_build:
            message = MESSAGES[output.status]
            if output.status is Status.HAND_EDITED:
                message = f"{message}; {hand_edit_advice(settings, plan.kind)}"
            problems.append(Problem(Path(output.path), None, message))
    if not problems:
        first = plan.outputs[0].path if plan.outputs else plan.source
        message = MESSAGES[plan.status]
        if why and plan.status is Status.CHANGED:
            message = f"stale: its sources changed since it was built, and {why}"
        problems.append(Problem(Path(first), None, message))
    return problems


def _strangers(settings: Settings, manifest: Manifest) -> list[Problem]:
    owned = set(manifest.owned_outputs()) | {settings.outputs.manifest_output()}
    found: list[Problem] = []
    if not settings.build_dir.is_dir():
        return found
    for path in sorted(settings.build_dir.rglob("*")):
        name = settings.outputs.relative(path)
        if path.is_dir() or any(part.startswith(".") for part in Path(name).parts):
            continue
        if name not in owned:
            found.append(Problem(Path(name), None,
                "not written by course-assets: build/ holds only generated files; "
                "delete it, or move it to the sources"))
    return found


def _lint(settings: Settings, figures: dict[str, Path], chapters: dict[str, Path],
          manifest: Manifest, strict: bool) -> list[Problem]:
    problems: list[Problem] = []
    for name, script in sorted(figures.items()):
        broken = syntax_problem(script)
        if broken is not None:
            problems.append(broken)
            continue
        description = figure_description(script)
        if description is not None and description.startswith("TODO(migrate)"):
            problems.append(Problem(script, 1, "figure description is still the one `migrate` "
                                    "wrote: say what the figure shows", Severity.WARNING))
        if description is None:
            problems.append(Problem(script, 1,
                "figure has no description: start the script with a docstring that says what "
                "the figure shows (it becomes the alt text and the SVG <desc>)"))
    used = {name for record in manifest.chapters.values() for name in record.figures}
    for name, script in sorted(figures.items()):
        if name not in used and manifest.chapters:
            problems.append(Problem(script, None, "figure is not used by any chapter",
                                    Severity.WARNING))
    for name, source in sorted(chapters.items()):
        built = settings.root / settings.outputs.chapter_output(name)
        text = _read_text(source)
        in_source: frozenset[str] = frozenset()
        if text is not None:
            problems += lint_markdown(source, text, built.parent, images_must_resolve=False,
                                      links=True, strict=strict)
            problems += external_images(source, text, settings.external_images, strict=strict)
            in_source = external_image_targets(text)
        built_text = _read_text(built)
        if built_text is not None:
            shown_as = Path(settings.outputs.relative(built))
            problems += lint_markdown(shown_as, built_text, built.parent,
                                      images_must_resolve=True, links=False, strict=strict)
            # Each external image once, at the source; only those the template made are here.
            problems += external_images(shown_as, built_text, settings.external_images,
                                        strict=strict, already=in_source)
    return problems


def _read_text(path: Path) -> str | None:
    try:
        return read_source(path).decode("utf-8", "replace").removeprefix("\ufeff")
    except OSError:
        return None


def _chapter_diffs(settings: Settings, plans: list[OutputPlan],
                   manifest: Manifest) -> list[str]:
    from course_assets.publish.chapters import renderer_for

    renderer = renderer_for(settings, manifest.figures, set())
    diffs = []
    for plan in plans:
        output = settings.root / settings.outputs.chapter_output(plan.name)
        rendered = renderer.render(plan.source, output)
        if rendered.text is None:
            continue
        current = _read_text(output) or ""
        if current != rendered.text:
            label = settings.outputs.relative(output)
            diffs.append("".join(difflib.unified_diff(
                current.splitlines(keepends=True), rendered.text.splitlines(keepends=True),
                f"{label} (on disk)", f"{label} (as built from {settings.outputs.relative(plan.source)})",
            )))
    return diffs
