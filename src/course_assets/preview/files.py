"""Map request paths to files under the build folder, refusing anything that would leave it."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import stat
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

# Browsers download text/markdown; the built Markdown is for reading, so it is shown as text.
CONTENT_TYPES = {
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".md": "text/plain; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    # Named here: not every machine's mime.types knows it, and a guess would make it text.
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}


def build_file(build_dir: Path, url_path: str) -> Path | None:
    """Return the file under `build_dir` that `url_path` names, or None when it names none."""
    parts = url_parts(url_path)
    if parts is None:
        return None
    root = build_dir.resolve()
    try:
        # Resolving follows symbolic links, so a link pointing out of build/ is caught below.
        found = root.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if root not in found.parents or not found.is_file():
        return None
    return found


def script_file(scripts_dir: Path, quoted_name: str) -> Path | None:
    """Return the figure script `quoted_name` names: a `.py` file right inside `scripts_dir`."""
    parts = url_parts(f"/{quoted_name}")
    if parts is None or len(parts) != 1 or not parts[0].endswith(".py"):
        return None
    folder = scripts_dir.resolve()
    try:
        # Resolved: a link in the scripts' folder that points elsewhere serves nothing.
        found = (folder / parts[0]).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return found if found.parent == folder else None


def read_regular(path: Path, limit: int) -> bytes | None:
    """Return the bytes of `path` if it is a regular file of at most `limit` bytes, else None."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(handle.fileno())
        if not stat.S_ISREG(status.st_mode) or status.st_size > limit:
            return None
        return handle.read(limit + 1)[:limit]


def url_parts(url_path: str) -> list[str] | None:
    """Split a request path into folder names, or None when any could climb out or hide."""
    if not url_path.startswith("/"):
        return None  # absolute-form targets (http://...) and anything odd
    # Decode exactly once: a doubly encoded dot stays a literal "%2e" and names nothing.
    try:
        decoded = unquote(url_path, errors="strict")
    except UnicodeDecodeError:
        return None
    if "\\" in decoded or "\x00" in decoded:
        return None
    parts = decoded[1:].split("/")
    # An empty part is "//" (an absolute path once joined); dot-files are locks and temporaries.
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        return None
    return parts


def content_type(path: Path) -> str:
    """Return the Content-Type to serve `path` with."""
    suffix = path.suffix.lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


# The largest file the preview serves: a build's outputs are far smaller.
MAX_SERVED_BYTES = 1 << 30


def file_hash(path: Path) -> str | None:
    """Return a short hash of the file's bytes, or None when it cannot be read."""
    try:
        from course_assets.reading import read_source

        return hashlib.sha256(read_source(path, MAX_SERVED_BYTES)).hexdigest()[:16]
    except OSError:
        return None


def outputs_version(manifest: Path) -> str:
    """Return a short hash that changes whenever a build writes or removes an output."""
    # The manifest records every output's hash and is written last, so it stands for them all.
    return file_hash(manifest) or "none"


def versioned(build_dir: Path, page_url: str, reference: str) -> str:
    """Return `reference` (as found in a page at `page_url`) with its file's hash as `?v=`."""
    target = local_target(build_dir, page_url, reference)
    if target is None:
        return reference
    digest = file_hash(target)
    if digest is None:
        return reference
    base, _, fragment = reference.partition("#")
    joined = f"{base}{'&' if '?' in base else '?'}v={digest}"
    return f"{joined}#{fragment}" if fragment else joined


def local_target(build_dir: Path, page_url: str, reference: str) -> Path | None:
    """Return the build file a relative or root-relative `reference` points to, if any."""
    split = urlsplit(reference)
    if split.scheme or split.netloc or not split.path:
        return None
    return build_file(build_dir, urlsplit(urljoin(page_url, split.path)).path)
