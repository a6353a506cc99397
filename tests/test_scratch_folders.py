"""No scratch folder outlives the build that made it: not on SIGTERM, SIGHUP, nor SIGKILL.

Each test points TMPDIR at a folder of its own, so that it counts only its own folders.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import (
    Course, alive, assert_none_outlived, course_process, recording_worker, scratch_folders,
    wait_until_gone,
)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc, signals")

SLOW = """
    import os, subprocess, time
    sleeper = subprocess.Popen(["sleep", "300"])
    open({started!r}, "w").write(f"{{os.getppid()}} {{sleeper.pid}}")
    time.sleep(60)
"""


def environment(temporary: Path) -> dict[str, str]:
    return {**os.environ, "TMPDIR": str(temporary)}


@contextlib.contextmanager
def slow_figure_rendering(course: Course, temporary: Path, tmp_path: Path,
                          *args: str) -> Iterator[tuple[subprocess.Popen, int, int]]:
    """Run `course-assets ARGS -j 1` on a figure whose script starts a `sleep` and waits; yield
    the command's process once the script runs, with its worker's and its sleep's ids."""
    started = tmp_path / "started"
    course.figure("slow", SLOW.format(started=str(started)))
    with command(course, temporary, *args, "-j", "1") as process:
        worker, sleeper = map(int, wait_for_text(started, time.monotonic() + 90).split())
        yield process, worker, sleeper


def assert_stopped_cleanly(process: subprocess.Popen, stderr: str, code: int, temporary: Path,
                           what: str, *pids: int) -> None:
    """Assert the command exited with `code`, quietly, and left no process and no folder."""
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr, stderr
    assert_none_outlived(what, *pids)
    assert scratch_folders(temporary) == []


def command(course: Course, temporary: Path,
            *args: str) -> contextlib.AbstractContextManager[subprocess.Popen]:
    """Run `course-assets ARGS` with TMPDIR at `temporary`; kill it if a test leaves it."""
    return course_process(course, *args, env=environment(temporary))


def wait_for_text(path: Path, deadline: float) -> str:
    while not (path.exists() and path.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return path.read_text()


def wait_for_line(process: subprocess.Popen, text: str, deadline: float) -> None:
    assert process.stderr is not None
    while text not in process.stderr.readline():
        assert time.monotonic() < deadline and process.poll() is None, "never said " + text


def build(course: Course, temporary: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "course_assets", "-C", str(course.root),
                           "build", "-j", "1"], capture_output=True, text=True, timeout=300,
                          env=environment(temporary))


@pytest.fixture
def temporary(tmp_path: Path) -> Path:
    folder = tmp_path / "temporary"
    folder.mkdir()
    return folder


@pytest.mark.parametrize(("args", "stop_signal"), [
    (("watch",), signal.SIGTERM),
    (("watch",), signal.SIGHUP),
    (("serve", "--port", "0"), signal.SIGTERM),
])
def test_a_stopping_signal_to_watch_or_serve_leaves_no_scratch_folder_and_no_worker(
        course: Course, temporary: Path, tmp_path: Path, args: tuple[str, ...],
        stop_signal: int) -> None:
    marker = tmp_path / "worker"
    course.figure("one", recording_worker(marker, "first"))
    with command(course, temporary, *args, "-j", "1") as process:
        deadline = time.monotonic() + 90
        wait_for_line(process, "1 figure (1 rebuilt", deadline)
        worker = int(wait_for_text(marker, deadline))
        assert len(scratch_folders(temporary)) == 1  # the warm workers' own, in use
        sent = time.monotonic()
        os.kill(process.pid, stop_signal)  # the command's process alone, as `kill PID` does
        _, stderr = process.communicate(timeout=30)
        took = time.monotonic() - sent
    assert process.returncode == 128 + stop_signal, stderr
    assert took < 10, f"stopping took {took:.1f} s"
    assert "Traceback" not in stderr, stderr
    assert "stopped watching" in stderr or args[0] == "serve"
    assert wait_until_gone(worker), "a worker outlived watch"
    assert scratch_folders(temporary) == []


