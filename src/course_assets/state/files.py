"""Write files atomically, hash them, and lock the output folder against a second build."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from course_assets.errors import BuildLockedError, OutputError
from course_assets.outputs import LOCK, OutputPaths


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# The cache's key for values worked out from files' bytes (see FileHashes.derived); never a
# file's path, as every other key is.
DERIVED_KEY = "\0derived"


class FileHashes:
    """Hash files' bytes; with a cache file, skip reading files whose size, mtime and inode match.

    A build with nothing to do would otherwise read and hash every output (tens of megabytes
    for a large course). `check` uses it without a cache: it always hashes the bytes.
    """

    def __init__(self, cache: Path | None = None) -> None:
        self.cache = cache
        self.entries: dict[str, list[object]] = {}
        loaded: object = {}
        if cache is not None:
            try:
                self.entries = json.loads(cache.read_text(encoding="utf-8"))
                loaded = self.entries.pop(DERIVED_KEY, {})
            except (OSError, ValueError, AttributeError):
                self.entries = {}
        self._derived_before: dict[str, object] = loaded if isinstance(loaded, dict) else {}
        self._derived: dict[str, list[str]] = {}
        self.changed = False

    def derived(self, key: str, make: Callable[[], list[str]]) -> list[str]:
        """Return `make()`, remembered in the cache under `key` from one build to the next.

        `key` must name everything the value is made from (the hashes of the files it reads):
        a build with nothing to do then reads and parses none of them. Without a cache file,
        always `make()`.
        """
        if self.cache is None:
            return make()
        if key not in self._derived:
            known = self._derived_before.get(key)
            if isinstance(known, list) and all(isinstance(item, str) for item in known):
                self._derived[key] = known
            else:
                self._derived[key] = make()
                self.changed = True
        return self._derived[key]

    def sha256(self, path: str | os.PathLike[str]) -> str | None:
        """Return the hash of the file's bytes, or None when it does not exist."""
        # A path may come as a string: a build asks this of every output, and a Path made for
        # each costs about as much as its stat.
        name = os.fspath(path)
        try:
            if self.cache is None:
                return sha256_bytes(_read_bytes(name))
            stat = os.stat(name)
            key: list[object] = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
            entry = self.entries.get(name)
            if entry is not None and entry[:3] == key:
                return str(entry[3])
            digest = sha256_bytes(_read_bytes(name))
            self.entries[name] = [*key, digest]
            self.changed = True
            return digest
        except FileNotFoundError:
            return None
        except IsADirectoryError:
            return "directory"
        except OSError as exc:  # a folder in the way is a file, or the file cannot be read
            raise OutputError(f"{path}: cannot read: {exc.strerror or exc}") from None

    def remember(self, path: Path, digest: str) -> None:
        """Record the hash of a file just written, so the next build need not read it."""
        if self.cache is None:
            return
        with contextlib.suppress(OSError):
            stat = path.stat()
            self.entries[str(path)] = [stat.st_size, stat.st_mtime_ns, stat.st_ino, digest]
            self.changed = True

    def save(self, write: Callable[[Path, bytes], None] | None = None) -> None:
        """Write the cache back with `write` (default: atomic_write), if anything in it changed.

        A failure only costs speed.
        """
        # Only the values this build asked for are kept (one that asked for none keeps all),
        # so values of files long gone do not pile up.
        derived = self._derived or self._derived_before
        if self.cache is not None and (self.changed or derived.keys() != self._derived_before.keys()):
            entries = {**self.entries, DERIVED_KEY: derived} if derived else self.entries
            with contextlib.suppress(OSError, OutputError):
                (write or atomic_write)(self.cache, json.dumps(entries, sort_keys=True).encode())


def _read_bytes(name: str) -> bytes:
    with open(name, "rb") as file:
        return file.read()


