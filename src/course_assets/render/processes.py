"""Keep every process a build starts tied to it: none outlives the build or its figure.

Workers and script children ask the kernel to kill them when their parent dies (Linux), and
check at once that it has not died already. Each script runs in a process group of its own,
killed as a whole when its figure is done, so whatever the script left running goes with it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
PR_SET_CHILD_SUBREAPER = 36
# Whether this process inherits what its children's children leave running (a worker does).
_adopting = False


def die_with_parent(parent: int, signal_number: int = signal.SIGKILL) -> None:
    """Have this process sent `signal_number` (killed) when `parent` dies; exit at once if it
    is gone already."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal_number), 0, 0, 0)
    # The parent may have died before the request took effect: then this process was handed
    # to another parent, and nothing would ever kill it.
    if os.getppid() != parent:
        os._exit(1)


def adopt_orphans() -> None:
    """Inherit every process a descendant leaves behind, so `end_adopted` can end it (Linux).

    A script's daemon leaves its process group for a session of its own; without this it
    would be handed to init and outlive the build.
    """
    global _adopting
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            _adopting = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def end_adopted() -> None:
    """Kill and reap every child this process has, if it adopts orphans (see `adopt_orphans`).

    Call it only where nothing else of this process is a child (a worker, between figures).
    """
    if not _adopting:
        return
    for _ in range(100):  # each round ends one generation of what the daemons started
        try:
            reaped, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # no child at all: the usual case, at the cost of one system call
        if reaped:
            continue
        children = _children()
        if not children:
            return
        for child in children:
            with contextlib.suppress(OSError):
                os.kill(child, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(-1, 0)


def _children() -> list[int]:
    me, found = os.getpid(), []
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as stat:
                    parent = int(stat.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if parent == me:
                found.append(int(entry.name))
    return found


def lead_own_group() -> None:
    """Make this process the leader of a new process group (its children join it)."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)


def put_in_own_group(pid: int) -> None:
    """Make child `pid` lead its own group, from the parent's side (whichever runs first)."""
    with contextlib.suppress(OSError):
        os.setpgid(pid, pid)


def kill_group(leader: int) -> None:
    """Kill every process left in the group that `leader` leads."""
    with contextlib.suppress(OSError):
        os.killpg(leader, signal.SIGKILL)
