"""`course-assets watch`: rebuild what an edit affects, as soon as it is saved."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from course_assets.build import BuildReport
    from course_assets.errors import CourseAssetsError

from course_assets.commands import common


@click.command("watch")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, metavar="N",
              help="Worker processes (default: one per CPU).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors and summaries.")
@click.pass_obj
def command(obj: common.CliContext, jobs: int | None, quiet: bool) -> None:
    """Build, then rebuild on every save of a script, helper, chapter or setting (Ctrl-C stops).

    Every line starts with the time it was printed, so that a rebuild is told from the last.
    """
    import logging

    from course_assets.build import BuildOptions
    from course_assets.errors import CourseAssetsError
    from course_assets.watching import watch_course

    settings = obj.settings()

    def show(result: BuildReport | CourseAssetsError) -> None:
        if isinstance(result, CourseAssetsError):
            common.say(f"error: {result}", stamped=True)
        else:
            common.print_problems(common.in_brief(result.problems), settings.root, quiet,
                                 stamped=True)
            common.say(result.summary(), stamped=True)
        common.say("watching for changes (Ctrl-C to stop)...", stamped=True)

    # The watch library logs its own line when Ctrl-C stops it; ours says it once.
    logging.getLogger("watchfiles").setLevel(logging.ERROR)
    try:
        watch_course(settings, show, options=BuildOptions(jobs=jobs),
                     report=common.progress(quiet, stamped=True))
    except KeyboardInterrupt:
        pass
    common.say("stopped watching", stamped=True)
