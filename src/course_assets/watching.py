"""Rebuild a course whenever one of its sources is saved."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from course_assets.build import BuildOptions, BuildReport, build_course
from course_assets.config import Settings, load_settings
from course_assets.errors import CourseAssetsError
from course_assets.state.manifest import load_manifest

OnBuild = Callable[[BuildReport | CourseAssetsError], None]
IGNORED_SUFFIXES = (".tmp", ".swp", ".swx", "~", ".pyc")


def watched_paths(settings: Settings) -> list[Path]:
    """Return the folders and files whose changes can change the build."""
    candidates = [settings.diagrams_dir, settings.chapters_dir, settings.templates_dir,
                  settings.pyproject]
    # Figures may also read files elsewhere in the course (their own icons, say): the last
    # build recorded which, so their folders are watched too.
    try:
        manifest = load_manifest(settings.outputs.manifest, settings.outputs)
    except CourseAssetsError:
        manifest = None
    for record in manifest.figures.values() if manifest else ():
        for dependency in record.helpers:
            folder = (settings.root / dependency).parent
            if settings.root in folder.parents and folder != settings.build_dir:
                candidates.append(folder)
    found = [path for path in dict.fromkeys(candidates) if path.exists()]
    # Watching a folder covers everything below it.
    return [path for path in found
            if not any(other in path.parents for other in found if other.is_dir())]


def is_source_change(settings: Settings, path: str) -> bool:
    """Say whether a changed path is a source (not an output, a cache or an editor's temp file)."""
    changed = Path(path)
    if _ignored_name(changed.name):
        return False
    if "__pycache__" in changed.parts:
        return False
    return _outside(settings.build_dir.resolve(), changed)


def _outside(build: Path, path: Path) -> bool:
    """Say whether `path`, its links followed, lies outside the (resolved) `build` folder.

    A link to itself, or in a circle, is in no folder: nothing a build can read.
    """
    resolved = _resolved(path)
    return resolved is not None and resolved != build and build not in resolved.parents


def _ignored_name(name: str) -> bool:
    """Say whether a file of this name is an editor's temporary file, hidden, or a cache."""
    return name.startswith((".", "#")) or name.endswith(IGNORED_SUFFIXES)


def _resolved(path: Path) -> Path | None:
    """Return `path` with its links followed, or None where they go round in a circle."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: Python before 3.13 names a loop so
        return None


def rebuild(settings: Settings, options: BuildOptions, on_build: OnBuild,
            report: Callable[[str], None] | None = None) -> BuildReport | CourseAssetsError:
    """Build once, handing the result (or the error that stopped it) to `on_build`; return it."""
    result: BuildReport | CourseAssetsError
    try:
        result = build_course(settings, options, report)
    except CourseAssetsError as exc:
        result = exc
    if not (isinstance(result, BuildReport) and result.cancelled):
        on_build(result)  # a cancelled build is followed at once by one that is reported
    return result


def source_stamps(settings: Settings, paths: list[Path] | None = None) -> dict[str, int]:
    """Return the modification time of every source file under `paths` (default: the watched)."""
    build = settings.build_dir.resolve()

    def outside_build(path: str) -> bool:
        return _outside(build, Path(path))

    stamps = {}
    for root in watched_paths(settings) if paths is None else paths:
        if root.is_file():
            if is_source_change(settings, str(root)):
                with contextlib.suppress(OSError):  # an editor's save replaces it meanwhile
                    stamps[str(root)] = root.stat().st_mtime_ns
            continue
        if not outside_build(str(root)):
            # A folder inside the build that a figure read from (another figure's PNG, say):
            # what a build writes there is no save, or each build would cancel itself.
            continue
        # As `is_source_change` judges each file, with one path resolved per folder (and per
        # linked file) rather than per file: a build asks this often while it runs.
        for folder, subfolders, files in os.walk(root):
            subfolders[:] = [name for name in subfolders if name != "__pycache__"
                             and outside_build(os.path.join(folder, name))]
            for name in files:
                path = os.path.join(folder, name)
                if _ignored_name(name) or (os.path.islink(path) and not outside_build(path)):
                    continue
                try:
                    stamps[path] = os.stat(path).st_mtime_ns
                except OSError:  # deleted meanwhile, or a link to nothing
                    continue
    return stamps


def watch_course(settings: Settings, on_build: OnBuild, *, options: BuildOptions = BuildOptions(),
                 stop: threading.Event | None = None, report: Callable[[str], None] | None = None,
                 debounce_ms: int = 150) -> None:
    """Build, then rebuild what each save affects until `stop` is set (or Ctrl-C).

    The builds share worker processes that stay warm between saves; they are stopped when
    this returns or raises. Each figure's light SVG is written as soon as it is drawn (and
    `options.on_light` told); the rest follows, and a newer save cancels what it made stale.
    """
    from course_assets.render.pool import WorkerPool

    with WorkerPool() as pool:
        _watch(settings, on_build,
               replace(options, pool=pool, on_light=options.on_light or _light_written),
               stop, report, debounce_ms)


def _light_written(name: str) -> None:
    """Nothing more to do once a light SVG is written: the build's report says so."""