def host_name() -> str:
    """Return this machine's name, as socket.gethostname() does."""
    if hasattr(os, "uname"):  # the same system call, without loading the socket module
        return os.uname().nodename
    import socket

    return socket.gethostname()


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that readers see the old file or the new one, never a part."""
    _rename_over(_temporary_copy(path, data), path)


def _rename_over(temporary: Path, path: Path) -> None:
    """Make `temporary`, written beside `path`, the file at `path`; remove it if that fails."""
    try:
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise OutputError(_why(path, exc)) from None


def _why(path: Path, exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return f"{path}: cannot write: the disk is full; nothing was half-written, free space and build again"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{path}: cannot write: the folder is read-only or not yours ({exc.strerror})"
    return f"{path}: cannot write: {exc.strerror or exc}"


class OutputFolder:
    """Write, replace and delete files of one course's build folder, and nothing else.

    Every file a build changes goes through here: a regular file whose real location is inside
    the build folder. A path outside it, or one reached through a link that leads out of it, is
    refused before anything is written.
    """

    def __init__(self, outputs: OutputPaths) -> None:
        self.outputs = outputs
        self._real_build: Path | None = None

    def _checked_build_folder(self) -> Path:
        """Return where the build folder really is, once it is known to be inside the course.

        Worked out once a build (each of its files is checked two or three times): a folder
        swapped for a link later is still caught, as every file's own folder is resolved.
        """
        if self._real_build is None:
            build = self.outputs.build_dir
            root = self.outputs.root.resolve()
            real_build = build.resolve()
            if real_build != root and root not in real_build.parents:
                raise OutputError(f"{build}: the build folder is a link to {real_build}, "
                                  "outside the course; the build writes only inside the course: "
                                  "replace the link with a folder")
            self._real_build = real_build
        return self._real_build

    def target(self, path: Path) -> Path:
        """Return `path` if the build may write or delete it; raise OutputError otherwise."""
        build = self.outputs.build_dir
        real_build = self._checked_build_folder()
        try:
            inside = path.relative_to(build)
        except ValueError:
            raise OutputError(f"{path}: not inside the build folder {build}; the build writes "
                              "and removes only its own files there") from None
        if not inside.parts or ".." in inside.parts:
            raise OutputError(f"{path}: not inside the build folder {build}; the build writes "
                              "and removes only its own files there")
        # The deepest folder that exists already must really be inside the build folder: a
        # link in the way (build/chapters -> elsewhere) would carry the write out of it.
        folder = path.parent
        while not folder.exists() and folder != build:
            folder = folder.parent
        real = folder.resolve()
        if real != real_build and real_build not in real.parents:
            shown = self.outputs.relative(folder) if folder.is_relative_to(self.outputs.root) \
                else str(folder)
            raise OutputError(f"{shown}: is a link to {real}, outside the build folder; the "
                              "build writes only inside it: replace the link with a folder")
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise OutputError(f"{self.outputs.relative(path)}: is a link or a folder, not a file "
                              "the build wrote; the build replaces and removes only its own "
                              "files: move it away")
        return path

    def write(self, path: Path, data: bytes) -> None:
        """Replace the file at `path` with `data`, atomically."""
        atomic_write(self.target(path), data)

    def rename_into(self, path: Path, temporary: Path) -> None:
        """Make `temporary`, a file written beside `path`, the file at `path`, atomically."""
        _rename_over(temporary, self.target(path))

    def remove(self, path: Path) -> None:
        """Delete the file at `path`, if it is still there."""
        try:
            os.unlink(self.target(path))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise OutputError(f"{self.outputs.relative(path)}: cannot remove: "
                              f"{exc.strerror}") from None

    def remove_stale_temporaries(self) -> None:
        """Delete temporary files a killed build may have left behind (never through a link)."""
        build = self.outputs.build_dir
        if build.is_symlink() or not build.is_dir():
            return
        for folder, _, names in os.walk(build, followlinks=False):
            for name in names:
                if not (name.startswith(".") and name.endswith(".tmp")):
                    continue  # most files: no Path made for them (hundreds, every build)
                leftover = Path(folder) / name
                if not leftover.is_symlink():
                    with contextlib.suppress(OSError):
                        leftover.unlink()

    def lock(self, wait: float = 60.0,
             say: Callable[[str], None] | None = None) -> contextlib.AbstractContextManager[None]:
        """Hold the build folder's lock (see `build_lock`)."""
        self.target(self.outputs.lock)
        return build_lock(self.outputs.build_dir, wait, say)