def test_sigterm_to_watch_during_a_figure_stops_at_once_and_leaves_nothing(
        course: Course, temporary: Path, tmp_path: Path) -> None:
    started = tmp_path / "started"
    course.figure("one")
    with command(course, temporary, "watch", "-j", "1") as process:
        deadline = time.monotonic() + 90
        wait_for_line(process, "watching for changes", deadline)
        # A save whose script starts a process of its own, then takes its time.
        course.figure("one", SLOW.format(started=str(started)))
        worker, sleeper = map(int, wait_for_text(started, deadline).split())
        sent = time.monotonic()
        os.kill(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        took = time.monotonic() - sent
    assert took < 10, f"SIGTERM took {took:.1f} s: it waited for the figure"
    assert_stopped_cleanly(process, stderr, 143, temporary, "watch", worker, sleeper)


def test_sigterm_to_a_build_mid_render_leaves_nothing_and_keeps_earlier_outputs(
        course: Course, temporary: Path, tmp_path: Path) -> None:
    course.figure("done")
    course.chapter("intro", '# Intro\n\n{{ diagram("done") }}\n')
    assert build(course, temporary).returncode == 0
    svg = course.built("diagrams/done.svg").read_bytes()
    with slow_figure_rendering(course, temporary, tmp_path, "build") as (
            process, worker, sleeper):
        os.kill(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert "stopped by SIGTERM" in stderr
    assert_stopped_cleanly(process, stderr, 143, temporary, "the build", worker, sleeper)
    assert course.built("diagrams/done.svg").read_bytes() == svg
    # Let go of, not left for the next build to take over.
    assert (course.root / "build" / ".lock").read_bytes() == b""


def test_a_build_killed_mid_render_leaves_a_folder_the_next_build_removes(
        course: Course, temporary: Path, tmp_path: Path) -> None:
    with slow_figure_rendering(course, temporary, tmp_path, "build") as (
            process, worker, sleeper):
        os.kill(process.pid, signal.SIGKILL)  # no cleanup at all, as an out-of-memory kill
        process.communicate(timeout=30)
    assert_none_outlived("the build", worker, sleeper)
    left = scratch_folders(temporary)
    assert len(left) == 1, "a killed build cannot remove its scratch folder"

    course.figure("slow")  # fixed: the next build renders it
    rebuilt = build(course, temporary)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert not left[0].exists()
    assert scratch_folders(temporary) == []


def test_a_build_removes_no_live_watch_folder_nor_one_the_tool_did_not_mark(
        course: Course, temporary: Path, tmp_path: Path) -> None:
    import shutil

    other = Course(tmp_path / "other")
    shutil.copytree(course.root, other.root)
    # A folder the tool did not mark, with the tool's prefix: never the tool's to delete.
    foreign = temporary / "course-assets-someone-elses"
    (foreign / "inside").mkdir(parents=True)
    # A build of the other course killed mid-render leaves its folder, owner gone.
    with slow_figure_rendering(other, temporary, tmp_path, "build") as (
            killed, worker, sleeper):
        os.kill(killed.pid, signal.SIGKILL)
        killed.communicate(timeout=30)
    assert_none_outlived("the build", worker, sleeper)
    (abandoned,) = set(scratch_folders(temporary)) - {foreign}

    marker = tmp_path / "worker"
    course.figure("one", recording_worker(marker, "first"))
    with command(course, temporary, "watch", "-j", "1") as watching:
        deadline = time.monotonic() + 90
        wait_for_line(watching, "watching for changes", deadline)
        (watch_folder,) = set(scratch_folders(temporary)) - {foreign}
        assert not abandoned.exists()  # the watch's own pool removed it on starting

        # The same again, while the watch runs: the next build removes the killed one's only.
        (tmp_path / "started").unlink()
        with slow_figure_rendering(other, temporary, tmp_path, "build") as (
                killed, worker, sleeper):
            os.kill(killed.pid, signal.SIGKILL)
            killed.communicate(timeout=30)
        assert_none_outlived("the build", worker, sleeper)
        (abandoned,) = set(scratch_folders(temporary)) - {foreign, watch_folder}
        other.figure("slow")
        assert build(other, temporary).returncode == 0
        assert not abandoned.exists()
        assert watch_folder.exists(), "a build removed a live watch's scratch folder"
        assert (foreign / "inside").is_dir()

        # The watch still renders in it.
        marker.unlink()
        course.figure("one", recording_worker(marker, "second"))
        wait_for_line(watching, "1 rebuilt", deadline + 60)
        assert course.built("diagrams/one.svg").exists()
        os.kill(watching.pid, signal.SIGTERM)
        watching.communicate(timeout=30)
    assert watching.returncode == 143
    assert scratch_folders(temporary) == [foreign]


def in_a_process(job: str, temporary: Path, *, stay: bool = False) -> tuple[str, subprocess.Popen]:
    """Run `job` (Python that makes an owned folder called `folder`) in a process of its own.

    Return the folder and the process: ended, or (with `stay`) running until its input closes.
    """
    code = ("import sys\n"
            "from course_assets.render.scratch import make_owned_folder\n"
            f"{job}\n"
            "print(folder, flush=True)\n"
            + ("sys.stdin.read()\n" if stay else "import os; os._exit(0)\n"))
    process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, env=environment(temporary))
    assert process.stdout is not None
    folder = process.stdout.readline().strip()
    if not stay:
        process.wait(timeout=30)
    return folder, process


def test_the_sweep_removes_only_our_folders_whose_owner_is_gone(temporary: Path,
                                                                 tmp_path: Path) -> None:
    import shutil

    made = "folder = make_owned_folder()"
    dead, _ = in_a_process(made, temporary)  # exits without removing it, as a killed build
    live, owner = in_a_process(made, temporary, stay=True)
    # An owner that forked a child and died: the child, still running, does not hold the
    # folder (a script's daemon, a worker that outlived its build).
    grandchild = tmp_path / "grandchild"
    forked, _ = in_a_process(made + "\nimport os, time\n"
                             "child = os.fork()\n"
                             "if child == 0:\n"
                             "    time.sleep(60); os._exit(0)\n"
                             f"open({str(grandchild)!r}, 'w').write(str(child))\n", temporary)
    unmarked = temporary / "course-assets-unmarked"
    unmarked.mkdir()
    fonts = temporary / "course-assets-fonts-0-0123456789abcdef"  # the shared font cache
    (fonts / "fonts").mkdir(parents=True)
    # A link with our prefix to an abandoned folder elsewhere: never followed.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    outside, _ = in_a_process(made, elsewhere)
    link = temporary / "course-assets-link"
    link.symlink_to(outside)
    others = None
    if os.getuid() == 0:  # an abandoned folder of another user's: not this user's to remove
        others, _ = in_a_process(made, temporary)
        os.chown(others, 65534, 65534)

    def sweep() -> list[str]:
        swept = subprocess.run(
            [sys.executable, "-c", "from course_assets.render.scratch import sweep_abandoned\n"
             "print('\\n'.join(sweep_abandoned()))"],
            capture_output=True, text=True, timeout=60, env=environment(temporary))
        assert swept.returncode == 0, swept.stderr
        return sorted(swept.stdout.split())

    try:
        assert alive(int(grandchild.read_text()))
        assert sweep() == sorted([dead, forked])
        assert not Path(dead).exists() and not Path(forked).exists()
        assert Path(live).is_dir() and (Path(live) / ".course-assets-owner").is_file()
        assert unmarked.is_dir() and (fonts / "fonts").is_dir()
        assert link.is_symlink() and Path(outside).is_dir()
        assert others is None or Path(others).is_dir()
    finally:
        assert owner.stdin is not None
        owner.stdin.close()
        owner.wait(timeout=30)
        os.kill(int(grandchild.read_text()), signal.SIGKILL)
        if others is not None:
            shutil.rmtree(others)
    assert sweep() == [live]  # its owner has ended now


ENDLESS_CHAPTER = ("# Endless\n\n{% for i in range(100000) %}{% for j in range(100000) %}"
                   "{% endfor %}{% endfor %}\n")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL])
