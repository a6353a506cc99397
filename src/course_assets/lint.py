"""Report the links and images a course must not have: external images, and dangling paths."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from course_assets.errors import Problem, Severity
from course_assets.image_hosts import is_allowed
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


def _shown(target: Path) -> str:
    # Relative to the working directory when it is inside it, as the rest of the report is.
    try:
        return target.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(target)
