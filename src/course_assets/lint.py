"""Report the links and images a course must not have: external images, and dangling paths."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from course_assets.errors import Problem, Severity
from course_assets.publish.markdown import is_external, references


def lint_markdown(path: Path, text: str, resolve_from: Path, *, images_must_resolve: bool,
                  links: bool, strict: bool) -> list[Problem]:
    """Report external images, and relative links or images that resolve to nothing."""
    problems = []
    link_severity = Severity.ERROR if strict else Severity.WARNING
    for ref in references(text):
        if ref.kind == "image" and is_external(ref.target):
            problems.append(Problem(path, ref.line,
                f"image from an external URL: {ref.target} (the course must not depend on "
                "image services; draw it as a figure script in diagrams/)"))
            continue
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


def _shown(target: Path) -> str:
    # Relative to the working directory when it is inside it, as the rest of the report is.
    try:
        return target.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(target)
