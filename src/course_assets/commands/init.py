"""`course-assets init`: start a course that builds and passes `check` at once."""

from __future__ import annotations

from pathlib import Path

import click

from course_assets.commands import common


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
    If any of these files exists, it stops and writes nothing.
    """
    import course_assets

    if folder is None:
        folder = obj.start  # like every command, init works on the -C folder when given
    report = course_assets.init_course(folder or Path.cwd())
    for name in report.created:
        click.echo(f"created {name}")
    where = "" if folder is None else f" -C {folder}"
    click.echo(f"Next: `course-assets{where} build`, then commit build/ with the sources; "
               f"`course-assets{where} check` tells you when build/ is out of date.")
