"""Run author code in a throwaway child process, so that nothing it does reaches the build."""

from __future__ import annotations

import contextlib
import faulthandler
import os
import pickle
import select
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows renders in the worker itself
    fcntl = None  # type: ignore[assignment]

from course_assets.errors import FigureError
from course_assets.render import processes, scratch

T = TypeVar("T")
# The real one: a script's run may replace os._exit to tell its line (see capture).
_exit = os._exit

_OK, _FAILED, _STAGE = b"ok", b"failed", b"stage:"
# In the child: where `announce` writes (the pipe to the parent).
_announce_to: int | None = None
# In the parent: the child running now, whose process group `end_child_in_hand` kills.
_child_in_hand: int | None = None
# In a worker: the folder its scratch folders go in. The process that started the worker
# removes it after the worker: a worker killed mid-figure (by its script, by the system, or as
# stuck) cannot remove its own.
_scratch_root: str | None = None
# How many of the pool's processes may paint at once (see `painting_turn`).
_painters = 1
# The memory a figure's or a chapter's child may take (its data: heap and anonymous maps).
# A figure of a thousand nodes with its PNG takes a few hundred megabytes; past this, a filter
# like `"x"|center(3000000000)` or a huge icon is a MemoryError at the author's line instead
# of the machine's memory.
MAX_CHILD_MEMORY = 2 * 2**30
# The exit code of a child that could not send its result (not one Graphviz uses).
_NO_REPORT = 70
# How often to look whether a child that has not closed its pipe has exited, in seconds.
_POLL = 0.05


class TimedOut(FigureError):
    """The author's code did not finish in time, and was killed."""


class FittingCrashed(FigureError):
    """Graphviz crashed laying out one of the build's other layouts, not the author's."""


def announce(stage: str, line: int | None = None) -> None:
    """Tell the parent what the child does next (and the script line it stands for), so that
    a crash or a timeout can name it."""
    if _announce_to is not None:
        os.write(_announce_to, _STAGE + f"{stage}:{line or ''}".encode() + b"\n")


def end_child_in_hand() -> None:
    """Kill the child running now and whatever it started, if any."""
    if _child_in_hand is not None:
        processes.kill_group(_child_in_hand)
        processes.end_adopted()


def keep_scratch_in(folder: str | None) -> None:
    """Make this process's scratch folders inside `folder` (None: the system's temporary one)."""
    global _scratch_root
    _scratch_root = folder


def paint_at_most(painters: int) -> None:
    """Let at most `painters` processes of this pool be in `painting_turn` at once."""
    global _painters
    _painters = max(1, painters)


