"""Bad input and faults: each gets a clear error at the author's file and line, and loses nothing."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from course_assets.config import load_settings
from course_assets.state.files import build_lock

from svgtools import parse, placed_icons, texts


@pytest.fixture
def two_figures(course):
    """A built course with figures `good` and `bad` and a chapter embedding both."""
    course.figure("good", 'Mlflow("good one")')
    course.figure("bad", 'Mlflow("first version")')
    course.chapter("ch", '{{ diagram("good") }}\n{{ diagram("bad") }}\n')
    assert course.run("build").exit_code == 0
    return course


def break_bad(course, code: str) -> bytes:
    """Replace the `bad` script with `code`; return the SVG it had built before."""
    before = course.built("diagrams/bad.svg").read_bytes()
    course.write("diagrams/bad.py", code)
    course.figure("good", 'Mlflow("good two")')  # the other figure changes too and must build
    return before


def assert_rest_built_and_old_kept(course, before: bytes, result) -> None:
    assert result.exit_code == 1, result.output
    assert course.built("diagrams/bad.svg").read_bytes() == before
    assert "good two" in " ".join(texts(parse(course.built("diagrams/good.svg"))))
    assert "1 failed" in result.output


# -- figure scripts -------------------------------------------------------------------------------

def test_script_that_raises_points_at_the_authors_line(two_figures):
    before = break_bad(two_figures, '''
        """Uses an icon class that the installed diagrams no longer has."""
        from diagrams import Diagram


        from diagrams.onprem.logging import Fluentd
        with Diagram("Bad", show=False):
            Fluentd("logs")
    ''')
    result = two_figures.run("build")
    assert re.search(r"^diagrams/bad\.py:5: ImportError: cannot import name 'Fluentd'",
                     result.output, re.M), result.output
    assert "Traceback" not in result.output and "course_assets" not in result.output
    assert_rest_built_and_old_kept(two_figures, before, result)


def test_error_raised_inside_a_helper_points_at_the_helper(course):
    course.write("diagrams/_shapes.py", 'def box():\n    raise ValueError("no such shape")\n')
    course.write("diagrams/user.py", '''
        """Uses a broken helper."""
        from diagrams import Diagram
        from _shapes import box
        with Diagram("User", show=False):
            box()
    ''')
    result = course.run("build")
    assert result.exit_code == 1
    assert "diagrams/_shapes.py:2: ValueError: no such shape" in result.output


def test_syntax_error_gives_file_line_and_column(two_figures):
    before = break_bad(two_figures, '"""Broken."""\nfrom diagrams import Diagram\nx = (1,\ny = 2 +\n')
    result = two_figures.run("build")
    assert re.search(r"^diagrams/bad\.py:\d+:\d+: SyntaxError: ", result.output, re.M), result.output
    assert_rest_built_and_old_kept(two_figures, before, result)


@pytest.mark.parametrize("code, expected", [
    ('"""No figure."""\nimport diagrams\n', "defines no Diagram"),
    ('"""Two."""\nfrom diagrams import Diagram, Node\nwith Diagram("A", show=False):\n    Node("a")\n'
     'with Diagram("B", show=False):\n    Node("b")\n', "defines 2 Diagrams"),
])
def test_script_must_define_exactly_one_diagram(two_figures, code, expected):
    before = break_bad(two_figures, code)
    result = two_figures.run("build")
    assert "diagrams/bad.py" in result.output and expected in result.output
    assert "exactly one" in result.output
    assert_rest_built_and_old_kept(two_figures, before, result)


def test_script_that_never_ends_is_stopped(two_figures):
    before = break_bad(two_figures, '"""Loops."""\nwhile True:\n    pass\n')
    started = time.monotonic()
    result = two_figures.run("build", "--timeout", "1.5")
    assert time.monotonic() - started < 30
    assert "diagrams/bad.py: stopped after 1.5 s" in result.output
    assert_rest_built_and_old_kept(two_figures, before, result)


def test_time_limit_is_a_setting(two_figures):
    (two_figures.root / "pyproject.toml").write_text("[tool.course-assets]\ntimeout = 1\n")
    before = break_bad(two_figures, '"""Sleeps."""\nimport time\ntime.sleep(60)\n')
    result = two_figures.run("build")
    assert "stopped after 1 s" in result.output
    assert_rest_built_and_old_kept(two_figures, before, result)


@pytest.mark.parametrize("code, expected", [
    ("import sys\nsys.exit(3)\n", "diagrams/bad.py:3: the script called sys.exit(3)"),
    ("import os\nos._exit(4)\n", "diagrams/bad.py:3: the script called os._exit(4) here"),
    ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n", "crashed (SIGSEGV)"),
])
def test_script_that_exits_or_crashes_is_that_figures_error(two_figures, code, expected):
    before = break_bad(two_figures, '"""Ends early."""\n' + code)
    result = two_figures.run("build", "--jobs", "1")
    assert expected in result.output, result.output
    assert_rest_built_and_old_kept(two_figures, before, result)


def test_script_side_effects_do_not_reach_the_build_or_other_scripts(course, tmp_path, monkeypatch):
    course.write("diagrams/a_meddler.py", '''
        """Changes everything it can reach."""
        import os, sys
        import diagrams
        from diagrams import Diagram, Node
        diagrams.Diagram._default_graph_attrs["bgcolor"] = "red"
        diagrams.Node._height = 9
        sys.path.insert(0, "/nonexistent")
        os.environ["COURSE_ASSETS_TEST_LEAK"] = "1"
        open("junk.txt", "w").write("junk")
        os.chdir("/")
        with Diagram("Meddler", show=False):
            Node("m")
    ''')
    course.write("diagrams/b_victim.py", '''
        """Must not see the meddling."""
        import os, sys
        from diagrams import Diagram
        from diagrams.onprem.mlops import Mlflow
        assert "/nonexistent" not in sys.path
        assert "COURSE_ASSETS_TEST_LEAK" not in os.environ
        with Diagram("Victim", show=False):
            Mlflow("v")
    ''')
    monkeypatch.chdir(tmp_path)
    result = course.run("build", "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert 'fill="red"' not in course.built("diagrams/b_victim.svg").read_text()
    assert os.getcwd() == str(tmp_path)
    assert not list(course.root.rglob("junk.txt")) and not (tmp_path / "junk.txt").exists()
    assert "/nonexistent" not in sys.path and "COURSE_ASSETS_TEST_LEAK" not in os.environ


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_a_daemon_a_script_starts_does_not_outlive_the_build(course, tmp_path):
    from conftest import wait_until_gone

    started = tmp_path / "daemon"
    course.figure("daemon", f"""
        import os, time
        if os.fork() == 0:  # the classic daemon: a new session, away from the script's group
            os.setsid()
            if os.fork() == 0:
                open({str(started)!r}, "a").write(f"{{os.getpid()}}\\n")
                time.sleep(300)
            os._exit(0)
        Mlflow("m")
    """)
    result = course.run("build", "--jobs", "1")
    assert result.exit_code == 0, result.output
    deadline = time.monotonic() + 30
    while not (started.exists() and started.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    daemons = [int(pid) for pid in started.read_text().split()]  # one per theme
    try:
        assert all(wait_until_gone(pid) for pid in daemons), "a daemon outlived the build"
    finally:
        for pid in daemons:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_missing_custom_icon_names_the_icon_and_the_script(course):
    course.write("diagrams/custom.py", '''
        """Uses a custom icon that is not there."""
        from diagrams import Diagram
        from diagrams.custom import Custom
        with Diagram("Custom", show=False):
            Custom("mine", "icons/missing.png")
    ''')
    result = course.run("build")
    assert result.exit_code == 1
    assert "diagrams/custom.py:5: icon file not found: icons/missing.png" in result.output


def test_custom_icon_relative_to_the_course_is_embedded(course):
    import diagrams

    icon = Path(diagrams.__file__).parent.parent / "resources/onprem/mlops/mlflow.png"
    (course.root / "icons").mkdir()
    (course.root / "icons/mine.png").write_bytes(icon.read_bytes())
    course.write("diagrams/custom.py", '''
        """Uses a custom icon of the course."""
        from diagrams import Diagram
        from diagrams.custom import Custom
        with Diagram("Custom", show=False):
            Custom("mine", "icons/mine.png")
    ''')
    assert course.run("build").exit_code == 0
    raw = course.built("diagrams/custom.svg").read_text()
    assert "data:image/png;base64," in raw and "icons/mine.png" not in raw


def test_names_that_differ_only_in_case_are_an_error(course):
    course.figure("flow")
    course.run("build")
    earlier = course.built("diagrams/flow.svg").read_bytes()
    course.figure("Flow")
    result = course.run("build")
    assert result.exit_code == 1
    assert "differ only in case" in result.output and "Flow.py" in result.output
    assert not course.built("diagrams/Flow.svg").exists()
    assert course.built("diagrams/flow.svg").read_bytes() == earlier


# -- Graphviz ---------------------------------------------------------------------------------------

def test_graph_that_dot_rejects_names_the_figure_and_graphvizs_message(two_figures):
    before = break_bad(two_figures, '''
        """A label Graphviz cannot parse."""
        from diagrams import Diagram, Node
        with Diagram("Bad", show=False):
            Node("<<b>unclosed>")
    ''')
    result = two_figures.run("build")
    assert "diagrams/bad.py:3: Graphviz rejected the graph: Error: mismatched tag" in result.output
    assert_rest_built_and_old_kept(two_figures, before, result)


# -- chapters ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("# T\n\n{% if %}\n", "chapters/broken.md:3: template syntax error"),
    ('# T\n\n\n{{ diagram("goood") }}\n', "chapters/broken.md:4: unknown figure 'goood'; did you mean 'good'?"),
    ("# T\n{{ missing_variable }}\n", "chapters/broken.md:2: undefined variable: 'missing_variable'"),
])
def test_chapter_errors_name_file_and_line_and_others_still_build(two_figures, text, expected):
    two_figures.chapter("broken", text)
    two_figures.chapter("other", '# Other\n{{ diagram("good") }}\n')
    result = two_figures.run("build")
    assert result.exit_code == 1
    assert expected in result.output, result.output
    assert two_figures.built("chapters/other.md").is_file()
    assert not two_figures.built("chapters/broken.md").exists()


def test_chapter_that_is_not_utf8_is_a_clear_error_and_bom_is_fine(course):
    course.figure("one")
    (course.root / "chapters/latin.md").write_bytes("# Caf\xe9\n".encode("latin-1"))
    (course.root / "chapters/bom.md").write_bytes('\ufeff# Café\n{{ diagram("one") }}\n'.encode())
    result = course.run("build")
    assert result.exit_code == 1
    assert "chapters/latin.md:1: not UTF-8" in result.output
    assert course.built("chapters/bom.md").read_text(encoding="utf-8").startswith("# Café\n")


@pytest.mark.parametrize("name", ["../../etc/passwd", "../pyproject", "/etc/passwd", "..\\x"])
def test_figure_names_cannot_leave_the_figures_folder(course, name, tmp_path):
    course.figure("one")
    course.chapter("evil", f'{{{{ diagram("{name}") }}}}\n')
    before = sorted(p for p in tmp_path.rglob("*") if "build" not in p.parts)
    result = course.run("build")
    assert result.exit_code == 1
    assert "chapters/evil.md:1:" in result.output
    after = sorted(p for p in tmp_path.rglob("*") if "build" not in p.parts)
    assert after == before


def test_chapters_are_sandboxed(course):
    course.chapter("evil", "# Evil\n\n{{ ''.__class__.__mro__[1].__subclasses__() }}\n")
    result = course.run("build")
    assert result.exit_code == 1
    assert "chapters/evil.md:3: unsafe template code refused by the sandbox" in result.output


# -- content --------------------------------------------------------------------------------------------

def test_a_figure_of_a_thousand_nodes_builds(course):
    course.write("diagrams/big.py", '''
        """A figure of 1,000 nodes in 20 clusters."""
        from diagrams import Cluster, Diagram
        from diagrams.onprem.mlops import Mlflow
        with Diagram("Big", show=False, direction="TB"):
            previous = None
            for group in range(20):
                with Cluster(f"group {group}"):
                    nodes = [Mlflow(f"m{group}-{i}") for i in range(50)]
                for a, b in zip(nodes, nodes[1:]):
                    a >> b
                if previous:
                    previous >> nodes[0]
                previous = nodes[-1]
    ''')
    result = course.run("build")
    assert result.exit_code == 0, result.output
    root = parse(course.built("diagrams/big.svg"))
    assert len([g for g in root.iter() if g.get("class") == "node"]) == 1000
    # A thousand uses of one icon carry its picture once.
    assert len(placed_icons(root)) == 1000
    assert len([e for e in root.iter() if e.tag.endswith("}image")]) == 1


# -- faults and data ----------------------------------------------------------------------------------

def test_hand_edited_output_is_not_overwritten_without_force(two_figures):
    svg = two_figures.built("diagrams/good.svg")
    svg.write_text(svg.read_text().replace("good one", "fixed by hand"))
    two_figures.figure("good", 'Mlflow("good two")')
    result = two_figures.run("build")
    assert result.exit_code == 1
    assert "build/diagrams/good.svg: was changed by hand" in result.output
    assert "edit the source in diagrams/" in result.output
    assert "fixed by hand" in svg.read_text()
    result = two_figures.run("build", "--force")
    assert result.exit_code == 0 and "good two" in svg.read_text()


def test_a_second_build_waits_for_the_first(two_figures):
    two_figures.figure("good", 'Mlflow("good two")')
    settings = load_settings(two_figures.root)
    with build_lock(settings.build_dir):
        process = subprocess.Popen([sys.executable, "-m", "course_assets", "build"],
                                   cwd=two_figures.root, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        time.sleep(1.5)
        assert process.poll() is None  # still waiting for the lock
        assert "good one" in two_figures.built("diagrams/good.svg").read_text()
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    assert "waiting for another build" in output
    assert "good two" in two_figures.built("diagrams/good.svg").read_text()


def run_build_with_file_size_limit(root: Path, limit: int) -> subprocess.CompletedProcess:
    code = textwrap.dedent(f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large write fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
        from course_assets.cli import main
        sys.argv = ["course-assets", "build", "--jobs", "1"]
        main()
    """)
    return subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                          text=True, timeout=120)


