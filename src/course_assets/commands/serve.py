"""`course-assets serve`: a live preview of the course in a browser, refreshed on every save."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from course_assets.build import BuildReport
    from course_assets.errors import CourseAssetsError

from course_assets.commands import common


@click.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              metavar="N",
              help="Port to serve on (0: any free port, printed at start).")
@click.option("--host", default="127.0.0.1", show_default=True, metavar="ADDRESS",
              help="Address to serve on; anything but a loopback address shows the course to "
                   "the network.")
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in a web browser.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, metavar="N",
              help="Worker processes (default: one per CPU).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors and summaries.")
@click.pass_obj
def command(obj: common.CliContext, port: int, host: str, open_browser: bool, jobs: int | None, quiet: bool) -> None:
    """Build, serve a preview of the chapters, and rebuild and refresh it on every save."""
    from course_assets.build import BuildOptions
    from course_assets.errors import CourseAssetsError
    from course_assets.preview import PreviewServer

    settings = obj.settings()
    phase = "starting"

    def show(result: BuildReport | CourseAssetsError) -> None:
        if phase == "stopping" and not isinstance(result, CourseAssetsError):
            # Ctrl-C reaches the figure scripts too; those it cut short are simply out of date.
            tail = "" if result.ok else "; what Ctrl-C cut short is rebuilt next time"
            click.echo(f"{result.summary()}{tail}", err=True)
            return
        if isinstance(result, CourseAssetsError):
            click.echo(f"error: {result}", err=True)
        else:
            common.print_problems(result.problems, settings.root, quiet)
            click.echo(result.summary(), err=True)
        if phase == "serving":
            click.echo("watching for changes (Ctrl-C to stop)...", err=True)

    server = PreviewServer(settings, host, port, options=BuildOptions(jobs=jobs), on_build=show,
                           report=common.progress(quiet))
    try:
        server.start()
        phase = "serving"
        click.echo(f"serving the preview at {server.url} (Ctrl-C to stop)")
        if not server.loopback_only:
            click.echo(f"warning: {host} is not a loopback address: anyone who can reach this "
                       "machine can read the course", err=True)
        if open_browser:
            import webbrowser

            webbrowser.open(server.url)
        while not server.wait(0.5):  # short waits, so Ctrl-C lands at once
            pass
    except KeyboardInterrupt:
        phase = "stopping"
        click.echo("stopping (letting a build in progress finish)...", err=True)
    finally:
        server.stop()
