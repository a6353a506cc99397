"""Check a course: is build/ exactly what a build would write, and is the course sound?"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from course_assets.config import Settings
from course_assets.errors import Problem, Severity
from course_assets.lint import figure_description, lint_markdown
from course_assets.manifest import Manifest, load_manifest
from course_assets.plan import (
    FigureFacts, Status, chapter_output_path, facts_from, orphaned_outputs, plan_chapters,
    plan_figures,
)
from course_assets.sources import discover, library_versions, relative

BUILD = "run `course-assets build`"
FORCE = "edit the source instead, then run `course-assets build --force`"
MESSAGES = {
    Status.NEW: f"missing: never built; {BUILD}",
    Status.CHANGED: f"stale: its sources changed since it was built; {BUILD}",
    Status.MISSING: f"missing: the file was deleted; {BUILD}",
    Status.INTERRUPTED: f"left by an interrupted build; {BUILD}",
    Status.HAND_EDITED: f"edited by hand: it differs from what the build wrote; {FORCE}",
}


@dataclass(frozen=True)
class CheckReport:
    problems: tuple[Problem, ...]
    diffs: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not any(p.severity is Severity.ERROR for p in self.problems)


def check_course(settings: Settings, *, strict: bool = False, diff: bool = False) -> CheckReport:
    """Report every stale, missing, orphaned or hand-edited output, and every lint problem."""
    sources = discover(settings)
    manifest = load_manifest(settings.manifest_path)
    problems: list[Problem] = list(sources.problems)
    problems += _environment_notes(manifest)
    # Hash with the versions the build recorded: the answer is the same on every machine and
    # needs no Graphviz.
    environment = manifest.environment
    for plan in plan_figures(settings, sources.figures, manifest, environment):
        problems += _output_problems(plan.status, plan.outputs, plan.script)
    facts = facts_from(manifest)
    chapter_plans = plan_chapters(settings, sources.chapters, manifest, facts, environment)
    for plan in chapter_plans:
        problems += _output_problems(plan.status, plan.outputs, plan.source)
    problems += _derived_problems(settings, manifest, sources, environment)
    for path in sorted(orphaned_outputs(settings, manifest, set(sources.figures) | sources.held_back,
                                        set(sources.chapters) | sources.held_back)):
        if (settings.root / path).exists():
            problems.append(Problem(Path(path), None,
                                    f"orphaned: its source is gone; {BUILD} to remove it"))
    problems += _strangers(settings, manifest)
    problems += _lint(settings, sources.figures, sources.chapters, manifest, strict)
    diffs = _chapter_diffs(settings, chapter_plans, facts) if diff else ()
    return CheckReport(tuple(problems), tuple(diffs))


def _derived_problems(settings: Settings, manifest: Manifest, sources,
                      environment: dict[str, str]) -> list[Problem]:
    # The gallery and decks as a build would plan them: from the figures and chapters that
    # still have sources, as last built.
    from course_assets.derived import plan_derived

    figures = {n: r for n, r in manifest.figures.items()
               if n in sources.figures or n in sources.held_back}
    chapters = {n: r for n, r in manifest.chapters.items()
                if n in sources.chapters or n in sources.held_back}
    problems = []
    for plan in plan_derived(settings, manifest, figures, chapters, environment):
        problems += _output_problems(plan.status, plan.outputs, plan.about)
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


def _output_problems(status: Status, outputs, source: Path) -> list[Problem]:
    if not status.needs_build:
        return []
    problems = []
    for output in outputs:
        if output.status.needs_build:
            problems.append(Problem(Path(output.path), None, MESSAGES[output.status]))
    if not problems:
        first = outputs[0].path if outputs else source
        problems.append(Problem(Path(first), None, MESSAGES[status]))
    return problems


def _strangers(settings: Settings, manifest: Manifest) -> list[Problem]:
    owned = set(manifest.owned_outputs()) | {relative(settings, settings.manifest_path)}
    found = []
    if not settings.build_dir.is_dir():
        return found
    for path in sorted(settings.build_dir.rglob("*")):
        name = relative(settings, path)
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
        built = settings.root / chapter_output_path(settings, name)
        text = _read_text(source)
        if text is not None:
            problems += lint_markdown(source, text, built.parent, images_must_resolve=False,
                                      links=True, strict=strict)
        built_text = _read_text(built)
        if built_text is not None:
            problems += lint_markdown(Path(relative(settings, built)), built_text, built.parent,
                                      images_must_resolve=True, links=False, strict=strict)
    return problems


def _read_text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", "replace").removeprefix("\ufeff")
    except OSError:
        return None


def _chapter_diffs(settings: Settings, plans, facts: dict[str, FigureFacts]) -> list[str]:
    from course_assets.chapters import renderer_for

    renderer = renderer_for(settings, facts, set())
    diffs = []
    for plan in plans:
        output = settings.root / chapter_output_path(settings, plan.name)
        rendered = renderer.render(plan.source, output)
        if rendered.text is None:
            continue
        current = _read_text(output) or ""
        if current != rendered.text:
            label = relative(settings, output)
            diffs.append("".join(difflib.unified_diff(
                current.splitlines(keepends=True), rendered.text.splitlines(keepends=True),
                f"{label} (on disk)", f"{label} (as built from {relative(settings, plan.source)})",
            )))
    return diffs
