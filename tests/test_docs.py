"""The README against the code: its generated tables, the commands and options it names, and
that every command has help and a test that runs it."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import click
import pytest
from click.testing import CliRunner

from course_assets.cli import cli

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"


def readme_tables() -> ModuleType:
    spec = importlib.util.spec_from_file_location("readme_tables",
                                                  REPO / "scripts" / "readme_tables.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def options_of(command: click.Command) -> set[str]:
    return {opt for param in command.params if isinstance(param, click.Option)
            for opt in (*param.opts, *param.secondary_opts)} | {"-h", "--help"}


def test_the_readme_tables_are_what_the_code_says() -> None:
    text = README.read_text(encoding="utf-8")
    assert readme_tables().rewrite(text) == text, "README.md is out of date: run `make docs`"


def test_the_command_table_follows_a_changed_option(monkeypatch: pytest.MonkeyPatch) -> None:
    tables = readme_tables()
    def check_row(table: str) -> str:
        return next(line for line in table.splitlines() if "course-assets check" in line)

    before = check_row(tables.command_table())
    option = next(p for p in cli.commands["check"].params if p.name == "strict")
    monkeypatch.setattr(option, "opts", ["--pedantic"])
    after = check_row(tables.command_table())
    assert "[--strict]" in before and "[--strict]" not in after and "[--pedantic]" in after


def test_the_check_fails_on_a_stale_table_and_make_docs_fixes_it(tmp_path: Path) -> None:
    tables = readme_tables()
    readme = tmp_path / "README.md"
    text = README.read_text(encoding="utf-8")
    readme.write_text(text.replace("| 3 |", "| 4 |"), encoding="utf-8")
    assert tables.main(["--check", "--readme", str(readme)]) == 1
    assert tables.main(["--readme", str(readme)]) == 0
    assert readme.read_text(encoding="utf-8") == text
    assert tables.main(["--check", "--readme", str(readme)]) == 0


def test_a_readme_without_the_markers_is_refused(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# A course\n", encoding="utf-8")
    assert readme_tables().main(["--check", "--readme", str(readme)]) == 1


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_and_option_explains_itself(name: str) -> None:
    command = cli.commands[name]
    assert readme_tables().summary(command).endswith("."), name
    undocumented = [param.name for param in command.params
                    if isinstance(param, click.Option) and not param.help]
    assert undocumented == [], f"{name}: options without help"
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0
    assert " ".join(readme_tables().summary(command).split()[:4]) in " ".join(
        result.output.split())


def test_every_command_and_option_the_readme_names_exists() -> None:
    group_options = options_of(cli)
    all_options = set(group_options).union(*(options_of(c) for c in cli.commands.values()))
    wrong = []
    for number, line in enumerate(README.read_text(encoding="utf-8").splitlines(), 1):
        for match in re.finditer(r"course-assets ([a-z]+)([^`|\n]*)", line):
            name, rest = match.groups()
            if name not in cli.commands:
                wrong.append(f"README.md:{number}: no command {name!r}")
                continue
            for word in rest.split():
                option = word.strip("[]").split("=")[0]
                if option.startswith("-") and option not in options_of(cli.commands[name]) | (
                        group_options):
                    wrong.append(f"README.md:{number}: {name} has no option {option}")
        if "npx " in line:
            continue  # another program's options
        for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", line):
            if option not in all_options:
                wrong.append(f"README.md:{number}: no command has {option}")
    assert wrong == []


def test_every_command_is_run_by_a_test() -> None:
    run: set[str] = set()
    for test_file in (REPO / "tests").rglob("*.py"):
        if test_file.name != "test_docs.py":
            run.update(commands_called(test_file.read_text(encoding="utf-8")))
    assert set(cli.commands) - run == set()


def commands_called(source: str) -> set[str]:
    """Return the words passed as string literals to a call that runs the command line."""
    found = set()
    for call in re.finditer(r"\b(?:run|run_cli|invoke|Popen|check_output)\(", source):
        depth, end = 1, call.end()
        while depth and end < len(source):
            depth += {"(": 1, ")": -1}.get(source[end], 0)
            end += 1
        found.update(re.findall(r"""["']([a-z]+)["']""", source[call.end():end]))
    return found


def test_a_command_named_in_another_call_does_not_count() -> None:
    source = 'course.run("build")\nwatch_course(settings, "watch")\nrunner.invoke(cli, ["list"])'
    assert commands_called(source) == {"build", "list"}