@contextlib.contextmanager
def painting_turn() -> Iterator[None]:
    """Hold one of the pool's painting locks (as many as `paint_at_most` says) while inside.

    Outside a pool's workers (no shared scratch folder) there is no one to wait for. The
    system lets go of a lock when its holder ends, however it ends.
    """
    if _scratch_root is None or fcntl is None:
        yield
        return
    handles: list[int] = []
    with contextlib.suppress(OSError):  # the folder is gone (the pool is closing)
        for slot in range(_painters):
            handles.append(os.open(os.path.join(_scratch_root, f".paint.{slot}.lock"),
                                   os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
    try:
        if len(handles) == _painters:
            _take_a_lock(handles)
        yield
    finally:
        for handle in handles:
            os.close(handle)


def _take_a_lock(handles: list[int]) -> None:
    """Lock the first free of `handles`; if none is free, wait for one (this process's own)."""
    assert fcntl is not None
    for handle in handles:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            continue
    fcntl.flock(handles[os.getpid() % len(handles)], fcntl.LOCK_EX)


def shared_scratch(name: str) -> Path | None:
    """Return a folder every figure of this process's pool shares (None: there is no pool's)."""
    if _scratch_root is None:
        return None
    folder = Path(_scratch_root) / name
    folder.mkdir(exist_ok=True)
    return folder


def scratch_folder() -> str:
    """Make and return a new scratch folder; its maker removes it with `remove_scratch_folder`.

    Outside a pool's workers it is an owned folder of its own (see render/scratch.py).
    """
    if _scratch_root is None:
        return scratch.make_owned_folder()
    return tempfile.mkdtemp(prefix=scratch.PREFIX, dir=_scratch_root)


def remove_scratch_folder(folder: str | Path) -> None:
    """Remove a folder `scratch_folder` made."""
    scratch.remove_folder(str(folder))


def _child_scratch() -> contextlib.AbstractContextManager[str]:
    """Return a new scratch folder for a child, removed on leaving: in the pool's if any."""
    if _scratch_root is None:
        # The process that builds (a chapter's child is its own): a folder it owns, which the
        # next pool's sweep removes if this process is killed before it does.
        return scratch.owned_folder()
    return tempfile.TemporaryDirectory(prefix=scratch.PREFIX, dir=_scratch_root)


def run_isolated(job: Callable[[], T], timeout: float,
                 told: float | None = None) -> tuple[T, str]:
    """Return `job()` and what it printed, run in a forked child; raise FigureError on failure.

    `told` is the limit a timeout's message names, where `timeout` is what is left of it.

    The child gets its own working directory (a temporary folder that is deleted afterwards), its
    own sys.path, modules and globals, and no terminal: whatever the script changes, writes there
    or crashes with stays in the child.
    """
    if not hasattr(os, "fork"):  # pragma: no cover - Windows runs scripts in the worker itself
        return job(), ""
    with _child_scratch() as folder:
        output_path = os.path.join(folder, ".output")
        read_end, write_end = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # child
            os.close(read_end)
            processes.die_with_parent(parent)
            processes.lead_own_group()
            _run_child(job, write_end, folder, output_path)
        global _child_in_hand
        os.close(write_end)
        processes.put_in_own_group(pid)
        _child_in_hand = pid
        try:
            payload, status = _collect(pid, read_end, timeout)
        finally:
            _child_in_hand = None
            os.close(read_end)
        output = _read_output(output_path)
    stage, stage_line = "script", ""
    while payload.startswith(_STAGE):
        said, _, payload = payload.partition(b"\n")
        stage, _, stage_line = said[len(_STAGE):].decode().partition(":")
    timed_out = status is None  # then any result is cut short
    if payload.startswith(_OK) and not timed_out:
        return pickle.loads(payload[len(_OK):]), output
    if payload.startswith(_FAILED) and not timed_out:
        error: FigureError = pickle.loads(payload[len(_FAILED):])
        error.output = output
        raise error
    error = _death_error(status, timeout if told is None else told, output, stage)
    error.line = int(stage_line) if stage_line.isdigit() else None
    raise error


def _run_child(job: Callable[[], object], write_end: int, folder: str,
               output_path: str) -> None:
    global _announce_to
    _announce_to = write_end
    code = 0
    try:
        # A crash is reported by its signal; a traceback dump would only clutter the terminal.
        faulthandler.disable()
        # A warm worker leaves Ctrl-C to the watching process and unwinds on SIGTERM; the
        # script gets Python's defaults.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)  # a worker ends its figure on it
        signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the worker's figure clock is not its
        _limit_memory()
        os.chdir(folder)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        out = os.open(output_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(out, 1)
        os.dup2(out, 2)
        try:
            message = _OK + pickle.dumps(job())
        except FigureError as exc:
            message = _FAILED + pickle.dumps(exc)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, never raised here
            message = _FAILED + pickle.dumps(FigureError(f"{type(exc).__name__}: {exc}"))
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # the script may have closed it
                stream.flush()
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(message)
    except BaseException:  # noqa: BLE001 - the child must never return into the parent's code
        code = _NO_REPORT
    finally:
        _exit(code)


def _limit_memory() -> None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return
    with contextlib.suppress(ValueError, OSError):
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        limit = MAX_CHILD_MEMORY if hard == resource.RLIM_INFINITY else min(hard, MAX_CHILD_MEMORY)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


def _collect(pid: int, read_end: int, timeout: float) -> tuple[bytes, int | None]:
    """Read everything the child sends, then reap it; kill it when the time is up.

    Whatever the child started and left running (its process group) is killed too. The
    result is complete once the child has exited, even if one of those still holds the pipe.
    """
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    status: int | None = None
    closed = False  # the pipe's end: the child is exiting, or its script closed the pipe
    pause = 0.0005
    exited_fd = _exit_signal(pid)
    try:
        while status is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return b"".join(chunks), None  # what it announced says what it was doing
            if not closed:
                ready, _, _ = select.select([read_end], [], [], min(remaining, _POLL))
                if ready:
                    chunk = os.read(read_end, 1 << 16)
                    closed = not chunk
                    chunks += [chunk] if chunk else []
                    continue
            elif exited_fd is not None:
                # Usually the child exits a moment after closing it (readable: it has); a
                # script that closed it (os.closerange) runs on, and is waited for, up to the
                # time limit.
                select.select([exited_fd], [], [], min(remaining, _POLL))
            else:
                time.sleep(min(pause, remaining))
                pause = min(pause * 2, _POLL)
            exited, code = os.waitpid(pid, os.WNOHANG)
            if exited:
                status = code
                if not closed:
                    chunks += _drain(read_end)
    finally:
        if exited_fd is not None:
            os.close(exited_fd)
        processes.kill_group(pid)
        if status is None:
            with contextlib.suppress(ChildProcessError):
                _, status = os.waitpid(pid, 0)
        processes.end_adopted()  # what the script started that left its process group
    return b"".join(chunks), status


def _exit_signal(pid: int) -> int | None:
    """Return a descriptor that turns readable when child `pid` exits (Linux), else None."""
    # Waited on instead of polling: the light SVG is on its way a moment sooner.
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _drain(read_end: int) -> list[bytes]:
    """Return what is left in the pipe, without waiting for an end that may never come."""
    chunks = []
    while select.select([read_end], [], [], 0)[0]:
        chunk = os.read(read_end, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    return chunks


def _read_output(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            return handle.read(1 << 16).decode("utf-8", "replace")
    except OSError:
        return ""


def _death_error(status: int | None, timeout: float, output: str,
                 stage: str = "script") -> FigureError:
    error: FigureError
    if status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == _NO_REPORT:
        error = FigureError("the process that ran the script could not send its result back "
                            "(did the script close or replace a file descriptor it did not "
                            "open?)")
    elif stage == "exit" and status is not None and os.WIFEXITED(status):
        error = FigureError(f"the script called os._exit({os.WEXITSTATUS(status)}) here, which "
                            "ends its process at once, before its Diagram was done; let the "
                            "script run to its end")
    elif stage == "fitting" and status is not None and os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        error = FittingCrashed(f"Graphviz crashed ({name}) laying out another layout of the "
                               "figure")
    elif stage in ("graphviz", "fitting"):
        error = _graphviz_death(status, timeout)
    elif status is None:
        error = TimedOut(f"stopped after {timeout:g} s: the script did not finish in time "
                         "(raise the limit with --timeout or `timeout` in [tool.course-assets])")
    elif os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        error = FigureError(f"the script's process crashed ({name}) before its Diagram was done")
    else:
        code = os.WEXITSTATUS(status)
        error = FigureError(f"the script ended its process (exit code {code}, as os._exit does) "
                            "before its Diagram was done")
    error.output = output
    return error


def _graphviz_death(status: int | None, timeout: float) -> FigureError:
    if status is None:
        return TimedOut(f"stopped after {timeout:g} s: Graphviz did not finish laying out and "
                        "drawing the figure in time (simplify the graph, or raise the limit "
                        "with --timeout or `timeout` in [tool.course-assets])")
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        return FigureError(f"Graphviz crashed ({name}) while laying out the figure; the script "
                           "ran to its end, so the graph itself trips Graphviz (try other "
                           "splines, or fewer or simpler edge labels)")
    return FigureError(f"Graphviz ended the process (exit code {os.WEXITSTATUS(status)}) while "
                       "laying out the figure")
