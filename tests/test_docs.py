"""The README and the manual in docs/ against the code: their generated tables, the commands
and options they name, their links, the README's five-minute start, and that every command has
help and a test that runs it."""

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


def manual() -> list[Path]:
    """Return README.md and every page of docs/."""
    return readme_tables().manual_files(REPO)


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


def test_the_manual_tables_are_what_the_code_says() -> None:
    tables = readme_tables()
    texts = {path: path.read_text(encoding="utf-8") for path in manual()}
    assert tables.missing_tables(list(texts.values())) == []
    stale = [path.name for path, text in texts.items()
             if tables.rewrite(text, require=False) != text]
    assert stale == [], "out of date: run `make docs`"
    assert tables.main(["--check"]) == 0


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
    page = tmp_path / "commands.md"
    text = (REPO / "docs" / "commands.md").read_text(encoding="utf-8")
    assert "| 3 |" in text
    page.write_text(text.replace("| 3 |", "| 4 |"), encoding="utf-8")
    assert tables.main(["--check", str(page)]) == 1
    assert tables.main([str(page)]) == 0
    assert page.read_text(encoding="utf-8") == text
    assert tables.main(["--check", str(page)]) == 0


def test_pages_without_the_markers_are_refused(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# A course\n", encoding="utf-8")
    assert readme_tables().main(["--check", str(readme)]) == 1


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


# Options of other programs the manual shows (pip, npx, the system-library check).
OTHER_PROGRAMS = ("npx ", "syslibs", "apt-get", "pip install")


@pytest.mark.parametrize("page", manual(), ids=lambda path: path.name)
def test_every_command_and_option_the_manual_names_exists(page: Path) -> None:
    group_options = options_of(cli)
    all_options = set(group_options).union(*(options_of(c) for c in cli.commands.values()))
    shown = page.relative_to(REPO).as_posix()
    wrong = []
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        for match in re.finditer(r"course-assets ([a-z]+)([^`|\n]*)", line):
            name, rest = match.groups()
            if name not in cli.commands:
                wrong.append(f"{shown}:{number}: no command {name!r}")
                continue
            for word in rest.split():
                option = word.strip("[]").split("=")[0]
                if option.startswith("-") and option not in options_of(cli.commands[name]) | (
                        group_options):
                    wrong.append(f"{shown}:{number}: {name} has no option {option}")
        if any(program in line for program in OTHER_PROGRAMS):
            continue  # another program's options
        for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", line):
            if option not in all_options:
                wrong.append(f"{shown}:{number}: no command has {option}")
    assert wrong == []


def anchors(text: str) -> set[str]:
    """Return the anchors GitHub gives the headings of a Markdown page."""
    found = set()
    for heading in re.findall(r"^#{1,6} (.+)$", re.sub(r"```.*?```", "", text, flags=re.S),
                              flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


@pytest.mark.parametrize("page", manual(), ids=lambda path: path.name)
def test_every_relative_link_of_the_manual_leads_somewhere(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    wrong = []
    for target in re.findall(r"\]\(([^)\s]+)\)", prose):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            wrong.append(f"{page.name}: {target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(
                linked.read_text(encoding="utf-8")):
            wrong.append(f"{page.name}: {target}: no such heading")
    assert wrong == []


def test_the_docs_index_links_every_page() -> None:
    index = (REPO / "docs" / "index.md").read_text(encoding="utf-8")
    readme = README.read_text(encoding="utf-8")
    for page in sorted((REPO / "docs").glob("*.md")):
        if page.name != "index.md":
            assert f"]({page.name})" in index, page.name
            assert f"](docs/{page.name})" in readme, page.name


def test_the_readme_starts_with_the_two_commands_and_stays_short() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert lines[2:5] == ["```sh", lines[3], lines[4]] and lines[3].startswith("make build")
    assert lines[4].startswith("make test")
    assert len(lines) <= 120


def test_the_readmes_five_minute_start_builds(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    figure = re.search(r"```python\n(.*?)```", text, re.S)
    assert figure is not None
    runner = CliRunner()
    course = tmp_path / "my-course"
    assert runner.invoke(cli, ["init", str(course)]).exit_code == 0
    (course / "diagrams" / "architecture.py").write_text(figure.group(1), encoding="utf-8")
    chapter = course / "chapters" / "introduction.md"
    chapter.write_text(chapter.read_text(encoding="utf-8") + '\n{{ diagram("architecture") }}\n',
                       encoding="utf-8")
    build = runner.invoke(cli, ["-C", str(course), "build"])
    assert build.exit_code == 0, build.output
    check = runner.invoke(cli, ["-C", str(course), "check"])
    assert check.exit_code == 0, check.output


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
