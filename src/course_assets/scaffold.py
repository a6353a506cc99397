"""Start a course: the files `course-assets init` writes, none of them over an existing one."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from course_assets.errors import ConfigError

TEMPLATES = Path(__file__).parent / "templates" / "course"

# Where each file of a new course goes, and the template it is copied from.
FILES = (
    ("pyproject.toml", "pyproject.toml.tmpl"),
    ("diagrams/_style.py", "style.py.tmpl"),
    ("diagrams/how_a_figure_is_built.py", "figure.py.tmpl"),
    ("chapters/introduction.md", "chapter.md.tmpl"),
    (".gitignore", "gitignore.tmpl"),
    (".github/workflows/course.yml", "workflow.yml.tmpl"),
)


class CourseExistsError(ConfigError):
    """`init` found files of its own names in the folder, and changed nothing."""


@dataclass(frozen=True)
class InitReport:
    """The course `init` made: its folder and the files it created, relative to it."""

    root: Path
    created: tuple[str, ...]


def create_course(folder: Path) -> InitReport:
    """Write a course that builds and passes `check` into `folder`; refuse if any file exists."""
    root = folder.resolve()
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{folder}: not a folder")
    unsafe = unwritable_paths(root, [name for name, _ in FILES])
    if unsafe:
        raise ConfigError(f"{folder}: init wrote nothing, because " + "; ".join(unsafe))
    taken = [name for name, _ in FILES if (root / name).exists() or (root / name).is_symlink()]
    if taken:
        raise CourseExistsError(
            f"{folder}: init writes nothing over existing files, and these exist: "
            f"{', '.join(taken)}; run it in an empty folder, or add the settings table "
            "[tool.course-assets] to your pyproject.toml by hand")
    created = []
    for name, template in FILES:
        target = root / name
        _make_folders(root, target.parent)
        data = (TEMPLATES / template).read_bytes()
        # O_EXCL: a file that appeared since the check above is still never overwritten.
        try:
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                                 | getattr(os, "O_NOFOLLOW", 0), 0o666)
        except FileExistsError:
            raise CourseExistsError(f"{target}: appeared while init ran; nothing after it "
                                    "was written") from None
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        created.append(name)
    return InitReport(root, tuple(created))


def unwritable_paths(root: Path, names: list[str]) -> list[str]:
    """Say, for each file `init` would write, why a folder on its way cannot take it.

    Checked before anything is written: a link that leads nowhere, or out of the course (a
    course never writes outside its folder), or a file where a folder must be.
    """
    problems: dict[str, str] = {}
    for name in names:
        place = root
        for part in Path(name).parts[:-1]:
            place = place / part
            shown = place.relative_to(root).as_posix()
            if shown in problems:
                break
            if place.is_symlink():
                target = place.resolve()
                if not target.exists():
                    problems[shown] = (f"{shown} is a link to {os.readlink(place)}, which does "
                                       "not exist; remove the link or make that folder")
                    break
                if root != target and root not in target.parents:
                    problems[shown] = (f"{shown} is a link to {target}, outside the course "
                                       "folder, and init never writes outside it; remove the "
                                       "link, or run init where that folder lies")
                    break
            if place.exists() and not place.is_dir():
                problems[shown] = f"{shown} is a file, where init needs a folder"
                break
            if not place.exists():
                break
    return list(problems.values())


def _make_folders(root: Path, folder: Path) -> None:
    """Make `folder` and those above it inside `root`, checked by `unwritable_paths` already."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # changed since the check: a link or a file appeared
        raise ConfigError(f"{folder}: cannot make this folder ({exc.strerror}); init stopped "
                          "there") from None
    if root != folder.resolve() and root not in folder.resolve().parents:
        raise ConfigError(f"{folder}: became a link out of the course while init ran; init "
                          "stopped there")
