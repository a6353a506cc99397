"""`course-assets list`: each figure with its title, description and the chapters that use it."""

from __future__ import annotations

import click

from course_assets.commands import common


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_obj
def command(obj: common.CliContext, as_json: bool) -> None:
    """List every figure with its title, description and the chapters that embed it."""
    import json

    import course_assets

    entries = course_assets.list_figures(obj.settings())
    if as_json:
        click.echo(json.dumps([entry.as_dict() for entry in entries], indent=2, ensure_ascii=False))
        return
    for entry in entries:
        click.echo(f"{entry.name}: {entry.title or '(not built yet)'}")
        click.echo(f"    {entry.description or '(no description)'}")
        used = ", ".join(entry.chapters) if entry.chapters else "no chapter"
        click.echo(f"    used in: {used}")
