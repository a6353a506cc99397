"""Build a course: gather what is out of date, render it, then write every output atomically."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from course_assets.config import Settings
from course_assets.errors import OutputError, Problem, Severity
from course_assets.outputs import MACHINE_FILES, RETIRED_MACHINE_FILES
from course_assets.state import files as fsutil
from course_assets.version import __version__
from course_assets.state.commit import AheadOfCommit, commit_outputs
from course_assets.state.files import FileHashes
from course_assets.state.inputs import (
    chapter_inputs,
    dependency_path,
    figure_inputs,
    library_versions,
)
from course_assets.state.manifest import ChapterRecord, FigureRecord, Manifest, load_manifest
from course_assets.state.plan import (
    OutputPlan,
    Planner,
    hand_edits,
    orphaned_outputs,
    removable_orphans,
)
from course_assets.state.selection import Selection
from course_assets.state.sources import discover

if TYPE_CHECKING:
    from course_assets.publish.derived import DerivedBuild
    from course_assets.render.figure import FigureOutcome
    from course_assets.render.pool import WorkerPool

Reporter = Callable[[str], None]
NO_DESCRIPTION = ("figure has no description: start the script with a docstring that says what "
                  "the figure shows (it becomes the alt text and the SVG <desc>); `check` fails "
                  "without it")


@dataclass(frozen=True)
class BuildOptions:
    """How to build: everything or only what changed, how many workers, how long per figure."""

    force: bool = False
    jobs: int | None = None
    timeout: float | None = None
    # Build only these figures and what embeds them (empty: the whole course).
    figures: tuple[str, ...] = ()
    strict: bool = False  # figure lint findings and tiny text are errors, not warnings
    # Report the lint warnings of every figure, not only of those this build made (the
    # preview's panel shows them all; a terminal counts the others).
    every_finding: bool = False
    # Workers kept warm across builds (a watch session's); None: this build starts its own
    # and stops them before it returns.
    pool: WorkerPool | None = None
    # Write each figure's light SVG as soon as it is drawn, before the rest of the build, and
    # then call this with the figure's name (the preview shows it at once).
    on_light: Callable[[str], None] | None = None
    # Asked while figures render: once it says True (a newer save made this build's work
    # stale), nothing more is started and the build records what it finished.
    cancelled: Callable[[], bool] | None = None


@dataclass(frozen=True)
class BuildReport:
    """What a build did and what went wrong, for the summary line and the exit code."""

    figures: int = 0
    figures_rebuilt: int = 0
    figures_failed: int = 0
    # Figures a build of named figures did not look at: neither rebuilt nor known unchanged.
    figures_left_alone: int = 0
    chapters: int = 0
    chapters_rebuilt: int = 0
    chapters_failed: int = 0
    written: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()
    seconds: float = 0.0
    # Only from `rebuild_in_memory`: every file a forced build would write, with its bytes.
    files: dict[str, bytes] = field(default_factory=dict)
    # Stopped by `BuildOptions.cancelled`: figures and chapters left out of date on purpose.
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return not any(p.severity is Severity.ERROR for p in self.problems)

    def summary(self) -> str:
        unchanged = (self.figures - self.figures_rebuilt - self.figures_failed
                     - self.figures_left_alone)
        parts = [f"{self.figures_rebuilt} rebuilt", f"{unchanged} unchanged"]
        if self.figures_failed:
            parts.append(f"{self.figures_failed} failed")
        if self.figures_left_alone:
            parts.append(f"{self.figures_left_alone} left alone")
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


@dataclass(frozen=True)
class FigureResults:
    """The figures after rendering: every record to keep, and what went wrong."""

    records: dict[str, FigureRecord]
    failed: frozenset[str]
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class ChapterResults:
    """The chapters after rendering: records to keep, new bytes, and what went wrong."""

    records: dict[str, ChapterRecord]
    files: dict[str, bytes] = field(default_factory=dict)
    failed: int = 0
    problems: tuple[Problem, ...] = ()


def local_environment(settings: Settings) -> dict[str, str]:
    """Return the versions of everything that shapes the output on this machine."""
    return library_versions()


def build_course(settings: Settings, options: BuildOptions = BuildOptions(),
                 report: Reporter | None = None) -> BuildReport:
    """Rebuild every output whose inputs changed; leave earlier outputs whole on any failure."""
    started = time.perf_counter()
    say = report or (lambda message: None)
    paths = settings.outputs
    folder = fsutil.OutputFolder(paths)  # the one way this build changes files
    with folder.lock(say=say):
        folder.remove_stale_temporaries()
        _ignore_machine_files(folder)
        hashes = FileHashes(paths.hash_cache)
        try:
            result = _build_locked(settings, options, say, hashes, folder)
        finally:
            hashes.save(folder.write)
    return replace(result, seconds=time.perf_counter() - started)


def rebuild_in_memory(settings: Settings, options: BuildOptions = BuildOptions()) -> BuildReport:
    """Render every output as `build --force` would, and return the bytes instead of writing."""
    started = time.perf_counter()
    result = _build_locked(settings, replace(options, force=True), lambda message: None,
                           FileHashes(), folder=None)
    return replace(result, seconds=time.perf_counter() - started)


def _ignore_machine_files(folder: fsutil.OutputFolder) -> None:
    # The lock and the caches belong to this machine, not to the course.
    wanted = "".join(f"{name}\n" for name in MACHINE_FILES).encode()
    if _read(folder.outputs.gitignore) != wanted:
        folder.write(folder.outputs.gitignore, wanted)
        for name in RETIRED_MACHINE_FILES:
            folder.remove(folder.outputs.build_dir / name)


def _build_locked(settings: Settings, options: BuildOptions, say: Reporter,
                  hashes: FileHashes, folder: fsutil.OutputFolder | None) -> BuildReport:
    """Build through `folder`, or (None) only in memory, writing nothing."""
    # The figures' files wait on disk beside their targets until the build writes them (in
    # memory for a build that only compares); whatever is left is removed, however it ends.
    staged = fsutil.Staging(settings.root, folder)
    try:
        return _gather_and_write(settings, options, say, hashes, staged, folder)
    finally:
        staged.close()


def _gather_and_write(settings: Settings, options: BuildOptions, say: Reporter,
                      hashes: FileHashes, staged: fsutil.Staging,
                      folder: fsutil.OutputFolder | None) -> BuildReport:
    sources = discover(settings)
    figures, chapters = sources.figures, sources.chapters
    manifest = load_manifest(settings.outputs.manifest, settings.outputs)
    environment = local_environment(settings)
    planner = Planner(settings, manifest, environment, hashes, options.force)

    figure_plans = planner.figures(figures)
    only = Selection.of(settings, options.figures, figures, chapters, manifest)
    figure_plans = only.plans(figure_plans)
    if not options.force:
        # Every hand edit is found before any work, from what the manifest recorded.
        existing = only.plans(planner.existing(chapters, bool(figures)))
        refused = hand_edits(settings, [*figure_plans, *existing])
        if refused:
            return BuildReport(figures=len(figures), chapters=len(chapters),
                               problems=(*sources.problems, *refused))

    # Gather: render every out-of-date figure (staged beside its target), then every
    # out-of-date chapter (in memory).
    stale = [plan for plan in figure_plans if plan.status.needs_build]
    ahead = AheadOfCommit(folder, manifest, hashes) if folder is not None else None
    outcomes = _render_figures(settings, stale, options, say, staged, ahead)
    figure_results = _figure_records(settings, figure_plans, outcomes, environment, staged)
    if len(outcomes) < len(stale):  # cancelled: record the figures it finished, nothing more
        assert folder is not None and ahead is not None  # only a build that writes is cancelled
        final = Manifest(environment, {**manifest.figures, **figure_results.records},
                         manifest.chapters, gallery=manifest.gallery, slides=manifest.slides,
                         failures=_failures(settings, manifest, figures, figure_plans, outcomes,
                                           only))
        written = commit_outputs(folder, ahead.manifest, final, {}, staged, [], hashes)
        return BuildReport(figures=len(figures),
                           figures_rebuilt=sum(o.problem is None for o in outcomes.values()),
                           figures_failed=sum(o.problem is not None for o in outcomes.values()),
                           chapters=len(chapters), written=tuple(sorted(written)),
                           problems=figure_results.problems, cancelled=True)
    chapter_plans = only.plans(planner.chapters(chapters, figure_results.records))
    chapter_results = _render_chapters(settings, chapter_plans, figure_results, environment, say,
                                       set(figures), only.names)

    files: dict[str, bytes] = dict(chapter_results.files)
    new_figures, new_chapters = dict(figure_results.records), dict(chapter_results.records)
    for name in sources.held_back:
        if name in manifest.figures:
            new_figures[name] = manifest.figures[name]
        if name in manifest.chapters:
            new_chapters[name] = manifest.chapters[name]
    # Then what is made from those: the figure gallery and each chapter's slide decks.
    derived = _make_derived(settings, planner, new_figures, new_chapters, files, staged, only,
                            hashes, settings.worker_count(options.jobs))
    for made in derived.made:
        say(f"built {made}")
    files.update(derived.files)
    # Outputs are expected of what the new manifest records (a gallery only with a figure).
    orphans = orphaned_outputs(settings, manifest, new_figures, set(new_chapters))
    removable, kept = removable_orphans(settings, manifest, orphans, hashes)
    if only.names is not None:
        removable, kept = [], []  # a build of named figures leaves everything else alone

    # Write: announce what is coming in the manifest, write each file atomically, then the
    # manifest that records it all. A build killed in between is repaired by the next one.
    final = Manifest(environment, new_figures, new_chapters, gallery=derived.gallery,
                     slides=derived.slides,
                     failures=_failures(settings, manifest, figures, figure_plans, outcomes,
                                        only))
    if folder is None:
        files.update(staged.in_memory())
        files[settings.outputs.manifest_output()] = final.to_json()
    written = (commit_outputs(folder, ahead.manifest if ahead is not None else manifest, final,
                              files, staged, removable, hashes)
               if folder is not None else [])
    from course_assets.figlint.report import on_what_changed, readability_problems

    readable = readability_problems(settings, new_figures, new_chapters, options.strict)
    # A build of named figures, even a strict one, answers for what it made: the other
    # figures' findings are counted, not listed (nor, with --strict, failed on).
    if (not options.strict or only.names is not None) and not options.every_finding:
        made_figures = {name for name, outcome in outcomes.items() if outcome.problem is None}
        made_chapters = {name for name in new_chapters
                         if settings.outputs.chapter_output(name) in chapter_results.files}
        readable = on_what_changed(settings, readable, manifest, new_figures, new_chapters,
                                   made_figures, made_chapters)
    return BuildReport(
        figures=len(figures),
        figures_rebuilt=sum(o.problem is None for o in outcomes.values()),
        figures_failed=sum(o.problem is not None for o in outcomes.values()),
        figures_left_alone=0 if only.names is None else len(set(figures) - only.names),
        chapters=len(chapters),
        chapters_rebuilt=len(chapter_results.files),
        chapters_failed=chapter_results.failed,
        written=tuple(sorted(written)),
        removed=tuple(sorted(removable)),
        problems=(*sources.problems, *_nothing_found(settings, figures),
                  *figure_results.problems, *chapter_results.problems,
                  *_stale_embeds(settings, new_chapters, figure_results, chapter_results.files,
                                set(figures), only.names),
                  *derived.problems,
                  *_external_images(settings, chapters, chapter_results.files, options.strict,
                                    every_chapter=options.strict and only.names is None),
                  *kept, *readable),
        files={} if folder is not None else files,
    )


def _external_images(settings: Settings, chapters: dict[str, Path], rendered: dict[str, bytes],
                     strict: bool, every_chapter: bool) -> list[Problem]:
    """Report external images as `check` does: of the chapters this build wrote (of every
    chapter in a strict build of the course, which fails on them), each once, at the source."""
    if not rendered and not every_chapter:
        return []  # a build that wrote no chapter loads no Markdown parser
    from course_assets.lint import external_image_targets, external_images

    problems = []
    for name, source in sorted(chapters.items()):
        output = settings.outputs.chapter_output(name)
        if output not in rendered and not every_chapter:
            continue
        try:
            text = source.read_bytes().decode("utf-8", "replace").removeprefix("\ufeff")
        except OSError:
            continue  # the chapter's own error says why
        problems += external_images(source, text, settings.external_images, strict=strict)
        if output in rendered:
            problems += external_images(
                Path(output), rendered[output].decode("utf-8", "replace"),
                settings.external_images, strict=strict,
                already=external_image_targets(text))
    return problems


def _nothing_found(settings: Settings, figures: dict[str, Path]) -> list[Problem]:
    if figures:
        return []
    folder = settings.outputs.relative(settings.diagrams_dir)
    where = (f"{folder}/*.py" if settings.diagrams_dir.is_dir()
             else f"{folder}/, which does not exist")
    return [Problem(None, None, f"no figure scripts found (looked in {where}); run "
                    "`course-assets init` to start a course with an example figure and chapter, "
                    "or set `diagrams` in [tool.course-assets]", Severity.WARNING)]


def _failures(settings: Settings, manifest: Manifest, figures: dict[str, Path],
              plans: list[OutputPlan], outcomes: dict[str, FigureOutcome],
              only: Selection) -> dict[str, str]:
    """Return each figure's error from its last build, if that failed (for `check` to show)."""
    # A script put back as its outputs were built from (an edit undone) has not failed; a
    # figure a build of named figures left alone keeps the error of its last build.
    up_to_date = {plan.name for plan in plans
                  if not plan.status.needs_build and only.wants(plan)}
    failures = {name: error for name, error in manifest.failures.items()
                if name in figures and name not in outcomes and name not in up_to_date}
    for name, outcome in outcomes.items():
        if outcome.problem is not None:
            failures[name] = outcome.problem.format(settings.root)
    return failures


