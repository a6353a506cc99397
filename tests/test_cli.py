"""The command line: help for every command, exit codes, and the module entry point."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from course_assets.cli import cli


def command_names() -> list[str]:
    return sorted(cli.commands)


def test_every_command_has_help():
    runner = CliRunner()
    for name in command_names():
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Usage:" in result.output and len(result.output.splitlines()) > 3, name


def test_the_basic_commands_are_there():
    assert {"build", "check", "list", "watch"} <= set(command_names())


def test_python_dash_m_runs_the_same_command():
    result = subprocess.run([sys.executable, "-m", "course_assets", "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and "build" in result.stdout


def test_outside_a_course_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "build"])
    assert result.exit_code == 2
    assert "no course found" in result.output and "[tool.course-assets]" in result.output


def test_unknown_setting_is_a_configuration_error(course):
    (course.root / "pyproject.toml").write_text('[tool.course-assets]\nfigures = "x"\n')
    result = course.run("build")
    assert result.exit_code == 2
    assert "unknown setting(s) in [tool.course-assets]: figures" in result.output


def test_settings_move_the_folders(course):
    (course.root / "pyproject.toml").write_text(
        '[tool.course-assets]\ndiagrams = "figs"\nchapters = "text"\nbuild = "out"\n')
    course.write("figs/one.py", '''
        """One figure."""
        from diagrams import Diagram, Node
        with Diagram("One", show=False):
            Node("x")
    ''')
    course.write("text/ch.md", '{{ diagram("one") }}\n')
    result = course.run("build")
    assert result.exit_code == 0, result.output
    assert (course.root / "out/diagrams/one.svg").is_file()
    assert 'src="../diagrams/one.svg"' in (course.root / "out/chapters/ch.md").read_text()


def test_list_shows_title_description_and_chapters(course):
    course.figure("one", title="First figure", doc="Shows the first thing.")
    course.chapter("intro", '{{ diagram("one") }}\n')
    course.run("build")
    result = course.run("list")
    assert result.exit_code == 0
    assert "one: First figure" in result.output
    assert "Shows the first thing." in result.output and "used in: intro" in result.output
    data = json.loads(course.run("list", "--json").output)
    assert data[0]["chapters"] == ["intro"]


def test_quiet_build_prints_nothing_when_all_is_well(course):
    course.figure("one")
    result = course.run("build", "-q")
    assert result.exit_code == 0 and result.output == ""


@pytest.mark.parametrize("args", [["build", "--jobs", "0"], ["build", "--timeout", "-1"],
                                  ["nonsense"]])
def test_bad_options_exit_2(course, args):
    assert course.run(*args).exit_code == 2


def test_a_reader_that_goes_away_gets_no_traceback(course):
    for index in range(40):  # 40 descriptions of 3,000 characters: more than a pipe holds
        course.figure(f"figure_{index:02d}", doc="A long description. " * 150)
    process = subprocess.Popen([sys.executable, "-m", "course_assets", "list"], cwd=course.root,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.read(10)
    process.stdout.close()  # as `course-assets list | head -c 10` does
    error = process.stderr.read().decode()
    process.wait(timeout=60)
    assert "Traceback" not in error and "internal error" not in error
