"""Read a course's source files: regular files only, and none larger than a limit.

A named pipe (FIFO) among the sources would block the build for ever while it holds the lock,
a device could stream without end: every source the build reads goes through `read_source`.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

# A chapter, a script, a helper or a template larger than this is a mistake (a log or a data
# file saved under the wrong name), and would take the build's memory.
MAX_SOURCE_BYTES = 32 * 1024 * 1024
# An icon may be a large photograph; its pixels are limited separately.
MAX_ICON_BYTES = 64 * 1024 * 1024

_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a folder"),
)


class NotASourceFile(OSError):
    """A path the build would read is not a regular file, or is too large to be a source."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(errno.EINVAL, problem, str(path))
        self.problem = problem


def kind_problem(path: Path) -> str | None:
    """Say what `path` is if it is not a regular file (a FIFO, a socket, a device), else None."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None  # missing or unreadable: each reader says so in its own words
    return _mode_problem(mode)


def _mode_problem(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    return (f"is {kind}, not a file; the build reads only regular files: delete it, or "
            "replace it with a file")


def read_source(path: Path, limit: int = MAX_SOURCE_BYTES) -> bytes:
    """Return the bytes of the regular file `path`; raise NotASourceFile for anything else.

    Never blocks: a FIFO is opened without waiting for a writer, then refused.
    """
    problem = kind_problem(path)
    if problem is not None:
        raise NotASourceFile(path, problem)
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(descriptor)
        problem = _mode_problem(status.st_mode)  # swapped for a pipe since the check above
        if problem is None and status.st_size > limit:
            problem = (f"is {status.st_size:,} bytes, more than the {limit:,} a source file "
                       "may have; is it the file you meant?")
        if problem is not None:
            raise NotASourceFile(path, problem)
        # As many bytes as fstat says, not `limit`: asking for 32 MB allocates them, which
        # costs more than reading a script. A file that grew since is read on to the limit.
        data = handle.read(status.st_size + 1)
        if len(data) > status.st_size:
            data += handle.read(limit + 1 - len(data))
    if len(data) > limit:  # grew while it was read
        raise NotASourceFile(path, f"grew past the {limit:,} bytes a source file may have")
    return data