def _stale_embeds(settings: Settings, chapters: dict[str, ChapterRecord],
                  figures: FigureResults, rendered: dict[str, bytes],
                  scripts_found: set[str], asked: frozenset[str] | None) -> list[Problem]:
    """Name the chapters that show a failed figure's last good version, or its placeholder."""
    problems = []
    scripts = settings.outputs.relative(settings.diagrams_dir)
    for name, record in sorted(chapters.items()):
        for figure in record.figures:
            if figure not in figures.records and figure in scripts_found:
                if settings.outputs.chapter_output(name) not in rendered:  # else said already
                    problems.append(Problem(
                        settings.root / record.source, None,
                        f"shows a placeholder for figure {figure!r}, which has not built; fix "
                        f"{scripts}/{figure}.py", _placeholder_severity(figure, asked)))
            elif figure in figures.failed:
                problems.append(Problem(
                    settings.root / record.source, None,
                    f"shows the last good version of figure {figure!r}, which failed to build; "
                    f"it stays stale until {scripts}/{figure}.py builds", Severity.WARNING))
    return problems


def _placeholder_severity(figure: str, asked: frozenset[str] | None) -> Severity:
    """Say how much a placeholder for `figure` counts: an error unless this build of named
    figures was not asked about it (its own build reports it; this one must not fail for it)."""
    return Severity.ERROR if asked is None or figure in asked else Severity.WARNING