def test_a_build_stopped_while_a_chapter_renders_leaves_no_scratch_folder_for_long(
        course: Course, temporary: Path, stop_signal: int) -> None:
    # The chapter renders in a child of the build's own process, in a folder that process owns.
    course.chapter("endless", ENDLESS_CHAPTER)
    with command(course, temporary, "build", "-j", "1") as process:
        deadline = time.monotonic() + 60
        while not scratch_folders(temporary) and time.monotonic() < deadline:
            time.sleep(0.05)
        (folder,) = scratch_folders(temporary)
        os.kill(process.pid, stop_signal)
        _, stderr = process.communicate(timeout=30)
    if stop_signal == signal.SIGTERM:
        assert process.returncode == 143, stderr
        assert scratch_folders(temporary) == []
        return
    assert folder.exists(), "a killed build cannot remove its scratch folder"
    course.chapter("endless", "# Ended\n")
    course.figure("one")  # the next build that starts workers removes it
    assert build(course, temporary).returncode == 0
    assert scratch_folders(temporary) == []


def test_sigterm_to_check_rebuild_mid_render_leaves_nothing(course: Course, temporary: Path,
                                                            tmp_path: Path) -> None:
    with slow_figure_rendering(course, temporary, tmp_path, "check", "--rebuild") as (
            process, worker, sleeper):
        sent = time.monotonic()
        os.kill(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        took = time.monotonic() - sent
    assert process.returncode == 143, stderr
    assert took < 10, f"SIGTERM took {took:.1f} s: it waited for the figure"
    assert_none_outlived("check", worker, sleeper)
    assert scratch_folders(temporary) == []


def test_a_closed_terminal_stops_a_build_and_what_its_script_started(
        course: Course, temporary: Path, tmp_path: Path) -> None:
    with slow_figure_rendering(course, temporary, tmp_path, "build") as (
            process, worker, sleeper):
        # A closed terminal hangs up the whole process group: the build and its workers.
        os.killpg(process.pid, signal.SIGHUP)
        _, stderr = process.communicate(timeout=30)
    assert_stopped_cleanly(process, stderr, 129, temporary, "the build", worker, sleeper)


def test_a_watch_that_ignores_sighup_as_nohup_makes_it_goes_on(
        course: Course, temporary: Path, tmp_path: Path) -> None:
    marker = tmp_path / "worker"
    course.figure("one", recording_worker(marker, "first"))
    process = subprocess.Popen(
        [sys.executable, "-m", "course_assets", "-C", str(course.root), "watch", "-j", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env=environment(temporary),
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))  # as `nohup` does
    try:
        deadline = time.monotonic() + 90
        wait_for_line(process, "watching for changes", deadline)
        worker = int(wait_for_text(marker, deadline))
        os.killpg(process.pid, signal.SIGHUP)  # the terminal closes
        time.sleep(1)
        assert process.poll() is None, "a watch run under nohup stopped on SIGHUP"
        assert alive(worker), "a worker of a watch run under nohup stopped on SIGHUP"
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 143, stderr
    assert scratch_folders(temporary) == []
