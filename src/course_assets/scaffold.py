"""Start a course: the files `course-assets init` writes, none of them over an existing one."""

from __future__ import annotations

import json
import os
import re
import stat
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from course_assets.config import TABLE
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
    # Files that existed and were added to: "pyproject.toml", ".gitignore".
    extended: tuple[str, ...] = ()


def create_course(folder: Path) -> InitReport:
    """Write a course that builds and passes `check` into `folder`; refuse if any file exists."""
    root = folder.resolve()
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{folder}: not a folder")
    unsafe = unwritable_paths(root, [name for name, _ in FILES])
    if unsafe:
        raise ConfigError(f"{folder}: init wrote nothing, because " + "; ".join(unsafe))
    # An existing repository's pyproject.toml and .gitignore gain what the course needs.
    additions = adoption_additions(root)
    taken = [name for name, _ in FILES if name not in additions
             and ((root / name).exists() or (root / name).is_symlink())]
    if taken:
        raise CourseExistsError(
            f"{folder}: init writes nothing over existing files, and these exist: "
            f"{', '.join(taken)}; run it in an empty folder, or in a repository without "
            "them (an existing pyproject.toml and .gitignore are added to, not replaced)")
    created = []
    for name, template in FILES:
        if name in additions:
            continue
        target = root / name
        _make_folders(root, target.parent)
        data = template_bytes(template)
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
    extended = extend_existing(root, additions)
    return InitReport(root, tuple(created), extended)


def template_bytes(template: str) -> bytes:
    """Return a new course's file; the CI workflow names where this tool was installed from."""
    data = (TEMPLATES / template).read_bytes()
    if template == "workflow.yml.tmpl":
        source = install_source(_direct_url())
        # A GitHub expression's string is in single quotes (doubled inside); the whole value
        # is a YAML string in double quotes, as JSON writes it.
        quoted = "'" + source.replace("'", "''") + "'"
        expression = "${{ vars.COURSE_ASSETS_SOURCE || " + quoted + " }}"
        data = data.replace(b"@INSTALL_SOURCE@", json.dumps(expression).encode())
    return data


def install_source(direct_url: dict[str, Any] | None) -> str:
    """Return a pip requirement that installs this very version of the tool on another machine.

    From the PEP 610 record pip keeps of where a package came from: a pinned git commit or an
    archive URL with its hash. A folder on this machine, or an index pip does not name, gives ""
    (the workflow then asks for the COURSE_ASSETS_SOURCE variable).
    """
    if not direct_url or not isinstance(direct_url.get("url"), str):
        return ""
    url: str = direct_url["url"]
    if url.startswith("file:"):
        return ""
    vcs = direct_url.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("vcs") == "git" and vcs.get("commit_id"):
        return f"course-assets @ git+{url}@{vcs['commit_id']}"
    archive = direct_url.get("archive_info")
    if isinstance(archive, dict):
        hashes = archive.get("hashes") or {}
        pin = f"#sha256={hashes['sha256']}" if isinstance(hashes, dict) and "sha256" in hashes \
            else ""
        return f"course-assets @ {url}{pin}"
    return ""