def _render_figures(settings: Settings, stale: list[OutputPlan], options: BuildOptions,
                    say: Reporter, staged: fsutil.Staging,
                    ahead: AheadOfCommit | None) -> dict[str, FigureOutcome]:
    """Render the stale figures; a figure cut short by `options.cancelled` has no outcome."""
    if not stale:
        return {}
    # Imported here: a build with nothing to render never loads the rendering side.
    from course_assets.render.figure import FigureTask, LightDrawing
    from course_assets.render.pool import render_all

    timeout = options.timeout or settings.timeout
    tasks = [FigureTask(p.name, p.source, settings.root, settings.padding, timeout,
                        settings.formats, settings.png_max_side, settings.fit) for p in stale]

    def done(outcome: FigureOutcome) -> FigureOutcome:
        if outcome.problem is not None:
            if ahead is not None:  # its light SVG, drawn before it failed, was not its last good
                ahead.undo(settings.outputs.figure_file(f"{outcome.name}.svg"))
            say(f"failed {outcome.name}")
            return outcome
        # Staged now, so that the figures' bytes never pile up in this process.
        try:
            for name, data in outcome.files.items():
                staged.put(settings.outputs.figure_file(name), data)
        except OutputError as exc:  # this figure's files cannot be written; the others can
            for name in outcome.files:
                staged.drop(settings.outputs.figure_file(name))
            if ahead is not None:
                ahead.undo(settings.outputs.figure_file(f"{outcome.name}.svg"))
            say(f"failed {outcome.name}")
            script = next(t.script for t in tasks if t.name == outcome.name)
            return replace(outcome, files={}, problem=Problem(
                script, None, f"its output cannot be written: {exc}"))
        say(f"built {outcome.name} ({outcome.seconds:.2f} s)")
        fitted = _fit_line(outcome.name, outcome.fit)
        if fitted:
            say(fitted)
        # The outcome keeps its files' names only: their bytes are read from `staged`.
        return replace(outcome, files=dict.fromkeys(outcome.files, b""))

    def drawn(light: LightDrawing) -> None:
        if ahead is None or options.on_light is None:
            return
        if ahead.write(settings.outputs.figure_file(f"{light.name}.svg"), light.svg):
            say(f"drew {light.name} ({light.seconds:.2f} s)")
            options.on_light(light.name)

    outcomes = render_all(tasks, settings.worker_count(options.jobs), settings.root, done,
                          meanwhile=_import_chapter_renderers, pool=options.pool,
                          on_light=drawn if options.on_light is not None else None,
                          cancelled=options.cancelled)
    return {o.name: o for o in outcomes}


