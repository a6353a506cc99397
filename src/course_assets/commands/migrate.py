"""`course-assets migrate`: turn diagram-service images in chapters into figure scripts."""

from __future__ import annotations

from pathlib import Path

import click

from course_assets.errors import display_path


@click.command("migrate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--write", is_flag=True,
    help="Write the scripts and edit the chapters. Without it, only show what would change.",
)
@click.pass_context
def command(ctx: click.Context, paths: tuple[Path, ...], write: bool) -> None:
    """Convert diagram images in chapters (files or folders) into diagrams scripts.

    Finds every image in the chapters at PATHS (Markdown ![..](..) and HTML <img>) whose
    link is a Kroki, mermaid.ink or PlantUML server URL, and every ```mermaid block, and
    decodes the diagram source from the link itself (no network).

    \b
    Mermaid flowcharts and Graphviz DOT become diagrams/<name>.py, and the image
      becomes {{ diagram("<name>") }}; nothing else in the chapter changes.
    Other sources (sequence diagrams, Gantt, PlantUML, ...) are saved as
      diagrams/_migrated/<name>.<ext> and the image stays as it is.
    External images with no source in the link are listed to redraw by hand.

    It is a dry run by default: it prints what it would do and the diff of each chapter.
    Run again with --write to apply it. Existing scripts are never overwritten, and a
    second run after --write changes nothing. Each new script's docstring starts with
    TODO(migrate): write a real figure description there.

    Relative PATHS start from the -C folder when -C is given, as with git -C.

    A chapter with a malformed service link is left unchanged, with one error per bad link.
    Exit status: 0 when it ran (even if some images are only reported), 1 when a service
    link is malformed or a chapter cannot be read, 2 for usage errors such as a missing PATH.
    """
    # Imported here: the parsers are large, and every other command starts without them.
    from course_assets.migrate import MigratePathError, Outcome, migrate

    settings = ctx.obj.settings()
    # Like `git -C`: with -C, relative paths start from that folder, not the working directory.
    base = getattr(ctx.obj, "start", None) or Path.cwd()
    for path in paths:
        if not (base / path).exists():
            raise MigratePathError(f"{path}: no such file or folder")
    report = migrate([base / path for path in paths], settings, write=write)
    for chapter in report.chapters:
        if chapter.error:
            click.echo(f"{display_path(chapter.path, settings.root)}: {chapter.error}", err=True)
        for image in chapter.images:
            click.echo(image.format(settings.root, report.written),
                       err=image.outcome is Outcome.ERROR)
    if not report.written:
        for chapter in report.chapters:
            if chapter.diff:
                click.echo(chapter.diff, nl=False)
    click.echo(report.summary())
    if not report.written and (report.files or any(ch.changed for ch in report.chapters)):
        click.echo("Dry run: nothing was written. Run again with --write to apply it.")
    ctx.exit(report.exit_code)