def _direct_url() -> dict[str, Any] | None:
    try:
        text = metadata.distribution("course-assets").read_text("direct_url.json")
        data = json.loads(text) if text else None
    except (metadata.PackageNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def adoption_additions(root: Path) -> dict[str, bytes]:
    """Return the new bytes of the existing files a course is added to, checked before any write.

    pyproject.toml gains the [tool.course-assets] table, appended as text so that every byte,
    comment and order of the file stays; .gitignore gains the lines it lacks. Raise ConfigError
    when the table exists already, the TOML is invalid, or either file is not a plain file.
    """
    additions = {}
    pyproject = root / "pyproject.toml"
    if pyproject.exists() or pyproject.is_symlink():
        text = _plain_text(pyproject)
        try:
            tool = tomllib.loads(text).get("tool", {})
        except tomllib.TOMLDecodeError as exc:
            # tomllib names the place only in its message: "... (at line 3, column 7)".
            line = re.search(r"at line (\d+)", str(exc))
            where = f"{pyproject}:{line.group(1)}" if line else str(pyproject)
            raise CourseExistsError(f"{where}: invalid TOML ({exc}); fix it, then run init "
                                    "again: nothing was written") from None
        if isinstance(tool, dict) and TABLE in tool:
            raise CourseExistsError(
                f"{pyproject}: already has a [tool.{TABLE}] table: this folder is a course "
                "already; nothing was written")
        table = (TEMPLATES / "pyproject.toml.tmpl").read_text(encoding="utf-8")
        # After a blank line, in the file's own line endings.
        appended = ("" if not text or text.endswith("\n") else "\n") + ("\n" if text else "")
        appended += table
        if "\r\n" in text:
            appended = appended.replace("\n", "\r\n")
        if not _takes_the_table(text + appended):
            # `tool = 1`, an inline `tool = {...}` or an array `[[tool]]` cannot take the
            # table as text appended: say so instead of breaking the file.
            raise CourseExistsError(f"{pyproject}: its `tool` is not a table that can take "
                                    f"[tool.{TABLE}]; add the table by hand: nothing was written")
        additions["pyproject.toml"] = (text + appended).encode("utf-8")
    ignore = root / ".gitignore"
    if ignore.exists() or ignore.is_symlink():
        text = _plain_text(ignore)
        have = {line.strip() for line in text.splitlines()}
        wanted = (TEMPLATES / "gitignore.tmpl").read_text(encoding="utf-8").splitlines()
        missing = [line for line in wanted if line.strip() and line.strip() not in have
                   and not line.startswith("#")]
        if _ignores_build(text):
            # Python's usual .gitignore ignores build/, where the committed outputs live; the
            # build's own build/.gitignore still keeps its lock and cache out.
            missing += ["!/build/", "!/build/**"]
        if missing:
            ending = "" if not text or text.endswith("\n") else "\n"
            lines = "\n".join(["# course-assets", *missing])
            block = f"{ending}{lines}\n"
            if "\r\n" in text:  # in the file's own line endings, as pyproject.toml's table
                block = block.replace("\n", "\r\n")
            additions[".gitignore"] = f"{text}{block}".encode("utf-8")
        else:
            additions[".gitignore"] = text.encode("utf-8")
    return additions


# The lines of a .gitignore that ignore a top-level build/ folder, or everything in it.
BUILD_IGNORES = frozenset(f"{root}build{end}" for root in ("", "/", "**/")
                          for end in ("", "/", "/*", "/**"))


def _ignores_build(text: str) -> bool:
    """Say whether a .gitignore leaves build/ ignored: its last line about build/ ignores it."""
    ignored = False
    for line in text.splitlines():
        pattern = line.strip()
        if pattern.removeprefix("!") in BUILD_IGNORES:
            ignored = not pattern.startswith("!")
    return ignored


def _takes_the_table(text: str) -> bool:
    try:
        tool = tomllib.loads(text).get("tool")
    except tomllib.TOMLDecodeError:
        return False
    return isinstance(tool, dict) and isinstance(tool.get(TABLE), dict)


def _plain_text(path: Path) -> str:
    if path.is_symlink() or not path.is_file():
        raise CourseExistsError(f"{path}: not a plain file (a link, a folder or a device): "
                                f"init adds to a plain file only; nothing was written")
    try:
        return path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CourseExistsError(f"{path}: cannot read it as UTF-8 text ({exc}); nothing was "
                                "written") from None


def extend_existing(root: Path, additions: dict[str, bytes]) -> tuple[str, ...]:
    """Write the files `adoption_additions` prepared, each replaced atomically; return those
    that changed."""
    from course_assets.state.files import atomic_write

    changed = []
    for name, data in additions.items():
        target = root / name
        if target.read_bytes() != data:
            mode = target.stat().st_mode
            atomic_write(target, data)
            os.chmod(target, stat.S_IMODE(mode))  # the project's file keeps its permissions
            changed.append(name)
    return tuple(changed)


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
