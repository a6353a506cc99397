"""`course-assets slides`: build what changed, then name each chapter's slide decks."""

from __future__ import annotations

import click

from course_assets.commands import common
from course_assets.errors import ExitCode


@click.command("slides")
@click.option("--force", is_flag=True,
              help="Rebuild everything, and replace outputs edited by hand.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, metavar="N",
              help="Worker processes (default: one per CPU).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.pass_obj
def command(obj: common.CliContext, force: bool, jobs: int | None, quiet: bool) -> None:
    """Build the slide decks of every chapter (HTML, Marp and PowerPoint), with whatever else is out of date.

    With the PNG format on, each chapter also gets PowerPoint decks, light and dark (the
    `pptx = false` setting turns them off). Decks are outputs of `course-assets build` too;
    this command builds the same way and then lists where each chapter's decks are.
    """
    import course_assets
    from course_assets.state.manifest import load_manifest

    settings = obj.settings()
    result = course_assets.build_course(settings, force=force, jobs=jobs,
                                        progress=common.progress(quiet))
    common.print_problems(result.problems, settings.root, quiet)
    if not quiet:
        common.say(result.summary())
        manifest = load_manifest(settings.outputs.manifest, settings.outputs)
        for name, record in sorted(manifest.slides.items()):
            # In the one table's order: HTML, Marp, then PowerPoint light and dark.
            listed = [p for p in settings.outputs.slide_outputs(name) if p in record.outputs]
            click.echo(f"{name}: {', '.join(listed)}")
    if not result.ok:
        raise SystemExit(ExitCode.FAILED)