def _watch(settings: Settings, on_build: OnBuild, options: BuildOptions,
           stop: threading.Event | None, report: Callable[[str], None] | None,
           debounce_ms: int) -> None:
    import watchfiles

    pool = options.pool
    # Each watcher starts after a build, so saves made meanwhile are found by comparing
    # modification times once it runs.
    first_build, before_build = _rebuild_until_current(settings, options, on_build, report)
    if pool is not None and isinstance(first_build, BuildReport) and first_build.figures:
        # Warm the workers for the first save: a course that was up to date rendered nothing
        # (where the first build rendered, they are warm already and this costs one no-op task).
        pool.start(settings.worker_count(options.jobs), settings.root)
    while stop is None or not stop.is_set():
        # A watched folder deleted (and made again) or one a build newly depends on needs a
        # new watcher: the old one would never hear of it.
        paths = watched_paths(settings)
        first = True
        for changes in watchfiles.watch(
            *paths,
            watch_filter=lambda _change, path: is_source_change(settings, path),
            stop_event=stop,
            debounce=debounce_ms,
            # A save is a few events within milliseconds (an editor's temporary file and its
            # rename): 10 ms without another ends the batch, and the build starts.
            step=10,
            rust_timeout=300,
            yield_on_timeout=True,
            raise_interrupt=False,
        ):
            if first:
                first = False
                if not changes and source_stamps(settings) == before_build:
                    continue
            elif not changes:
                if _folders_moved(settings, paths):
                    break
                continue
            if any(Path(path) == settings.pyproject for _, path in changes):
                try:
                    settings = load_settings(settings.root)
                except CourseAssetsError as exc:
                    on_build(exc)
                    continue
            before_build = _rebuild_until_current(settings, options, on_build, report)[1]
            # A watched folder deleted is no longer watched, even where it was made again
            # while the build ran (same path, and often the same inode): watch afresh.
            if _lost(changes, paths) or watched_paths(settings) != paths:
                break
        else:
            return  # stopped


def _rebuild_until_current(settings: Settings, options: BuildOptions, on_build: OnBuild,
                           report: Callable[[str], None] | None,
                           ) -> tuple[BuildReport | CourseAssetsError, dict[str, int]]:
    """Build; while a newer save cuts that build short, build again at once.

    Return the last build's result and the sources' modification times it started from.
    """
    while True:
        paths = watched_paths(settings)
        stamps = source_stamps(settings, paths)
        newer_save = _NewerSave(settings, paths, stamps)
        result = rebuild(settings, replace(options, cancelled=newer_save), on_build, report)
        if not (isinstance(result, BuildReport) and result.cancelled):
            return result, stamps


class _NewerSave:
    """Say whether a source was saved since a build started, looking at most every 0.1 s.

    The build asks after each part a worker finishes, and every 50 ms: looking each time
    would take the CPU the workers render with. The folders are those watched when the
    build started (a folder the build newly depends on is watched after it).
    """

    # The least time between two looks, in seconds. As the build asks every 50 ms, a newer
    # save is seen at the first look after it: within about 0.15 s.
    INTERVAL = 0.1

    def __init__(self, settings: Settings, paths: list[Path], stamps: dict[str, int]) -> None:
        self.settings = settings
        self.paths = paths
        self.stamps = stamps
        self.looked = time.monotonic()
        self.found = False

    def __call__(self) -> bool:
        now = time.monotonic()
        if not self.found and now - self.looked >= self.INTERVAL:
            self.looked = now
            self.found = source_stamps(self.settings, self.paths) != self.stamps
        return self.found


def _lost(changes: set[tuple[Any, str]], paths: list[Path]) -> bool:
    """Say whether `changes` delete a watched path itself."""
    from watchfiles import Change

    return any(change == Change.deleted and Path(path) in paths for change, path in changes)


def _folders_moved(settings: Settings, paths: list[Path]) -> bool:
    """Say whether a watched path is gone, or a source folder appeared that none covers."""
    if not all(path.exists() for path in paths):
        return True
    for wanted in (settings.diagrams_dir, settings.chapters_dir, settings.templates_dir):
        covered = any(path == wanted or path in wanted.parents for path in paths)
        if not covered and wanted.exists():
            return True
    return False