@dataclass(frozen=True)
class Held:
    """An output staged by `Staging.made_apart`: its hash, and its bytes or temporary file."""

    path: str
    digest: str
    temporary: str | None = None
    data: bytes | None = None


class Staging:
    """Hold a build's new outputs until it writes them: on disk beside their targets, or in memory.

    On disk, each output is a hidden temporary file (as `atomic_write` makes) in its target's
    folder, already flushed, so writing it is one rename; a build holds its figures there
    rather than in memory, however many and large they are. In memory (`folder` None) nothing
    touches the disk, for a build that only compares.
    """

    def __init__(self, root: Path, folder: OutputFolder | None) -> None:
        self.root = root
        self.folder = folder
        self._digests: dict[str, str] = {}
        self._data: dict[str, bytes] = {}
        self._temporaries: dict[str, Path] = {}

    def put(self, path: str, data: bytes) -> str:
        """Hold `data` as the new content of `path` (relative to the course); return its hash."""
        return self.adopt(self.made_apart(path, data))

    def made_apart(self, path: str, data: bytes) -> Held:
        """Stage `data` for `path` without holding it yet: in another process, say, which
        hands the result to this one's `adopt` (or `discard`)."""
        if self.folder is None:
            return Held(path, sha256_bytes(data), data=data)
        temporary = _temporary_copy(self.folder.target(self.root / path), data)
        return Held(path, sha256_bytes(data), temporary=str(temporary))

    def adopt(self, held: Held) -> str:
        """Hold what `made_apart` staged, as `put` would have; return its hash."""
        self.drop(held.path)
        if held.temporary is not None:
            self._temporaries[held.path] = Path(held.temporary)
        else:
            assert held.data is not None, "staged in memory or on disk"
            self._data[held.path] = held.data
        self._digests[held.path] = held.digest
        return held.digest

    def discard(self, held: Held) -> None:
        """Remove what `made_apart` staged and will not be held."""
        if held.temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(held.temporary)

    def __contains__(self, path: object) -> bool:
        return path in self._digests

    def paths(self) -> list[str]:
        """Return the path of every held output, sorted."""
        return sorted(self._digests)

    def digest(self, path: str) -> str:
        """Return the hash of the held content of `path`."""
        return self._digests[path]

    def read(self, path: str) -> bytes:
        """Return the held content of `path`."""
        if path in self._data:
            return self._data[path]
        try:
            return self._temporaries[path].read_bytes()
        except OSError as exc:
            raise OutputError(f"{path}: a staged output went missing: {exc.strerror}") from None

    def in_memory(self) -> dict[str, bytes]:
        """Return every held output's content (for a build that does not write)."""
        return {path: self.read(path) for path in self.paths()}

    def publish(self, path: str) -> None:
        """Make the held content of `path` the file itself, atomically."""
        if self.folder is None:
            raise OutputError(f"{path}: this build writes nothing")
        # Forgotten only once it is the file: a target refused leaves it for `close` to remove.
        self.folder.rename_into(self.root / path, self._temporaries[path])
        del self._temporaries[path]

    def drop(self, path: str) -> None:
        """Forget the held content of `path` (the file on disk already has it, say)."""
        self._data.pop(path, None)
        self._digests.pop(path, None)
        temporary = self._temporaries.pop(path, None)
        if temporary is None or self.folder is None:
            return
        try:
            # Its folder may have become a link out of the build folder since: never remove
            # through one. A temporary left behind is removed by the next build.
            self.folder.target(self.root / path)
        except OutputError:
            return
        with contextlib.suppress(OSError):
            os.unlink(temporary)

    def close(self) -> None:
        """Remove whatever is still held; a build that stops halfway leaves its outputs whole."""
        for path in list(self._digests):
            self.drop(path)


