"""Which outside images a course allows: hosts and URL prefixes, compared as a browser reads URLs."""

from __future__ import annotations

import posixpath
import re
from urllib.parse import urlsplit


def is_allowed(url: str, allowed: tuple[str, ...]) -> bool:
    """Say whether `url` is on an allowed host, or under an allowed URL prefix.

    An entry without a `/` after its host names a whole host (`example.com`); one with a path
    names that prefix (`example.com/team/`). Schemes are ignored, hosts compared without case.
    """
    host, path = _host_and_path(url)
    for entry in allowed:
        allowed_host, allowed_path = _entry_parts(entry)
        if host == allowed_host and path.startswith(allowed_path):
            return True
    return False


def entry_host(entry: str) -> str:
    """Return the host an `external_images` entry names ("" when it names none)."""
    return _entry_parts(entry)[0]


def _entry_parts(entry: str) -> tuple[str, str]:
    # "example.com/team/" is read as "//example.com/team/": a host, then a path.
    entry = entry.strip()
    return _host_and_path(entry if "//" in entry else f"//{entry}")


def _host_and_path(url: str) -> tuple[str, str]:
    url = url.strip()
    if url.startswith("//") or url.lower().startswith(("http:", "https:")):
        # The URL standard reads a backslash as "/" in these: "/team/..\\x" is "/x" to a browser.
        url = url.replace("\\", "/")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:  # an unclosed "[" of an IPv6 address, a port that is not a number
        return "", "/"
    return host, _without_dot_segments(parts.path or "/")


def _without_dot_segments(path: str) -> str:
    # As a browser requests it: "/team/../x" is "/x", and "%2e" is a dot (the URL standard).
    decoded = re.sub(r"%2e", ".", path, flags=re.IGNORECASE)
    normal = posixpath.normpath(decoded) if decoded.startswith("/") else "/" + decoded
    normal = "/" + normal.lstrip("/")
    return normal + "/" if decoded.endswith("/") and normal != "/" else normal
