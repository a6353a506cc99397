"""The `course-assets` command line: a thin layer that maps library results to exit codes."""

from __future__ import annotations

import importlib
import os
import sys
import threading
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import click

from course_assets import stopping
from course_assets.version import __version__
from course_assets.commands import common
from course_assets.errors import CourseAssetsError, ExitCode


class CourseAssetsGroup(click.Group):
    """A group that turns the library's errors into one message and their exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except stopping.Terminated as exc:
            # As Ctrl-C: everything unwound on the way here; the exit code says which signal.
            click.echo(f"stopped by {exc}", err=True)
            ctx.exit(exc.exit_code)
        except CourseAssetsError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            # The reader went away (`course-assets list | head`): nothing left to say to it.
            _silence_stdout()
            ctx.exit(ExitCode.FAILED)
        except Exception as exc:  # noqa: BLE001 - the last resort: one line, not a traceback
            if os.environ.get("COURSE_ASSETS_DEBUG"):
                raise
            click.echo(f"error: internal error: {type(exc).__name__}: {exc} (this is a bug in "
                       "course-assets; run with COURSE_ASSETS_DEBUG=1 for the traceback)",
                       err=True)
            ctx.exit(ExitCode.FAILED)


@click.group(cls=CourseAssetsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-C", "--course", "course", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Course folder (default: the nearest folder with [tool.course-assets] in pyproject.toml).",
)
@click.version_option(__version__, prog_name="course-assets")
@click.pass_context
def cli(ctx: click.Context, course: Path | None) -> None:
    """Build course figures from diagrams scripts and the chapters that embed them."""
    ctx.obj = common.CliContext(start=course)


# Each command's module under course_assets.commands, in the order `--help` lists them.
COMMAND_MODULES = {"init": "init", "build": "build", "check": "check", "list": "listing",
                   "migrate": "migrate", "serve": "serve", "slides": "slides", "watch": "watch"}


class _CommandsOnDemand(MutableMapping[str, click.Command]):
    """The group's commands, each module imported when its command is first looked up.

    A command line runs one command: importing only its module keeps `build` with nothing to
    do from loading what `check`, `serve` or `migrate` need.
    """

    def __init__(self, modules: dict[str, str]) -> None:
        self._modules = modules
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            if name not in self._modules:
                raise KeyError(name)
            module = importlib.import_module(f"course_assets.commands.{self._modules[name]}")
            self._loaded[name] = module.command
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        self._loaded.pop(name, None)
        self._modules = {k: v for k, v in self._modules.items() if k != name}

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._modules, *self._loaded]))

    def __len__(self) -> int:
        return len(set(self._modules) | set(self._loaded))

    def __contains__(self, name: object) -> bool:
        return name in self._modules or name in self._loaded


cli.commands = _CommandsOnDemand(COMMAND_MODULES)


def _silence_stdout() -> None:
    # Python would otherwise report the broken pipe again when it flushes at exit.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main() -> None:
    """Run the command line."""
    # SIGTERM and SIGHUP unwind like Ctrl-C, so that workers and scratch folders go too.
    stopping.stop_on_signals()
    try:
        cli(prog_name="course-assets")
    except SystemExit as exc:
        code = exc.code
    else:  # pragma: no cover - click always ends with SystemExit
        code = ExitCode.OK
    stopping.stop_no_more()
    stopped_by = stopping.received()
    if stopped_by is not None:
        # `watch` and `serve` end quietly when stopped, as on Ctrl-C: still, a signal stopped
        # them, and whoever sent it learns that it did.
        code = stopping.exit_code(stopped_by)
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = ExitCode.FAILED
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        _silence_stdout()
    if threading.active_count() == 1:
        # Every file is written and closed by now; tearing down the interpreter's modules
        # would only add a twentieth of a second to each command.
        os._exit(code or ExitCode.OK)
    sys.exit(code)
