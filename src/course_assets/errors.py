"""Problems the tool reports, and the exceptions that carry them to the command line."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


# A Python object's memory address, as its repr shows it ("<_io.BytesIO object at 0x7f...>").
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def without_addresses(text: str) -> str:
    """Return `text` without memory addresses, which differ from run to run."""
    return _ADDRESS.sub("", text)


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the course, located at `path:line` where that is known."""

    path: Path | None
    line: int | None
    message: str
    severity: Severity = Severity.ERROR
    column: int | None = None

    def __post_init__(self) -> None:
        # A message is shown, compared and kept in the manifest: the same cause, the same bytes.
        object.__setattr__(self, "message", without_addresses(self.message))

    def location(self, root: Path | None = None) -> str:
        if self.path is None:
            return ""
        shown = display_path(self.path, root)
        if self.line is None:
            return shown
        if self.column is None:
            return f"{shown}:{self.line}"
        return f"{shown}:{self.line}:{self.column}"

    def format(self, root: Path | None = None) -> str:
        where = self.location(root)
        prefix = "warning: " if self.severity is Severity.WARNING else ""
        return f"{where}: {prefix}{self.message}" if where else f"{prefix}{self.message}"


def report_order(problems: Iterable[Problem]) -> list[Problem]:
    """Return problems as every report shows them: errors first, then by file and line."""
    return sorted(problems, key=lambda p: (p.severity is Severity.WARNING, str(p.path or ""),
                                           p.line or 0))


def display_path(path: Path, root: Path | None) -> str:
    """Show `path` relative to `root` when it lies inside it, else as given."""
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return str(path)


class ExitCode(enum.IntEnum):
    """Every exit status of every command: the one table (`make docs` copies it to the docs)."""

    OK = 0
    FAILED = 1
    USAGE = 2
    STALE = 3
    # 128 + the signal's number, as a shell reports a process that a signal ended.
    HUNG_UP = 129
    TERMINATED = 143


EXIT_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.FAILED: "a build, a figure, a chapter or a lint rule failed: fix the course",
    ExitCode.USAGE: "the command line, the settings or the course's layout is unusable: "
                    "nothing was done",
    ExitCode.STALE: "`check` only: `build/` is not what a build would write (stale, missing, "
                    "orphaned or edited by hand); `course-assets build` fixes it",
    ExitCode.HUNG_UP: "stopped by SIGHUP (its terminal closed), as Ctrl-C stops it: its "
                      "processes and scratch folders are gone, what it wrote is whole, the next "
                      "build does the rest",
    ExitCode.TERMINATED: "stopped by SIGTERM (`kill PID`, a cancelled CI job), as Ctrl-C stops "
                         "it: its processes and scratch folders are gone, what it wrote is "
                         "whole, the next build does the rest",
}


class CourseAssetsError(Exception):
    """An error the command line reports as one message and an exit code."""

    exit_code: ExitCode = ExitCode.FAILED


class ConfigError(CourseAssetsError):
    """The course or its settings are unusable: nothing was built."""

    exit_code = ExitCode.USAGE


class BuildLockedError(CourseAssetsError):
    """Another build holds the lock on the output folder."""


class OutputError(CourseAssetsError):
    """An output could not be written (read-only or full disk, or a hand-edited file)."""


class FigureError(CourseAssetsError):
    """A figure script failed; carries the author's file and line."""

    def __init__(self, message: str, path: Path | None = None, line: int | None = None,
                 column: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.column = column
        self.output = ""

    def __reduce__(self) -> tuple[type[FigureError], tuple[object, ...]]:
        # Exceptions pickle only their args by default; keep the location across processes.
        return (type(self), (self.message, self.path, self.line, self.column))

    def problem(self) -> Problem:
        return Problem(self.path, self.line, self.message, Severity.ERROR, self.column)
