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