def _temporary_copy(target: Path, data: bytes) -> Path:
    """Write `data` to a new hidden temporary file beside `target`, flushed to disk."""
    import tempfile  # only a build that writes loads it

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                             dir=target.parent)
    except OSError as exc:
        raise OutputError(_why(target, exc)) from None
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise OutputError(_why(target, exc)) from None
    return Path(temporary)


# Lock descriptors this process holds. A forked child (a worker, a script's process) closes its
# copies at once: a flock belongs to the open file, so a child that outlived a killed build would
# otherwise keep the course locked.
_held_locks: set[int] = set()


def _close_held_locks() -> None:
    for descriptor in _held_locks:
        with contextlib.suppress(OSError):
            os.close(descriptor)
    _held_locks.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_held_locks)


@dataclass(frozen=True)
class LockHolder:
    """The build that holds (or last held) a lock: its process, machine and start time."""

    pid: int
    host: str
    started: float

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started))
        return f"PID {self.pid} on {self.host}, started {when}"

    def is_gone(self) -> bool:
        """Say whether this holder's process has ended (known only on this machine)."""
        if self.host != host_name():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False
        return False

    def to_bytes(self) -> bytes:
        return json.dumps({"pid": self.pid, "host": self.host, "started": self.started}).encode()


def _read_holder(descriptor: int) -> LockHolder | None:
    try:
        data = json.loads(os.pread(descriptor, 4096, 0) or b"null")
        return LockHolder(int(data["pid"]), str(data["host"]), float(data["started"]))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _open_lock(path: Path) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as exc:
        raise OutputError(_why(path, exc)) from None


@contextlib.contextmanager
def build_lock(folder: Path, wait: float = 60.0,
               on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `folder`, waiting up to `wait` seconds for another build.

    The lock file names its holder. A lock left by a build that is gone is taken over at once.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: builds are not locked there
        yield
        return
    say = on_wait or (lambda message: None)
    path = folder / LOCK
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(_why(path, exc)) from None
    descriptor = _open_lock(path)
    try:
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(descriptor)
                if holder is not None and holder.is_gone():
                    # Something the gone build started still holds the file: lock a new one.
                    say(f"the build that held the lock on {folder} ({holder.describe()}) is "
                        "gone; taking the lock over")
                    with contextlib.suppress(OSError):
                        os.unlink(path)
                    os.close(descriptor)
                    descriptor = _open_lock(path)
                    continue
                if time.monotonic() >= deadline:
                    who = f" ({holder.describe()})" if holder else ""
                    raise BuildLockedError(
                        f"{folder}: another course-assets build{who} is still running; "
                        "wait for it to finish and run this one again"
                    ) from None
                if not told:
                    who = f" ({holder.describe()})" if holder else ""
                    say(f"waiting for another build{who} of {folder} to finish...")
                    told = True
                time.sleep(0.1)
                continue
            if os.fstat(descriptor).st_ino != _inode(path):
                os.close(descriptor)  # another build replaced the file meanwhile: lock that one
                descriptor = _open_lock(path)
                continue
            break
        previous = _read_holder(descriptor)
        if previous is not None and previous.pid != os.getpid():
            say(f"the build that held the lock on {folder} ({previous.describe()}) ended "
                "without releasing it; taking the lock over")
        me = LockHolder(os.getpid(), host_name(), time.time())
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, me.to_bytes(), 0)
        _held_locks.add(descriptor)
        try:
            yield
        finally:
            _held_locks.discard(descriptor)
            with contextlib.suppress(OSError):
                os.ftruncate(descriptor, 0)
    finally:
        os.close(descriptor)


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None
