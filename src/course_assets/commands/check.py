"""`course-assets check`: fail when build/ is not what a build would write, or the course is unsound."""

from __future__ import annotations

import click

from course_assets.commands import common


@click.command("check")
@click.option("--strict", is_flag=True,
              help="Treat warnings about links, figure lint findings and too-small text as errors.")
@click.option("--diff", "show_diff", is_flag=True,
              help="Show how each built chapter differs from what a build would write.")
@click.option("--rebuild", is_flag=True,
              help="Also render every figure and chapter in memory and compare the bytes with "
                   "build/ (slower; the same answer on any machine).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, metavar="N",
              help="Worker processes for --rebuild (default: one per CPU).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.pass_obj
def command(obj: common.CliContext, strict: bool, show_diff: bool, rebuild: bool,
            jobs: int | None, quiet: bool) -> None:
    """Check that build/ is up to date and that chapters have no external or broken references."""
    import course_assets

    settings = obj.settings()
    report = course_assets.check_course(settings, strict=strict, diff=show_diff,
                                        rebuild=rebuild, jobs=jobs)
    common.print_problems(report.problems, settings.root, quiet)
    for chapter_diff in report.diffs:
        click.echo(chapter_diff)
    errors = sum(p.severity.value == "error" for p in report.problems)
    warnings = len(report.problems) - errors
    if not quiet:
        verdict = "build/ is up to date" if report.ok else "check failed"
        common.say(f"{verdict}: {errors} error{'s' * (errors != 1)}, "
                   f"{warnings} warning{'s' * (warnings != 1)}")
    ctx_exit = report.exit_code
    if ctx_exit:
        raise SystemExit(ctx_exit)
