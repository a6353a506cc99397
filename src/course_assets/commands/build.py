"""`course-assets build`: render what changed, write it, print a summary."""

from __future__ import annotations

import click

from course_assets.commands import common
from course_assets.errors import ExitCode


@click.command("build")
@click.argument("figures", nargs=-1, metavar="[NAME]...")
@click.option("--force", is_flag=True, help="Rebuild everything, and replace outputs edited by hand.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, metavar="N",
              help="Worker processes (default: one per CPU).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="SECONDS",
              help="Seconds a figure script may run (default: 60, or `timeout` in settings).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("--strict", is_flag=True,
              help="Treat figure lint findings and too-small text as errors.")
@click.pass_obj
def command(obj: common.CliContext, figures: tuple[str, ...], force: bool, jobs: int | None,
            timeout: float | None, quiet: bool, strict: bool) -> None:
    """Build every figure and chapter whose sources changed since the last build.

    With NAMEs (the figure scripts' names: `architecture` for diagrams/architecture.py), build
    only those figures and the chapters, decks and gallery that embed them, and leave everything
    else as it is.
    """
    import course_assets

    settings = obj.settings()
    result = course_assets.build_course(settings, figures=figures, force=force, jobs=jobs,
                                        timeout=timeout, strict=strict,
                                        progress=common.progress(quiet))
    common.print_problems(result.problems, settings.root, quiet)
    if not quiet:
        common.say(result.summary())
    if not result.ok:
        raise SystemExit(ExitCode.FAILED)
