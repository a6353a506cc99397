"""`course-assets build`: render what changed, write it, print a summary."""

from __future__ import annotations

import click

from course_assets.commands import common
from course_assets.errors import ExitCode


@click.command("build")
@click.option("--force", is_flag=True, help="Rebuild everything, and replace outputs edited by hand.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: one per CPU).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds a figure script may run (default: 60, or `timeout` in settings).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("--strict", is_flag=True,
              help="Treat figure lint findings and too-small text as errors.")
@click.pass_obj
def command(obj, force: bool, jobs: int | None, timeout: float | None, quiet: bool,
            strict: bool) -> None:
    """Build every figure and chapter whose sources changed since the last build."""
    from course_assets.build import BuildOptions, build_course

    settings = obj.settings()
    progress = common.progress(quiet)
    result = build_course(settings, BuildOptions(force=force, jobs=jobs, timeout=timeout, strict=strict),
                          progress)
    common.print_problems(result.problems, settings.root, quiet)
    if not quiet:
        click.echo(result.summary())
    if not result.ok:
        raise SystemExit(ExitCode.FAILED)
