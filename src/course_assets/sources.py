"""Find a course's figure scripts and chapters, and hash what each output is built from."""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from course_assets import __version__
from course_assets.config import Settings
from course_assets.errors import Problem


FIGURE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class Sources:
    """The course's figures and chapters by name, and what is wrong with how they are named."""

    figures: dict[str, Path]
    chapters: dict[str, Path]
    problems: tuple[Problem, ...]
    # Names left out because of a problem; their earlier outputs are kept, not orphaned.
    held_back: frozenset[str] = frozenset()


def discover(settings: Settings) -> Sources:
    """List figure scripts (not `_` helpers) and chapter sources (not `_` partials)."""
    problems: list[Problem] = []
    figures: dict[str, Path] = {}
    if settings.diagrams_dir.is_dir():
        for script in sorted(settings.diagrams_dir.glob("*.py")):
            if script.name.startswith("_"):
                continue
            if not FIGURE_NAME.fullmatch(script.stem):
                # A dot would collide with the outputs' own suffixes (x.dark.py and x's x.dark.svg).
                problems.append(Problem(script, None, "a figure script's name may hold letters, "
                                        "digits, '_' and '-' only; rename it"))
                continue
            figures[script.stem] = script
    chapters: dict[str, Path] = {}
    if settings.chapters_dir.is_dir():
        for source in sorted(settings.chapters_dir.rglob("*.md")):
            relative = source.relative_to(settings.chapters_dir)
            if not any(part.startswith(("_", ".")) for part in relative.parts):
                chapters[relative.with_suffix("").as_posix()] = source
    before = set(figures) | set(chapters)
    problems += _drop_case_collisions(figures, "figure scripts")
    problems += _drop_case_collisions(chapters, "chapters")
    held_back = frozenset(before - set(figures) - set(chapters))
    return Sources(figures, chapters, tuple(problems), held_back)


def _drop_case_collisions(named: dict[str, Path], what: str) -> list[Problem]:
    """Remove names that differ only in case from `named`, and say why."""
    # macOS and Windows file systems ignore case, so these would overwrite each other's output.
    by_folded: dict[str, list[str]] = {}
    for name in named:
        by_folded.setdefault(name.casefold(), []).append(name)
    problems = []
    for names in by_folded.values():
        if len(names) > 1:
            paths = [named.pop(n) for n in sorted(names)]
            problems.append(Problem(
                paths[0], None,
                f"{what} whose names differ only in case collide on macOS and Windows: "
                + ", ".join(p.name for p in paths) + "; rename one",
            ))
    return problems


DEFAULT_FIGURE_TEMPLATE = Path(__file__).parent / "templates" / "figure.md.j2"
FIGURE_TEMPLATE_NAME = "figure.md.j2"


def figure_template_path(templates_dir: Path) -> Path:
    """Return the course's figure snippet template if it overrides ours, else the default."""
    override = templates_dir / FIGURE_TEMPLATE_NAME
    return override if override.is_file() else DEFAULT_FIGURE_TEMPLATE


def library_versions() -> dict[str, str]:
    """Return the versions that shape the output, except Graphviz's (that needs `dot`)."""
    # Pillow encodes the PNGs and the icon tiles, so its version shapes their bytes too.
    return {"course-assets": __version__, "diagrams": _installed_version("diagrams"),
            "pillow": _installed_version("pillow")}


def _installed_version(distribution: str) -> str:
    # Reading the dist-info folder's name costs a millisecond; importlib.metadata costs thirty,
    # and a build with nothing to do should take well under a quarter of a second.
    for entry in sys.path:
        try:
            found = sorted(Path(entry or ".").glob(f"{distribution}-*.dist-info"))
        except OSError:
            continue
        if found:
            return found[-1].name[len(distribution) + 1:-len(".dist-info")]
    from importlib import metadata

    return metadata.version(distribution)


def dependency_path(settings: Settings, path: Path) -> str:
    """Name a file a figure depends on: relative to the course root, or absolute outside it."""
    try:
        return relative(settings, path)
    except ValueError:
        return path.resolve().as_posix()


def relative(settings: Settings, path: Path) -> str:
    """Return `path` relative to the course root, with slashes."""
    try:
        return path.relative_to(settings.root).as_posix()
    except ValueError:  # reached through a link or a relative path: compare real locations
        return path.resolve().relative_to(settings.root.resolve()).as_posix()


def hash_inputs(*parts: str | bytes) -> str:
    """Hash a sequence of labelled parts so that no two sequences collide by concatenation."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def read_or_missing(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b"\0missing"


def figure_inputs(settings: Settings, script: Path, helpers: tuple[str, ...],
                  environment: dict[str, str]) -> str:
    """Hash everything a figure's outputs depend on."""
    parts: list[str | bytes] = ["figure", settings.fingerprint()]
    parts += [f"{key}={value}" for key, value in sorted(environment.items())]
    parts += [relative(settings, script), read_or_missing(script)]
    for helper in helpers:
        parts += [helper, read_or_missing(settings.root / helper)]
    return hash_inputs(*parts)
