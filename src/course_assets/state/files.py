"""Write files atomically, hash them, and lock the output folder against a second build."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from course_assets.errors import BuildLockedError, OutputError


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FileHashes:
    """Hash files' bytes; with a cache file, skip reading files whose size, mtime and inode match.

    A build with nothing to do would otherwise read and hash every output (tens of megabytes
    for a large course). `check` uses it without a cache: it always hashes the bytes.
    """

    def __init__(self, cache: Path | None = None) -> None:
        self.cache = cache
        self.entries: dict[str, list[object]] = {}
        if cache is not None:
            try:
                self.entries = json.loads(cache.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.entries = {}
        self.changed = False

    def sha256(self, path: Path) -> str | None:
        """Return the hash of the file's bytes, or None when it does not exist."""
        try:
            if self.cache is None:
                return sha256_bytes(path.read_bytes())
            stat = path.stat()
            key: list[object] = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
            entry = self.entries.get(str(path))
            if entry is not None and entry[:3] == key:
                return str(entry[3])
            digest = sha256_bytes(path.read_bytes())
            self.entries[str(path)] = [*key, digest]
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

    def save(self) -> None:
        """Write the cache back, if anything in it changed (a failure only costs speed)."""
        if self.cache is not None and self.changed:
            with contextlib.suppress(OSError, OutputError):
                atomic_write(self.cache, json.dumps(self.entries, sort_keys=True).encode())


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that readers see the old file or the new one, never a part."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(_why(path, exc)) from None
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
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


def remove_stale_temporaries(folder: Path) -> None:
    """Delete temporary files a killed build may have left behind."""
    if not folder.is_dir():
        return
    for leftover in folder.rglob(".*.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()


@contextlib.contextmanager
def build_lock(folder: Path, wait: float = 60.0,
               on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `folder`, waiting up to `wait` seconds for another build."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: builds are not locked there
        yield
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(_why(folder / ".lock", exc)) from None
    try:
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise BuildLockedError(
                        f"{folder}: another course-assets build is still running; "
                        "wait for it to finish and run this one again"
                    ) from None
                if not told and on_wait is not None:
                    on_wait(f"waiting for another build of {folder} to finish...")
                    told = True
                time.sleep(0.1)
        yield
    finally:
        os.close(descriptor)
