"""Every hostile case of round 3 in one course: build, check and serve it; none hangs or crashes.

Each case is one figure or chapter (or a file among them). The course must build with each
case its own error, at its file, and everything else written; `check` must say the same;
the preview must serve it. "internal error" anywhere fails the test: it is kept for bugs.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import Course, library_icon

GOOD_FIGURES = ("alpha", "beta", "x", "x-dark", "1x", "fig-1x")
# What each hostile figure is, and words of the error it must get at its script.
HOSTILE_FIGURES = {
    "kill_term": ("import os, signal\nos.kill(os.getppid(), signal.SIGTERM)\nMlflow('n')",
                  "SIGTERM"),
    "kill_kill": ("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nMlflow('n')",
                  "SIGKILL"),
    "f" * 240: ("Mlflow('long')", "at most 100 characters"),
    "cut_icon": ("from diagrams.custom import Custom\nCustom('cut', 'icons/cut.png')",
                 "icons/cut.png is damaged or truncated"),
    "huge_image": ("Node('big', image=ICON, shape='none')", "4,200 x 4,200 pixels"),
    "bell_label": ("Mlflow('bell\\x07')", "control character U+0007"),
    "exits": ("Mlflow('a')\nimport os\nos._exit(0)", "os._exit(0)"),
    "closed_stdout": None,  # builds
    "ＡＢ": ("Mlflow('a')", "rename it, e.g. to 'AB.py'"),
}
HOSTILE_CHAPTERS = {
    "nested_ifs": ("".join("{% if true %}\n" for _ in range(99)) + "x\n" + "{% endif %}\n" * 99,
                   "too deeply nested"),
    "long_sum": ("{{ " + " + ".join(["1"] * 500) + " }}\n", "too long or too deeply nested"),
    "huge_filter": ('{{ "x"|center(3000000000)|length }}\n', "memory"),
    "include_out": ('{% include "../pyproject.toml" %}\n', "cannot include"),
    "include_abs": ('{% include "/etc/hostname" %}\n', "cannot include"),
}
ODD_CHAPTER_NAMES = ("<img src=x onerror=alert(1)>", "[x](javascript:alert(1))", "two\nlines")


def cli(root: Path, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "course_assets", "-C", str(root), *args],
                          capture_output=True, text=True, timeout=timeout,
                          start_new_session=True)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Course:
    from PIL import Image

    course = Course(tmp_path_factory.mktemp("hostile") / "course")
    course.write("pyproject.toml", "[tool.course-assets]\ntimeout = 20\n")
    (course.root / "icons").mkdir(parents=True)
    whole = library_icon("mlops/mlflow.png")
    (course.root / "icons/cut.png").write_bytes(whole[: len(whole) // 2])
    Image.linear_gradient("L").resize((4200, 4200)).save(course.root / "icons/huge.png")
    for name in GOOD_FIGURES:
        course.figure(name, f"Mlflow({name!r}) >> Node('plain', id='title')")
    for name, case in HOSTILE_FIGURES.items():
        if case is None:
            continue
        body = case[0].replace("ICON", repr(str(course.root / "icons/huge.png")))
        course.figure(name, body)
    course.figure("closed_stdout", "import sys, os\nsys.stdout.close()\nos.close(1)\nMlflow('a')")
    course.figure("bell_doc", "Mlflow('a')", doc="Bell \x07 here.")
    (course.root / "chapters").mkdir()
    os.mkfifo(course.root / "diagrams/piped.py")
    os.mkfifo(course.root / "chapters/piped.md")
    course.write("chapters/_note.md", "A shared note.\n")
    course.write("templates/macros.j2", "{% macro hi(who) %}Hello, {{ who }}!{% endmacro %}\n")
    course.chapter("good", '{% include "_note.md" %}{% import "macros.j2" as m %}'
                           '{{ m.hi("you") }}\n' + "".join(f'{{{{ diagram("{n}") }}}}\n'
                                                           for n in GOOD_FIGURES))
    for name, (text, _) in HOSTILE_CHAPTERS.items():
        course.chapter(name, "Intro.\n\n" + text)
    for name in ODD_CHAPTER_NAMES:
        course.chapter(name, '{{ diagram("alpha") }}\n')
    return course


def test_the_hostile_course_builds_everything_else_and_names_each_case(hostile: Course):
    started = time.monotonic()
    result = cli(hostile.root, "build", "--jobs", "2", timeout=600)
    said = result.stdout + result.stderr
    assert time.monotonic() - started < 300, "the build took too long"
    assert result.returncode == 1, said
    assert "internal error" not in said and " at 0x" not in said, said
    for name, case in HOSTILE_FIGURES.items():
        if case is not None:
            assert any(line.startswith(f"diagrams/{name}.py") and case[1] in line
                       for line in said.splitlines()), (name, said)
    assert "diagrams/bell_doc.py:1: " in said
    assert "diagrams/piped.py: is a named pipe (FIFO)" in said
    assert "chapters/piped.md: is a named pipe (FIFO)" in said
    for name, (_, words) in HOSTILE_CHAPTERS.items():
        assert any(line.startswith(f"chapters/{name}.md:") and words in line
                   for line in said.splitlines()), (name, said)

    # Everything else was written.
    for name in (*GOOD_FIGURES, "closed_stdout"):
        assert hostile.built(f"diagrams/{name}.svg").is_file(), name
        assert hostile.built(f"diagrams/{name}.dark.svg").is_file(), name
    good = hostile.built("chapters/good.md").read_text()
    assert good.startswith("A shared note.\nHello, you!\n") and good.count("<img") >= 6
    for name in ODD_CHAPTER_NAMES:
        assert hostile.built(f"chapters/{name}.md").is_file()
    from test_hostile import html_tags

    from course_assets.publish.markdown import parser

    tags = html_tags(parser().render(hostile.built("diagrams/README.md").read_text()))
    assert not any(tag == "img" and attrs.get("src") == "x" for tag, attrs in tags)
    assert not any(attrs.get("href", "").startswith("javascript") for _, attrs in tags)

    # Any two figures can share a page: no id is in two SVGs, or twice in one.
    seen: dict[str, str] = {}
    for svg in hostile.built("diagrams").glob("*.svg"):
        for found in re.findall(r'\bid="([^"]+)"', svg.read_text()):
            assert found not in seen, (found, svg.name, seen.get(found))
            seen[found] = svg.name

    # No process outlived the build, and the lock is free: a second build runs at once.
    again = cli(hostile.root, "build", timeout=300)
    assert "still running" not in again.stderr and "internal error" not in again.stderr


def test_check_reports_the_hostile_course_without_hanging(hostile: Course):
    if not hostile.built("manifest.json").exists():
        cli(hostile.root, "build", timeout=600)
    result = cli(hostile.root, "check", timeout=300)
    said = result.stdout + result.stderr
    assert result.returncode == 1, said
    assert "internal error" not in said, said
    assert "diagrams/piped.py: is a named pipe (FIFO)" in said, said


def test_serve_shows_the_hostile_course(hostile: Course):
    if not hostile.built("manifest.json").exists():
        cli(hostile.root, "build", timeout=600)
    server = subprocess.Popen(
        [sys.executable, "-m", "course_assets", "-C", str(hostile.root), "serve", "--port", "0",
         "-j", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    try:
        line = server.stdout.readline()
        url = re.search(r"http://\S+", line)
        assert url, line
        base = url.group().rstrip("/")
        deadline = time.monotonic() + 120
        pages = {}
        while time.monotonic() < deadline:
            try:
                for path in ("/", "/chapters/good.md"):
                    with urllib.request.urlopen(base + path, timeout=30) as response:
                        pages[path] = response.read().decode("utf-8", "replace")
                break
            except OSError:
                time.sleep(0.5)
        assert "/" in pages and "internal error" not in pages["/"]
        assert "Hello, you!" in pages.get("/chapters/good.md", ""), pages
    finally:
        server.send_signal(signal.SIGINT)
        try:
            _, errors = server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            _, errors = server.communicate()
    assert "internal error" not in errors, errors
