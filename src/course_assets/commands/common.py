"""What the commands share: printing progress, problems and summaries the same way.

Everything a command says about its work (progress, problems, the summary) goes to standard
error, one stream, in the order it happens; standard output is kept for data (`list`,
`check --diff`, the decks `slides` names).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from course_assets.errors import Problem, Severity

if TYPE_CHECKING:
    from course_assets.config import Settings


def say(message: str, *, stamped: bool = False) -> None:
    """Print one line of the command's account of its work (with the time, for `watch`)."""
    if stamped:
        message = f"[{time.strftime('%H:%M:%S')}] {message}"
    click.echo(message, err=True)
    sys.stderr.flush()


def progress(quiet: bool, *, stamped: bool = False) -> Callable[[str], None]:
    """Return a reporter that prints one plain line per step, or nothing with -q."""
    if quiet:
        return lambda message: None
    return lambda message: say(message, stamped=stamped)


def print_problems(problems: Iterable[Problem], root: Path, quiet: bool = False, *,
                   stamped: bool = False) -> None:
    """Print errors (always) and warnings (unless quiet) as `path:line: message`.

    They come in the order they were found: a script's error before the chapter it breaks.
    """
    for problem in problems:
        if quiet and problem.severity is Severity.WARNING:
            continue
        say(problem.format(root), stamped=stamped)


# A save's account names this many warnings of each file at most, then counts the rest.
WARNINGS_PER_FILE = 3


def in_brief(problems: Iterable[Problem], per_file: int = WARNINGS_PER_FILE) -> list[Problem]:
    """Return every error, the first `per_file` warnings of each file, and a count of the rest.

    `watch` says this after each save: an author reads what to fix first, not fifty lines.
    """
    shown: list[Problem] = []
    kept: dict[Path | None, int] = {}
    left: dict[Path, int] = {}
    for problem in problems:
        if problem.severity is Severity.ERROR or problem.path is None:
            shown.append(problem)
        elif kept.get(problem.path, 0) < per_file:
            kept[problem.path] = kept.get(problem.path, 0) + 1
            shown.append(problem)
        else:
            left[problem.path] = left.get(problem.path, 0) + 1
    for path, count in left.items():
        last = max(index for index, problem in enumerate(shown) if problem.path == path)
        shown.insert(last + 1, Problem(
            path, None, f"{count} more warning{'' if count == 1 else 's'} in this file "
            "(`course-assets check` lists the figure lint's)", Severity.WARNING))
    return shown


@dataclass(frozen=True)
class CliContext:
    """What every command gets: where to look for the course."""

    start: Path | None

    def settings(self) -> Settings:
        from course_assets.config import load_settings

        return load_settings(self.start)
