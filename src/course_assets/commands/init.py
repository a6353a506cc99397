"""`course-assets init`: start a course that builds and passes `check` at once."""

from __future__ import annotations

from pathlib import Path

import click

from course_assets.commands import common
from course_assets.config import TABLE


@click.command("init")
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def command(obj: common.CliContext, folder: Path | None) -> None:
    """Create a course in FOLDER (default: the -C folder, else the working directory).

    \b
    Writes pyproject.toml (the [tool.course-assets] settings table),
    diagrams/_style.py (the course style: light and dark palettes),
    diagrams/how_a_figure_is_built.py (an example figure),
    chapters/introduction.md (a chapter that embeds it), a .gitignore, and
    .github/workflows/course.yml (a CI workflow that runs `course-assets check`).
    In a folder that has a pyproject.toml, it adds the [tool.course-assets] table to it,
    keeping everything there (and a .gitignore gains the lines it lacks). If any other of these
    files exists, or the table does, it stops and writes nothing.
    """
    import course_assets

    if folder is None:
        folder = obj.start  # like every command, init works on the -C folder when given
    report = course_assets.init_course(folder or Path.cwd())
    for name in report.created:
        click.echo(f"created {name}")
    for name in report.extended:
        what = f"[tool.{TABLE}]" if name == "pyproject.toml" else "the lines a course needs"
        click.echo(f"added {what} to {name}")
    where = "" if folder is None else f" -C {folder}"
    click.echo(f"Next: `course-assets{where} build`, then commit build/ with the sources; "
               f"`course-assets{where} check` tells you when build/ is out of date.",
               err=True)  # advice, not data: standard output lists what init did