def test_full_disk_is_a_clear_error_and_leaves_no_partial_file(two_figures):
    before = {p: p.read_bytes() for p in (two_figures.root / "build").rglob("*") if p.is_file()}
    two_figures.figure("good", 'Mlflow("' + "long label " * 50 + '")')
    result = run_build_with_file_size_limit(two_figures.root, 4096)
    assert result.returncode != 0
    assert "cannot write: the disk is full" in result.stderr, result.stderr
    after = {p: p.read_bytes() for p in (two_figures.root / "build").rglob("*") if p.is_file()}
    assert not [p for p in after if p.name.endswith(".tmp")]
    for path, data in after.items():
        if path in before and path.name != "manifest.json":
            assert data == before[path], path.name


@pytest.mark.skipif(sys.platform != "linux", reason="uses a Linux tmpfs or file modes")
def test_read_only_output_folder_is_a_clear_error(two_figures, tmp_path):
    build = two_figures.root / "build"
    if os.geteuid() == 0:
        # root ignores file modes, so make the folder a real read-only file system.
        content = {p.relative_to(build): p.read_bytes() for p in build.rglob("*") if p.is_file()}
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(build)], check=True)
        try:
            for relative, data in content.items():
                (build / relative).parent.mkdir(parents=True, exist_ok=True)
                (build / relative).write_bytes(data)
            subprocess.run(["mount", "-o", "remount,ro", str(build)], check=True)
            _assert_read_only_build_fails(two_figures)
        finally:
            subprocess.run(["umount", str(build)], check=True)
    else:
        for folder in (build, build / "diagrams", build / "chapters"):
            folder.chmod(0o555)
        try:
            _assert_read_only_build_fails(two_figures)
        finally:
            for folder in (build, build / "diagrams", build / "chapters"):
                folder.chmod(0o755)


def _assert_read_only_build_fails(course) -> None:
    svg = course.built("diagrams/good.svg")
    before = svg.read_bytes()
    course.figure("good", 'Mlflow("good two")')
    result = subprocess.run([sys.executable, "-m", "course_assets", "build"], cwd=course.root,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "read-only" in result.stderr, result.stderr
    assert svg.read_bytes() == before
