"""What the commands share: printing progress and problems the same way."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import click

from course_assets.errors import Problem, Severity, report_order


def progress(quiet: bool) -> Callable[[str], None]:
    """Return a reporter that prints one plain line per step, or nothing with -q."""
    if quiet:
        return lambda message: None

    def say(message: str) -> None:
        click.echo(message, err=True)
        sys.stderr.flush()

    return say


def print_problems(problems: Iterable[Problem], root: Path, quiet: bool = False) -> None:
    """Print errors (always) and warnings (unless quiet) as `path:line: message`."""
    for problem in report_order(problems):
        if quiet and problem.severity is Severity.WARNING:
            continue
        click.echo(problem.format(root), err=True)
