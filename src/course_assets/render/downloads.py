"""Files a figure script makes while it runs: downloads it fetches, icons it leaves behind.

The diagrams documentation's own `Custom` example downloads its icon into the working folder
(`urlretrieve(url, "rabbitmq.png")`) and shows it from there. A build runs each script in a
throwaway folder, so such a file is copied out before the folder goes, and every fetch is
recorded: a figure that needs a server to build is the dependency this tool exists to remove.
"""

from __future__ import annotations

import hashlib
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

# Where a child copies the files its script made, so that they outlive its working folder;
# set by the worker before it forks the child (None: leave them where they are).
_keep_dir: Path | None = None
# What the running script fetched, in order; the child reports it with its figure.
_fetches: list[Fetch] = []
_script: Path | None = None
_installed = False


@dataclass(frozen=True)
class Fetch:
    """One network access of a figure script: where to, from which line, and how it ended."""

    url: str
    line: int | None
    saved_as: str | None = None  # the file urlretrieve wrote, as the script named it
    error: str | None = None

    def fix(self, script: Path, course_root: Path) -> str:
        """Return the one command and edit that keep the fetched file in the course."""
        where = f"the download at line {self.line}" if self.line else "the download"
        if "://" not in self.url:  # a bare connection (another HTTP library): no URL to name
            return (f"download what it reads from {self.url} once, commit it to the course, "
                    f"and read it from there instead of {where}")
        name = Path(self.saved_as).name if self.saved_as else _file_name(self.url)
        target = script.parent / name
        try:
            shown = target.relative_to(course_root).as_posix()
        except ValueError:
            shown = str(target)
        return (f"keep the file in the course: run `curl -fsSL -o {shlex.quote(shown)} "
                f"{shlex.quote(self.url)}`, commit it, and delete {where} (Custom finds "
                f"{name!r} next to the script)")


def keep_files_in(folder: Path | None) -> None:
    """Copy files a script creates and shows as icons into `folder` (called before forking)."""
    global _keep_dir
    _keep_dir = folder


def start(script: Path) -> None:
    """Record the network accesses of `script` from now on (in the child that runs it)."""
    global _script
    _script = script
    _fetches.clear()
    _install()


def preload() -> None:
    """Import the modules the recording wraps, once per worker rather than once per figure."""
    # urllib.request pulls in http and email: about 20 ms that every forked child would repeat.
    import socket  # noqa: F401
    import urllib.request  # noqa: F401


def fetches() -> tuple[Fetch, ...]:
    """Return what the script fetched, in order."""
    return tuple(_fetches)


def failed_fetch() -> Fetch | None:
    """Return the first fetch that failed, if any did."""
    return next((fetch for fetch in _fetches if fetch.error is not None), None)


def created_icon(given: str) -> Path | None:
    """Return a lasting copy of `given` if the script created it in its working folder."""
    workdir = Path.cwd().resolve()
    candidate = Path(given) if Path(given).is_absolute() else workdir / given
    try:
        resolved = candidate.resolve()
    except OSError:
        return None
    if workdir not in resolved.parents or not resolved.is_file():
        return None
    if _keep_dir is None:
        return resolved
    data = resolved.read_bytes()
    kept = _keep_dir / f"created-{hashlib.sha256(data).hexdigest()[:16]}{resolved.suffix}"
    if not kept.exists():
        shutil.copyfile(resolved, kept)
    return kept


def is_created(icon: Path) -> bool:
    """Say whether `icon` is a file the script made while it ran (not one of the course's)."""
    folders = [Path.cwd().resolve()] + ([_keep_dir.resolve()] if _keep_dir else [])
    return any(folder in icon.resolve().parents for folder in folders)


def _file_name(url: str) -> str:
    name = Path(urlsplit(url).path).name
    return name or "icon.png"


def _script_line() -> int | None:
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if _script is not None and Path(frame.f_code.co_filename) == _script:
            return frame.f_lineno
        frame = frame.f_back
    return None


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    detail = str(reason) if reason is not None else str(exc)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _install() -> None:
    """Wrap urllib's entry points and the socket connect under every other HTTP library."""
    global _installed
    if _installed:
        return
    _installed = True
    import socket
    import urllib.request

    original_open = urllib.request.OpenerDirector.open
    original_retrieve = urllib.request.urlretrieve
    original_connect = socket.socket.connect
    inside_urllib = [0]

    def opener_open(self: Any, fullurl: Any, *args: Any, **kwargs: Any) -> Any:
        url = fullurl if isinstance(fullurl, str) else fullurl.full_url
        if inside_urllib[0] or not url.startswith(("http:", "https:", "ftp:")):
            return original_open(self, fullurl, *args, **kwargs)
        inside_urllib[0] += 1
        line = _script_line()
        try:
            response = original_open(self, fullurl, *args, **kwargs)
        except BaseException as exc:
            _fetches.append(Fetch(url, line, error=_describe(exc)))
            raise
        finally:
            inside_urllib[0] -= 1
        _fetches.append(Fetch(url, line))
        return response

    def urlretrieve(url: str, filename: Any = None, *args: Any, **kwargs: Any) -> Any:
        before = len(_fetches)
        inside_urllib[0] += 1
        line = _script_line()
        try:
            return original_retrieve(url, filename, *args, **kwargs)
        except BaseException as exc:
            _fetches[before:] = [Fetch(str(url), line, _name(filename), _describe(exc))]
            raise
        finally:
            inside_urllib[0] -= 1
            if len(_fetches) == before:
                _fetches.append(Fetch(str(url), line, _name(filename)))

    def connect(self: socket.socket, address: Any) -> Any:
        if inside_urllib[0] or self.family not in (socket.AF_INET, socket.AF_INET6):
            return original_connect(self, address)
        where = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)
        line = _script_line()
        try:
            result = original_connect(self, address)
        except BaseException as exc:
            _fetches.append(Fetch(where, line, error=_describe(exc)))
            raise
        _fetches.append(Fetch(where, line))
        return result

    # Replacing the methods on their classes is the point (every opener and socket the script
    # makes is seen); mypy refuses assignments to methods, and `connect` takes any address.
    urllib.request.OpenerDirector.open = opener_open  # type: ignore[method-assign]
    urllib.request.urlretrieve = urlretrieve
    socket.socket.connect = connect  # type: ignore[method-assign, assignment]


def _name(filename: Any) -> str | None:
    return str(filename) if filename else None
