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
    taken = [name for name, _ in FILES if (root / name).exists() or (root / name).is_symlink()]
    if taken:
        raise CourseExistsError(
            f"{folder}: init writes nothing over existing files, and these exist: "
            f"{', '.join(taken)}; run it in an empty folder, or add the settings table "
            "[tool.course-assets] to your pyproject.toml by hand")
    created = []
    for name, template in FILES:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        data = (TEMPLATES / template).read_bytes()
        # O_EXCL: a file that appeared since the check above is still never overwritten.
        try:
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            raise CourseExistsError(f"{target}: appeared while init ran; nothing after it "
                                    "was written") from None
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        created.append(name)
    return InitReport(root, tuple(created))
