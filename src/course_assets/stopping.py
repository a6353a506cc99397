"""Stop a command on SIGTERM or SIGHUP as Ctrl-C stops it: unwinding, leaving nothing behind.

Python's default for these signals ends the process at once, and no `finally` runs: the
workers would die with it, but the scratch folders and the pool's cleanup would not happen.
Here the first such signal raises `Terminated` (a KeyboardInterrupt, so that every place
that handles Ctrl-C handles it alike) in the main thread; the command stops, and exits with the
signal's code. Only the process that runs the command handles them so: every process forked
from it gets the handling it had before (a worker installs its own).
"""

from __future__ import annotations

import contextlib
import os
import signal
from types import FrameType
from typing import Any

from course_assets.errors import ExitCode

# Each signal that stops a command, and the exit code that says so.
STOPPING_SIGNALS: dict[signal.Signals, ExitCode] = {signal.SIGTERM: ExitCode.TERMINATED}
if hasattr(signal, "SIGHUP"):  # not on Windows
    STOPPING_SIGNALS[signal.SIGHUP] = ExitCode.HUNG_UP


class Terminated(KeyboardInterrupt):
    """A signal asked the command to stop (`kill`, a cancelled CI job, a closed terminal)."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal.Signals(signal_number).name)
        self.signal_number = signal_number

    @property
    def exit_code(self) -> ExitCode:
        return exit_code(self.signal_number)


# The first stopping signal received, if any.
_received: int | None = None
# Whether a stopping signal raises `Terminated` now: not once the command has ended.
_armed = False
# The handlers this process had before `stop_on_signals`, which forked children get back.
_before: dict[int, Any] = {}


def stop_on_signals() -> None:
    """Have SIGTERM and SIGHUP stop this process as Ctrl-C does (call from the main thread)."""
    global _armed
    for number in STOPPING_SIGNALS:
        if signal.getsignal(number) is signal.SIG_IGN:
            continue  # ignored on purpose (`nohup course-assets watch`): so it stays
        _before[number] = signal.signal(number, _stop)
    _armed = True


def stop_no_more() -> None:
    """Let a stopping signal from now on change nothing: the command has ended, exiting is left."""
    global _armed
    _armed = False


def received() -> int | None:
    """Return the stopping signal this process has received, if any."""
    return _received


def exit_code(signal_number: int) -> ExitCode:
    """Return the exit code that says a command was stopped by `signal_number`."""
    return STOPPING_SIGNALS[signal.Signals(signal_number)]


def _stop(signal_number: int, frame: FrameType | None) -> None:
    global _received
    if _received is not None or not _armed:
        # Stopping already: a second signal would cut the cleanup short (SIGKILL does not
        # wait). Or done: only exiting is left, and a traceback would be all it added.
        return
    _received = signal_number
    raise Terminated(signal_number)


def _restore_in_child() -> None:
    """Give a forked child the handling of these signals this process had before."""
    if not _before:
        return
    for number, handler in _before.items():
        with contextlib.suppress(ValueError, OSError, TypeError):
            signal.signal(number, handler)
    _before.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_restore_in_child)
