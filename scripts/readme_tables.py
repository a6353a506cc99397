"""Write the manual's command and exit-code tables from the code; `--check` only compares them.

The tables sit between `<!-- NAME:begin ... -->` and `<!-- NAME:end -->` markers, in README.md
or any page of docs/ (each table in at least one of them). `make docs` rewrites them; the test
suite fails when they differ from what this script would write.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path

import click

from course_assets.cli import cli
from course_assets.errors import EXIT_MEANINGS

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS = REPO / "docs"


def manual_files(repo: Path = REPO) -> list[Path]:
    """Return the README and every page of docs/, in a stable order."""
    docs = repo / "docs"
    return [repo / "README.md", *sorted(docs.rglob("*.md") if docs.is_dir() else [])]
PROGRAM = "course-assets"


def synopsis(name: str, command: click.Command) -> str:
    """Return `course-assets NAME ARGS [OPTIONS]` as the command's parameters declare it."""
    ctx = click.Context(command, info_name=name)
    words = [PROGRAM, name]
    for param in command.params:
        if isinstance(param, click.Argument):
            words.append(param.make_metavar(ctx))
        elif isinstance(param, click.Option) and not param.hidden:
            flag = min(param.opts, key=len)  # the short form, as people type it
            words.append(f"[{flag}]" if param.is_flag else f"[{flag} {param.make_metavar(ctx)}]")
    return " ".join(words)


def summary(command: click.Command) -> str:
    """Return the first paragraph of the command's help, on one line."""
    text = command.short_help or inspect.cleandoc(command.help or "")
    return " ".join(text.split("\n\n")[0].split())


def command_table() -> str:
    """Return the Markdown table of every command: its synopsis and what it does."""
    rows = ["| command | what it does |", "| --- | --- |"]
    for name in cli.list_commands(click.Context(cli)):
        command = cli.commands[name]
        rows.append(f"| `{synopsis(name, command)}` | {_cell(summary(command))} |")
    return "\n".join(rows)


def exit_code_table() -> str:
    """Return the Markdown table of every exit status the commands end with."""
    rows = ["| exit code | meaning |", "| --- | --- |"]
    rows += [f"| {int(code)} | {_cell(meaning)} |" for code, meaning in EXIT_MEANINGS.items()]
    return "\n".join(rows)


TABLES: dict[str, Callable[[], str]] = {"commands": command_table, "exit-codes": exit_code_table}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _block(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- {name}:begin[^>]*-->\n)(.*?)(<!-- {name}:end -->)", re.DOTALL)


def rewrite(text: str, *, require: bool = True) -> str:
    """Return the page `text` with every generated table in it written afresh.

    Raise ValueError when `require` and a table's markers are missing.
    """
    for name, make in TABLES.items():
        pattern = _block(name)
        if not pattern.search(text):
            if require:
                raise ValueError(f"no <!-- {name}:begin --> ... <!-- {name}:end --> block")
            continue
        text = pattern.sub(lambda match, make=make: f"{match[1]}{make()}\n{match[3]}", text)
    return text


def missing_tables(texts: list[str]) -> list[str]:
    """Return the names of the generated tables that none of `texts` holds."""
    return [name for name in TABLES if not any(_block(name).search(t) for t in texts)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only say whether the tables are up to date (exit 1 when not)")
    parser.add_argument("files", nargs="*", type=Path,
                        help="the pages to rewrite (default: README.md and docs/*.md)")
    args = parser.parse_args(argv)
    files: list[Path] = args.files or manual_files()
    current = {path: path.read_text(encoding="utf-8") for path in files}
    missing = missing_tables(list(current.values()))
    if missing:
        for name in missing:
            print(f"no page holds a <!-- {name}:begin --> ... <!-- {name}:end --> block "
                  f"(looked in {', '.join(map(str, files))})", file=sys.stderr)
        return 1
    stale = 0
    for path, text in current.items():
        wanted = rewrite(text, require=False)
        if wanted == text:
            continue
        stale += 1
        if args.check:
            print(f"{path}: the generated tables differ from the code; run `make docs`",
                  file=sys.stderr)
        else:
            path.write_text(wanted, encoding="utf-8")
            print(f"{path}: tables rewritten")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
