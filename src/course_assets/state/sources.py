"""Find a course's figure scripts and chapters, and hash what each output is built from."""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from course_assets.config import Settings
from course_assets.errors import Problem
from course_assets.reading import kind_problem, read_source


FIGURE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
# The longest figure or chapter name: its outputs' names add suffixes ("x.outline.md") and the
# build's hidden temporaries more ("._x.outline.md.12345678.tmp"), and a file name may have
# 255 bytes. A name this long is unreadable in a chapter anyway.
MAX_NAME = 100


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
    refused: set[str] = set()  # sources that are links to nothing or to outside the course
    figures: dict[str, Path] = {}
    if settings.diagrams_dir.is_dir():
        for script in sorted(settings.diagrams_dir.glob("*.py")):
            if script.name.startswith("_"):
                helper = kind_problem(script)  # a script importing it would wait for ever
                if helper is not None:
                    problems.append(Problem(script, None, helper))
                continue
            if not FIGURE_NAME.fullmatch(script.stem) or len(script.stem) > MAX_NAME:
                problems.append(Problem(script, None, _name_problem(script.stem)))
                continue
            link = (_link_problem(script, settings.root, "figure script")
                    or kind_problem(script))
            if link is not None:
                problems.append(Problem(script, None, link))
                refused.add(script.stem)
                continue
            figures[script.stem] = script
    chapters: dict[str, Path] = {}
    if settings.chapters_dir.is_dir():
        for source in sorted(settings.chapters_dir.rglob("*.md")):
            relative = source.relative_to(settings.chapters_dir)
            if any(part.startswith(("_", ".")) for part in relative.parts):
                continue
            too_long = next((part for part in relative.with_suffix("").parts
                             if len(part.encode("utf-8", "surrogateescape")) > MAX_NAME), None)
            if too_long is not None:
                problems.append(Problem(source, None, _too_long(too_long, "chapter")))
                refused.add(relative.with_suffix("").as_posix())
                continue
            link = _link_problem(source, settings.root, "chapter") or kind_problem(source)
            if link is not None:
                problems.append(Problem(source, None, link))
                refused.add(relative.with_suffix("").as_posix())
                continue
            chapters[relative.with_suffix("").as_posix()] = source
    before = set(figures) | set(chapters) | refused
    problems += _drop_case_collisions(figures, "figure scripts")
    problems += _drop_case_collisions(chapters, "chapters")
    problems += _drop_output_collisions(chapters, settings)
    held_back = frozenset(before - set(figures) - set(chapters))
    return Sources(figures, chapters, tuple(problems), held_back)


def _too_long(name: str, what: str) -> str:
    return (f"a {what}'s name may have at most {MAX_NAME} characters, and this one has "
            f"{len(name)} characters: its output files could not be named after it; rename it")


def _name_problem(stem: str) -> str:
    """Say what is wrong with a figure script's name, and what to do."""
    if len(stem) > MAX_NAME and FIGURE_NAME.fullmatch(stem):
        return _too_long(stem, "figure script")
    # A dot would collide with the outputs' own suffixes (x.dark.py and x's x.dark.svg).
    if not stem[:1].isascii() or not stem[:1].isalnum():
        return (f"a figure script's name must start with a letter or a digit, and "
                f"{stem + '.py'!r} starts with {stem[:1]!r}; rename it, e.g. to "
                f"{_ascii_name(stem) + '.py'!r}")
    wrong = sorted({c for c in stem if not (c.isascii() and (c.isalnum() or c in "_-"))})
    return (f"a figure script's name may hold only letters, digits, '_' and '-', and "
            f"{stem + '.py'!r} holds {', '.join(repr(c) for c in wrong)}; rename it, e.g. to "
            f"{_ascii_name(stem) + '.py'!r}")


def _ascii_name(stem: str) -> str:
    """Return a figure name like `stem` that FIGURE_NAME accepts (fullwidth ＡＢ becomes AB)."""
    import unicodedata

    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", stem))
    kept = re.sub(r"[^A-Za-z0-9_-]+", "-", folded.encode("ascii", "ignore").decode())
    kept = kept.lstrip("-_")[:MAX_NAME]
    return kept if kept and kept != stem else "figure"


def _link_problem(path: Path, root: Path, what: str) -> str | None:
    """Say why a source that is a link cannot be used (dangling, or leading out of the course)."""
    if not path.is_symlink():
        return None
    target = path.resolve()
    if not target.exists():
        return (f"is a link to {os.readlink(path)}, which does not exist; restore that file or "
                "delete the link")
    if root.resolve() not in target.parents:
        return (f"is a link to {target}, outside the course; a {what} must be a file inside "
                "the course: copy the file in, or delete the link")
    return None


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


def _drop_output_collisions(chapters: dict[str, Path], settings: Settings) -> list[Problem]:
    """Remove chapters that would write another chapter's output, and say why.

    `intro.dark.md`'s PowerPoint deck is `intro.dark.pptx`, which is also `intro.md`'s dark deck.
    """
    paths = settings.outputs
    owner: dict[str, str] = {}
    problems = []
    # Shorter names first: `intro` keeps its outputs, `intro.dark` is the one renamed.
    for name in sorted(chapters, key=lambda n: (len(n), n)):
        outputs = (paths.chapter_output(name), *paths.slide_outputs(name))
        taken = next((path for path in outputs if path in owner), None)
        if taken is None:
            owner.update(dict.fromkeys(outputs, name))
            continue
        source = chapters.pop(name)
        problems.append(Problem(
            source, None,
            f"its output {taken} is also an output of chapter {owner[taken]!r}; rename this "
            "chapter"))
    return problems


DEFAULT_FIGURE_TEMPLATE = Path(__file__).parent.parent / "templates" / "figure.md.j2"
FIGURE_TEMPLATE_NAME = "figure.md.j2"
# A chapter's `diagram("name", ...)` call: the figure it shows and the rest of its arguments.
DIAGRAM_CALL = re.compile(r"""\bdiagram\(\s*(["'])(?P<name>[^"']+)\1(?P<rest>[^)]*)\)""")


def unknown_figure(name: str, known: Iterable[str], given: str | None = None) -> str:
    """Return the message for a figure `name` no script has, with the closest one known."""
    import difflib  # only for this message: a build with nothing to do never loads it

    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown figure {given or name!r}{hint} (figures: {', '.join(names) or 'none'})"


def figure_template_path(templates_dir: Path) -> Path:
    """Return the course's figure snippet template if it overrides ours, else the default."""
    override = templates_dir / FIGURE_TEMPLATE_NAME
    return override if override.is_file() else DEFAULT_FIGURE_TEMPLATE


def figure_description(script: Path) -> str | None:
    """Return the script's module docstring without running it, or None when it has none."""
    try:
        tree = ast.parse(read_source(script), filename=str(script))
    except (SyntaxError, ValueError, OSError):
        return None
    docstring = ast.get_docstring(tree)
    return docstring.strip() if docstring and docstring.strip() else None


def syntax_problem(script: Path) -> Problem | None:
    """Return the script's syntax error as a problem at its line and column, or None."""
    try:
        ast.parse(read_source(script), filename=str(script))
    except SyntaxError as exc:
        return Problem(script, exc.lineno, f"SyntaxError: {exc.msg}", column=exc.offset)
    except (ValueError, OSError):
        return None
    return None
