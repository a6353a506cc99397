"""Scratch folders in the system's temporary folder that outlive no process of the tool.

Each folder the tool makes there holds a lock file that its owner, the process that made it,
keeps locked until it removes the folder. The kernel lets go of the lock when the owner dies,
however it dies (SIGKILL, out of memory): `sweep_abandoned`, run when a pool of workers starts,
then knows the folder for one whose owner is gone, and removes it. A folder whose owner lives
(another build or watch, of this course or another) is never touched, nor one without the
lock file (the shared font cache, another tool's folder).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: folders are removed by their maker only
    fcntl = None  # type: ignore[assignment]

PREFIX = "course-assets-"
# Inside each owned folder: locked by its owner for as long as the folder is in use.
OWNER_LOCK = ".course-assets-owner"
# The lock file's name until it is locked: a sweep never sees it unlocked under OWNER_LOCK.
_UNLOCKED = OWNER_LOCK + ".new"

# The folders this process owns, each with the descriptor that holds its lock.
_held: dict[str, int] = {}


def make_owned_folder() -> str:
    """Make a new scratch folder in the system's temporary folder, owned by this process.

    Remove it with `remove_folder`; if this process dies first, the next pool's sweep does.
    """
    folder = tempfile.mkdtemp(prefix=PREFIX)
    if fcntl is None:  # pragma: no cover - Windows
        return folder
    handle: int | None = None
    try:
        unlocked = os.path.join(folder, _UNLOCKED)
        # Close-on-exec: a program a worker runs never holds it (forked children let go of it
        # in `_forget_in_child`).
        handle = os.open(unlocked, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o600)
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # For a person who finds the folder: who owns it.
        os.write(handle, f"{os.getpid()}\n".encode())
        # Renamed once locked: the lock file a sweep tries is never one not yet locked.
        os.rename(unlocked, os.path.join(folder, OWNER_LOCK))
    except BaseException:  # noqa: BLE001 - re-raised: a SIGTERM here leaves no unmarked folder
        shutil.rmtree(folder, ignore_errors=True)
        if handle is not None:
            os.close(handle)
        raise
    _held[folder] = handle
    return folder


def remove_folder(folder: str) -> None:
    """Remove a scratch folder; if this process owns it, let go of it once it is gone."""
    shutil.rmtree(folder, ignore_errors=True)
    # After the removal: a folder that could not be removed whole is left to the next sweep.
    handle = _held.pop(folder, None)
    if handle is not None:
        os.close(handle)


@contextlib.contextmanager
def owned_folder() -> Iterator[str]:
    """Make an owned scratch folder (see `make_owned_folder`); remove it on leaving."""
    folder = make_owned_folder()
    try:
        yield folder
    finally:
        remove_folder(folder)


def sweep_abandoned() -> list[str]:
    """Remove every scratch folder of this user's whose owner process has ended; return them.

    Only folders with the tool's prefix, owned by this user and holding an unlocked lock file
    go: a folder whose owner lives, or one without the lock file, stays.
    """
    if fcntl is None:  # pragma: no cover - Windows
        return []
    removed = []
    temporary = tempfile.gettempdir()
    try:
        entries = list(os.scandir(temporary))
    except OSError:
        return []
    for entry in entries:
        if not entry.name.startswith(PREFIX):
            continue
        with contextlib.suppress(OSError):
            # One cheap look first: most such folders (an older version's, the font cache)
            # have no lock file.
            if (entry.is_dir(follow_symlinks=False)
                    and os.path.lexists(os.path.join(entry.path, OWNER_LOCK))
                    and _abandoned_removed(entry.path)):
                removed.append(entry.path)
    return removed


def _abandoned_removed(folder: str) -> bool:
    """Remove `folder` if it is this user's and its owner has ended; say whether it was."""
    assert fcntl is not None
    directory = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        if os.fstat(directory).st_uid != os.getuid():
            return False
        try:
            # Non-blocking: a FIFO put in its place would hang the open.
            lock = os.open(OWNER_LOCK, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
                           | os.O_CLOEXEC, dir_fd=directory)
        except FileNotFoundError:
            return False  # not a folder the tool marks (or its maker is marking it now)
        try:
            if not stat.S_ISREG(os.fstat(lock).st_mode):
                return False
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # its owner lives
            # Held while removing: a second sweep at the same moment leaves it to this one.
            shutil.rmtree(folder, ignore_errors=True)
            return True
        finally:
            os.close(lock)
    finally:
        os.close(directory)


def _forget_in_child() -> None:
    """Let go of the parent's lock descriptors in a forked child: the parent alone owns them.

    Closing them here leaves the parent's locks held; were they kept, a worker or a script's
    daemon that outlived a killed build would keep its folder from the sweep.
    """
    handles = list(_held.values())
    _held.clear()
    for handle in handles:
        with contextlib.suppress(OSError):
            os.close(handle)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)