def _fit_line(name: str, fit: dict[str, object]) -> str:
    """Say which layout a figure got where it is not the author's (nothing when it is)."""
    chapter, slide, views = fit.get("chapter"), fit.get("slide"), fit.get("views")
    zooms = len(views) - 1 if isinstance(views, list) else 0
    if (chapter in (None, "as drawn") and slide in (None, "as drawn")) and not zooms:
        return ""
    parts = [f"chapter: {chapter}", f"slides: {slide}"]
    if zooms:
        parts[-1] += f", an overview and {zooms} zoomed slide{'s' if zooms != 1 else ''}"
    return f"fitted {name}: {'; '.join(parts)}"


def _import_chapter_renderers() -> None:
    # Chapters, the gallery and the decks are rendered next; their imports (Jinja2,
    # markdown-it-py) overlap with the workers' rendering instead of following it.
    # (python-pptx is not among them: it would add to the build's peak memory, which is
    # while the figures render.)
    import course_assets.publish.chapters  # noqa: F401
    from course_assets.publish.decks import deck_template
    from course_assets.publish.gallery import gallery_template

    gallery_template()
    deck_template()


def _figure_records(settings: Settings, plans: list[OutputPlan],
                    outcomes: dict[str, FigureOutcome],
                    environment: dict[str, str], staged: fsutil.Staging) -> FigureResults:
    records: dict[str, FigureRecord] = {}
    failed: set[str] = set()
    problems: list[Problem] = []
    for plan in plans:
        outcome = outcomes.get(plan.name)
        previous = plan.record if isinstance(plan.record, FigureRecord) else None
        if outcome is None:
            if previous is not None:
                records[plan.name] = previous
        elif outcome.problem is not None:
            problems.append(outcome.problem)
            if outcome.output.strip():
                problems.append(Problem(plan.source, None,
                                        "the script printed:\n" + _indent(outcome.output),
                                        Severity.WARNING))
            failed.add(plan.name)
            if previous is not None:
                records[plan.name] = previous  # keep the old output, still out of date
        else:
            if not outcome.description:
                problems.append(Problem(plan.source, 1, NO_DESCRIPTION, Severity.WARNING))
            # Imported here, where a figure was rendered: a build with nothing to render never
            # loads the rendering side.
            from course_assets.render.figure import warning_problems

            problems.extend(warning_problems(outcome, plan.source, settings.root))
            helpers = tuple(dependency_path(settings, h) for h in outcome.helpers)
            # Hashed before rendering when the helpers are those planned with: a script saved
            # while it rendered is then stale, not recorded as what was built.
            planned = previous.helpers if previous is not None else ()
            inputs = (plan.inputs if tuple(planned) == helpers
                      else figure_inputs(settings, plan.source, helpers, environment))
            records[plan.name] = FigureRecord(
                script=settings.outputs.relative(plan.source),
                helpers=helpers,
                inputs=inputs,
                title=outcome.title,
                description=outcome.description,
                outputs={path: staged.digest(path)
                         for path in map(settings.outputs.figure_file, outcome.files)},
                findings=outcome.findings,
                sizes=outcome.sizes,
                fit=outcome.fit,
            )
    return FigureResults(records, frozenset(failed), tuple(problems))


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.rstrip().splitlines()[-20:])


