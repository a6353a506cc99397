"""Report the links and images a course must not have: external images, and dangling paths."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from course_assets.errors import Problem, Severity
from course_assets.publish.markdown import is_external, references


def lint_markdown(path: Path, text: str, resolve_from: Path, *, images_must_resolve: bool,
                  links: bool, strict: bool) -> list[Problem]:
    """Report relative links or images that resolve to nothing."""
    problems = []
    link_severity = Severity.ERROR if strict else Severity.WARNING
    for ref in references(text):
        if is_external(ref.target) or ref.target.startswith("#") or "{{" in ref.target:
            continue
        local = unquote(urlsplit(ref.target).path)
        if not local:
            continue
        target = (resolve_from / local) if not local.startswith("/") else Path(local)
        if target.exists():
            continue
        if ref.kind == "image" and images_must_resolve:
            problems.append(Problem(path, ref.line, f"image {ref.target} resolves to nothing"))
        elif ref.kind == "link" and links:
            problems.append(Problem(path, ref.line,
                f"link {ref.target} resolves to nothing (no {_shown(target)})", link_severity))
    return problems


def external_images(path: Path, text: str, allowed: tuple[str, ...], *, strict: bool,
                    already: frozenset[str] = frozenset()) -> list[Problem]:
    """Report each image from an external URL that `allowed` does not name (and not in `already`).

    A warning, an error with `strict`: `build` and `check` both report them this way.
    """
    severity = Severity.ERROR if strict else Severity.WARNING
    return [Problem(path, ref.line,
                    f"image from an external URL: {ref.target} (the course then depends on "
                    "that site; draw a diagram as a figure script in diagrams/, keep a photo "
                    "in the course, linked from the built chapter in build/chapters/ "
                    "(`../../chapters/img/x.jpg`), or allow its host in `external_images` in "
                    "[tool.course-assets])", severity)
            for ref in references(text)
            if ref.kind == "image" and _loads_from_elsewhere(ref.target)
            and ref.target not in already and not is_allowed(ref.target, allowed)]


def external_image_targets(text: str) -> frozenset[str]:
    """Return the targets of every external image in `text`."""
    return frozenset(ref.target for ref in references(text)
                     if ref.kind == "image" and _loads_from_elsewhere(ref.target))


def _loads_from_elsewhere(target: str) -> bool:
    # A data: URI carries its image inside the chapter: nothing is loaded from anywhere.
    return is_external(target) and not target.lower().startswith("data:")


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


def _shown(target: Path) -> str:
    # Relative to the working directory when it is inside it, as the rest of the report is.
    try:
        return target.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(target)
