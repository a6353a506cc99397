"""Course figures as code: diagrams scripts rendered to self-contained SVG, embedded in chapters.

The Python API, which the `course-assets` command line is built on::

    import course_assets

    settings = course_assets.load_settings("path/to/course")    # Settings
    report = course_assets.build_course(settings)                # BuildReport
    print(report.summary(), report.ok)
    check = course_assets.check_course(settings, strict=True)    # CheckReport
    print(check.exit_code, [p.format(settings.root) for p in check.problems])
    for figure in course_assets.list_figures(settings):          # list[FigureEntry]
        print(figure.name, figure.title, figure.chapters)
    course_assets.init_course("new-course")                      # InitReport

Each function takes the course as its Settings, or as a folder at or inside it (default: the
working directory). Problems come back as values (`Problem`, with `path`, `line`, `message` and
`severity`); an unusable course or command raises `CourseAssetsError` (`exit_code` says which).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Union

from course_assets.errors import CourseAssetsError, Problem, Severity
from course_assets.version import __version__

__all__ = [
    "CourseAssetsError", "Problem", "Severity", "__version__", "build_course", "check_course",
    "init_course", "list_figures", "load_settings",
]

if TYPE_CHECKING:
    from course_assets.build import BuildReport
    from course_assets.catalog import FigureEntry
    from course_assets.check import CheckReport
    from course_assets.config import Settings
    from course_assets.scaffold import InitReport

# Imported lazily below: every command starts with this package, and most need little of it.
Course = Union["Settings", str, "os.PathLike[str]", None]


def load_settings(course: Course = None) -> Settings:
    """Return the settings of the course at or above `course` (default: the working directory)."""
    from course_assets.config import Settings, load_settings as load

    if isinstance(course, Settings):
        return course
    return load(Path(course) if course is not None else None)


def build_course(course: Course = None, *, figures: Iterable[str] = (), force: bool = False,
                 jobs: int | None = None, timeout: float | None = None, strict: bool = False,
                 progress: Callable[[str], None] | None = None) -> BuildReport:
    """Build what changed (`figures`: only those and the chapters embedding them)."""
    from course_assets.build import BuildOptions, build_course as build

    options = BuildOptions(force=force, jobs=jobs, timeout=timeout, figures=tuple(figures),
                           strict=strict)
    return build(load_settings(course), options, progress)


def check_course(course: Course = None, *, strict: bool = False, diff: bool = False,
                 rebuild: bool = False, jobs: int | None = None) -> CheckReport:
    """Report how build/ differs from what a build would write, and what is wrong in the course.

    With `rebuild`, also render everything in memory and compare the bytes with build/.
    """
    from course_assets.check import check_course as check

    return check(load_settings(course), strict=strict, diff=diff, rebuild=rebuild, jobs=jobs)


def list_figures(course: Course = None) -> list[FigureEntry]:
    """Return every figure with its title, description, outputs and the chapters using it."""
    from course_assets.catalog import figure_catalog

    return figure_catalog(load_settings(course))


def init_course(folder: str | os.PathLike[str] = ".") -> InitReport:
    """Create a course that builds and passes `check` in `folder`; overwrite nothing."""
    from course_assets.scaffold import create_course

    return create_course(Path(folder))