def _render_chapters(settings: Settings, plans: list[OutputPlan], figures: FigureResults,
                     environment: dict[str, str], say: Reporter, scripts_found: set[str],
                     asked: frozenset[str] | None) -> ChapterResults:
    records: dict[str, ChapterRecord] = {}
    files: dict[str, bytes] = {}
    problems: list[Problem] = []
    failures = 0
    stale = [plan for plan in plans if plan.status.needs_build]
    if not stale:
        return ChapterResults({p.name: p.record for p in plans
                               if isinstance(p.record, ChapterRecord)})
    from course_assets.publish.chapters import renderer_for  # Jinja2 only when needed

    # Every script found that has no output yet shows a placeholder, as in a full build, be it
    # failed now or never built (a build of named figures does not render the others).
    renderer = renderer_for(settings, figures.records, set(figures.failed) | scripts_found)
    for plan in plans:
        previous = plan.record if isinstance(plan.record, ChapterRecord) else None
        if not plan.status.needs_build:
            if previous is not None:
                records[plan.name] = previous
            continue
        output = settings.outputs.chapter_output(plan.name)
        rendered = renderer.render(plan.source, settings.root / output)
        if rendered.problem is not None or rendered.text is None:
            if rendered.problem is not None:
                problems.append(rendered.problem)
            failures += 1
            say(f"failed chapter {plan.name}")
            if previous is not None:
                records[plan.name] = previous
            continue
        scripts = settings.outputs.relative(settings.diagrams_dir)
        for name, line in rendered.placeholders:
            severity = _placeholder_severity(name, asked)
            cause = ("its error is above" if severity is Severity.ERROR
                     else "`course-assets check` says why")
            problems.append(Problem(
                plan.source, line, f"figure {name!r} has not built, so the chapter shows a "
                f"placeholder in its place; fix {scripts}/{name}.py ({cause})", severity))
        data = rendered.text.encode("utf-8")
        files[output] = data
        records[plan.name] = ChapterRecord(
            source=settings.outputs.relative(plan.source),
            figures=rendered.figures,
            inputs=chapter_inputs(settings, plan.source, rendered.figures, figures.records,
                                  environment),
            outputs={output: fsutil.sha256_bytes(data)},
        )
        say(f"built chapter {plan.name}")
    return ChapterResults(records, files, failures, tuple(problems))


