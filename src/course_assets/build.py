"""Build a course: gather what is out of date, render it, then write every output atomically."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from course_assets import fsutil
from course_assets.config import Settings
from course_assets.derived import build_derived, hand_edits
from course_assets.errors import OutputError, Problem, Severity
from course_assets.figures import FigureOutcome, FigureTask, render_all, warning_problems
from course_assets.manifest import ChapterRecord, FigureRecord, Manifest, load_manifest
from course_assets.plan import (
    ChapterPlan, FigureFacts, FigurePlan, OutputState, Status, chapter_inputs,
    chapter_output_path, orphaned_outputs, output_states, plan_chapters, plan_figures,
)
from course_assets.sources import (
    dependency_path, discover, figure_inputs, library_versions, relative,
)

GRAPHVIZ_CACHE = ".graphviz-version"
HASH_CACHE = ".hash-cache.json"

Reporter = Callable[[str], None]


@dataclass(frozen=True)
class BuildOptions:
    """How to build: everything or only what changed, how many workers, how long per figure."""

    force: bool = False
    jobs: int | None = None
    timeout: float | None = None


@dataclass(frozen=True)
class BuildReport:
    """What a build did and what went wrong, for the summary line and the exit code."""

    figures: int = 0
    figures_rebuilt: int = 0
    figures_failed: int = 0
    chapters: int = 0
    chapters_rebuilt: int = 0
    chapters_failed: int = 0
    written: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not any(p.severity is Severity.ERROR for p in self.problems)

    def summary(self) -> str:
        unchanged = self.figures - self.figures_rebuilt - self.figures_failed
        parts = [f"{self.figures_rebuilt} rebuilt", f"{unchanged} unchanged"]
        if self.figures_failed:
            parts.append(f"{self.figures_failed} failed")
        chapters = f"{self.chapters} chapter{'s' if self.chapters != 1 else ''}"
        if self.chapters_rebuilt or self.chapters_failed:
            detail = [f"{self.chapters_rebuilt} rebuilt"]
            if self.chapters_failed:
                detail.append(f"{self.chapters_failed} failed")
            chapters += f" ({', '.join(detail)})"
        figures = f"{self.figures} figure{'s' if self.figures != 1 else ''}"
        errors = sum(p.severity is Severity.ERROR for p in self.problems)
        tail = f", {errors} error{'s' if errors != 1 else ''}" if errors else ""
        return f"{figures} ({', '.join(parts)}), {chapters}{tail}, {self.seconds:.2f} s"


def local_environment(settings: Settings) -> dict[str, str]:
    """Return the versions of everything that shapes the output on this machine."""
    from course_assets.dot import cached_graphviz_version

    graphviz = cached_graphviz_version(settings.build_dir / GRAPHVIZ_CACHE)
    return {**library_versions(), "graphviz": graphviz}


def build_course(settings: Settings, options: BuildOptions = BuildOptions(),
                 report: Reporter | None = None) -> BuildReport:
    """Rebuild every output whose inputs changed; leave earlier outputs whole on any failure."""
    started = time.perf_counter()
    say = report or (lambda message: None)
    with fsutil.build_lock(settings.build_dir, on_wait=say):
        fsutil.remove_stale_temporaries(settings.build_dir)
        _ignore_machine_files(settings.build_dir)
        with fsutil.stat_cache(settings.build_dir / HASH_CACHE):
            result = _build_locked(settings, options, say)
    return replace(result, seconds=time.perf_counter() - started)


def _ignore_machine_files(build_dir: Path) -> None:
    # The lock and the caches belong to this machine, not to the course.
    ignore = build_dir / ".gitignore"
    wanted = f".lock\n{GRAPHVIZ_CACHE}\n{HASH_CACHE}\n".encode()
    if _read(ignore) != wanted:
        fsutil.atomic_write(ignore, wanted)


def _build_locked(settings: Settings, options: BuildOptions, say: Reporter) -> BuildReport:
    sources = discover(settings)
    problems: list[Problem] = list(sources.problems)
    figures, chapters = sources.figures, sources.chapters
    manifest = load_manifest(settings.manifest_path)
    environment = local_environment(settings)

    figure_plans = plan_figures(settings, figures, manifest, environment, options.force)
    refused: list[Problem] = []
    if not options.force:
        # Every hand edit is found before any work, from what the manifest recorded.
        figure_states = [state for plan in figure_plans for state in plan.outputs]
        chapter_states = [
            state for name in chapters for state in output_states(
                settings, (chapter_output_path(settings, name),),
                manifest.chapters[name].outputs if name in manifest.chapters else {}, manifest)
        ]
        refused += _hand_edits(settings, figure_states, settings.diagrams_dir)
        refused += _hand_edits(settings, chapter_states, settings.chapters_dir)
        refused += hand_edits(settings, manifest, set(chapters), bool(figures), force=False)
    if refused:
        return BuildReport(figures=len(figures), chapters=len(chapters),
                           problems=tuple(problems + refused))

    # Gather: render every out-of-date figure, then every out-of-date chapter, in memory.
    stale = [plan for plan in figure_plans if plan.status.needs_build]
    outcomes = _render_figures(settings, stale, options, say)
    new_figures, facts, failed = _figure_records(settings, manifest, figure_plans, outcomes,
                                                 environment, problems)
    chapter_plans = plan_chapters(settings, chapters, manifest, facts, environment, options.force)
    new_chapters, chapter_files, chapters_failed = _render_chapters(
        settings, manifest, chapter_plans, facts, failed, environment, problems, say)

    files: dict[str, bytes] = {}
    for outcome in outcomes.values():
        if outcome.problem is None:
            files.update({relative(settings, settings.figures_out / n): data
                          for n, data in outcome.files.items()})
    files.update(chapter_files)
    for name in sources.held_back:
        if name in manifest.figures:
            new_figures[name] = manifest.figures[name]
        if name in manifest.chapters:
            new_chapters[name] = manifest.chapters[name]
    # Then what is made from those: the figure gallery and each chapter's slide decks.
    derived = build_derived(settings, manifest, new_figures, new_chapters, files, environment,
                            options.force, say)
    problems += derived.problems
    files.update(derived.files)
    orphans = orphaned_outputs(settings, manifest, set(figures) | sources.held_back,
                               set(chapters) | sources.held_back)
    removable, kept = _removable(settings, orphans, manifest)
    problems += kept

    # Write: announce what is coming in the manifest, write each file atomically, then the
    # manifest that records it all. A build killed in between is repaired by the next one.
    final = Manifest(environment, new_figures, new_chapters, gallery=derived.gallery,
                     slides=derived.slides)
    written = _write(settings, manifest, final, files, removable)
    return BuildReport(
        figures=len(figures),
        figures_rebuilt=sum(o.problem is None for o in outcomes.values()),
        figures_failed=sum(o.problem is not None for o in outcomes.values()),
        chapters=len(chapters),
        chapters_rebuilt=len(chapter_files),
        chapters_failed=chapters_failed,
        written=tuple(sorted(written)),
        removed=tuple(sorted(removable)),
        problems=tuple(problems),
    )


def _hand_edits(settings: Settings, states: list[OutputState], sources: Path) -> list[Problem]:
    found = []
    for output in states:
        if output.status is Status.HAND_EDITED:
            found.append(Problem(Path(output.path), None,
                "was changed by hand (or not written by course-assets), so the build "
                f"will not overwrite it; edit the source in {relative(settings, sources)}/ "
                "instead, or run `course-assets build --force` to replace it"))
    return found


def _render_figures(settings: Settings, stale: list[FigurePlan], options: BuildOptions,
                    say: Reporter) -> dict[str, FigureOutcome]:
    if not stale:
        return {}
    from course_assets.dot import find_dot

    find_dot()  # no Graphviz is one configuration error, not one error per figure
    timeout = options.timeout or settings.timeout
    tasks = [FigureTask(p.name, p.script, settings.root, settings.padding, timeout,
                        settings.formats) for p in stale]

    def done(outcome: FigureOutcome) -> None:
        if outcome.problem is None:
            say(f"built {outcome.name} ({outcome.seconds:.2f} s)")
        else:
            say(f"failed {outcome.name}")

    outcomes = render_all(tasks, settings.worker_count(options.jobs), settings.root, done,
                          meanwhile=_import_chapter_renderers)
    return {o.name: o for o in outcomes}


def _import_chapter_renderers() -> None:
    # Chapters, the gallery and the decks are rendered next; their imports (Jinja2,
    # markdown-it-py) overlap with the workers' rendering instead of following it.
    import course_assets.chapters  # noqa: F401
    from course_assets.gallery import gallery_template
    from course_assets.slides import deck_template

    gallery_template()
    deck_template()


def _figure_records(settings: Settings, manifest: Manifest, plans: list[FigurePlan],
                    outcomes: dict[str, FigureOutcome], environment: dict[str, str],
                    problems: list[Problem]):
    records: dict[str, FigureRecord] = {}
    facts: dict[str, FigureFacts] = {}
    failed: set[str] = set()
    for plan in plans:
        outcome = outcomes.get(plan.name)
        if outcome is None:
            records[plan.name] = plan.record
        elif outcome.problem is not None:
            problems.append(outcome.problem)
            if outcome.output.strip():
                problems.append(Problem(plan.script, None,
                                        "the script printed:\n" + _indent(outcome.output),
                                        Severity.WARNING))
            failed.add(plan.name)
            if plan.record is not None:
                records[plan.name] = plan.record  # keep the old output, still out of date
        else:
            problems.extend(warning_problems(outcome, plan.script))
            helpers = tuple(dependency_path(settings, h) for h in outcome.helpers)
            records[plan.name] = FigureRecord(
                script=relative(settings, plan.script),
                helpers=helpers,
                inputs=figure_inputs(settings, plan.script, helpers, environment),
                title=outcome.title,
                description=outcome.description,
                outputs={relative(settings, settings.figures_out / n): fsutil.sha256_bytes(d)
                         for n, d in outcome.files.items()},
            )
    for name, record in records.items():
        facts[name] = FigureFacts(record.title, record.description, record.outputs)
    return records, facts, failed


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.rstrip().splitlines()[-20:])


def _render_chapters(settings: Settings, manifest: Manifest, plans: list[ChapterPlan],
                     facts: dict[str, FigureFacts], failed: set[str],
                     environment: dict[str, str], problems: list[Problem], say: Reporter):
    records: dict[str, ChapterRecord] = {}
    files: dict[str, bytes] = {}
    failures = 0
    stale = [plan for plan in plans if plan.status.needs_build]
    renderer = _renderer(settings, facts, failed) if stale else None
    for plan in plans:
        if not plan.status.needs_build:
            records[plan.name] = plan.record
            continue
        output = chapter_output_path(settings, plan.name)
        rendered = renderer.render(plan.source, settings.root / output)
        if rendered.problem is not None:
            problems.append(rendered.problem)
            failures += 1
            say(f"failed chapter {plan.name}")
            if plan.record is not None:
                records[plan.name] = plan.record
            continue
        data = rendered.text.encode("utf-8")
        files[output] = data
        records[plan.name] = ChapterRecord(
            source=relative(settings, plan.source),
            figures=rendered.figures,
            inputs=chapter_inputs(settings, plan.source, rendered.figures, facts, environment),
            outputs={output: fsutil.sha256_bytes(data)},
        )
        say(f"built chapter {plan.name}")
    return records, files, failures


def _renderer(settings: Settings, facts: dict[str, FigureFacts], failed: set[str]):
    from course_assets.chapters import renderer_for  # Jinja2 only when a chapter needs it

    return renderer_for(settings, facts, failed)


def _removable(settings: Settings, orphans: dict[str, str], manifest: Manifest):
    removable, kept = [], []
    for path, recorded in sorted(orphans.items()):
        on_disk = fsutil.sha256_file(settings.root / path)
        if on_disk is None:
            continue
        if on_disk in (recorded, manifest.pending.get(path)):
            removable.append(path)
        else:
            kept.append(Problem(Path(path), None, "its source is gone, but it was changed by "
                                "hand, so it was left in place; delete it if it is not needed",
                                Severity.WARNING))
    return removable, kept


def _write(settings: Settings, old: Manifest, final: Manifest, files: dict[str, bytes],
           removable: list[str]) -> list[str]:
    changed = {path: data for path, data in files.items()
               if fsutil.sha256_file(settings.root / path) != fsutil.sha256_bytes(data)}
    # What an interrupted build left and this one did not redo (a figure that fails now, say)
    # stays known as ours, so the next build replaces it instead of calling it a hand edit.
    leftover = {path: digest for path, digest in old.pending.items()
                if path not in files and path not in removable}
    final = replace(final, pending=leftover)
    final_bytes = final.to_json()
    if not changed and not removable:
        if _read(settings.manifest_path) != final_bytes:
            fsutil.atomic_write(settings.manifest_path, final_bytes)
        return []
    pending = {path: fsutil.sha256_bytes(data) for path, data in changed.items()}
    fsutil.atomic_write(settings.manifest_path,
                        replace(old, pending={**old.pending, **pending}).to_json())
    for path, data in sorted(changed.items()):
        fsutil.atomic_write(settings.root / path, data)
    for path in removable:
        try:
            os.unlink(settings.root / path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise OutputError(f"{path}: cannot remove: {exc.strerror}") from None
    fsutil.atomic_write(settings.manifest_path, final_bytes)
    return sorted(changed)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None