def _make_derived(settings: Settings, planner: Planner, figures: dict[str, FigureRecord],
                  chapters: dict[str, ChapterRecord], files: dict[str, bytes],
                  staged: fsutil.Staging, only: Selection, hashes: FileHashes,
                  jobs: int) -> DerivedBuild:
    def read(path: str) -> bytes | None:
        if path in files:
            return files[path]
        if path in staged:
            return staged.read(path)
        return _read(settings.root / path)

    def images_of(record: ChapterRecord) -> list[str]:
        # Which images a built chapter shows follows from its bytes alone: remembered by
        # their hash, so a chapter built before is not read and parsed again.
        digests = []
        for output in sorted(record.outputs):
            data = files[output] if output in files else (
                staged.read(output) if output in staged else None)
            digest = (fsutil.sha256_bytes(data) if data is not None
                      else hashes.sha256(settings.root / output))
            if digest is None or digest == "directory":
                return parsed(record)
            digests.append(f"{output}={digest}")
        key = "\n".join(["chapter images", __version__,
                         settings.outputs.relative(settings.outputs.figures_dir), *digests])
        return hashes.derived(key, lambda: parsed(record))

    def parsed(record: ChapterRecord) -> list[str]:
        # Imported here: a build with nothing to do remembers the images, and loads no reader.
        from course_assets.publish.assets import chapter_images

        return chapter_images(settings, record, read)

    plans = only.plans(planner.derived(figures, chapters, images_of))
    from course_assets.publish.derived import make_derived

    # Each deck waits on disk beside its target (in memory for a build that only compares),
    # as the figures' files do, rather than all of them in this process's memory.
    return make_derived(settings, plans, figures, chapters, read, staging=staged, jobs=jobs)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None
