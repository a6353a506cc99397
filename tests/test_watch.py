"""`course-assets watch`: a save rebuilds what it affects, errors are shown, watching goes on."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from conftest import (Course, alive, assert_none_outlived, course_process, custom_icon_figure,
                      library_icon, recording_worker, wait_until_gone)
from svgtools import parse, texts

from course_assets.build import BuildOptions
from course_assets.config import load_settings
from course_assets.watching import watch_course


@contextlib.contextmanager
def watching(course, **options) -> Iterator[queue.Queue]:
    """Watch `course` in a thread; yield the queue its build results arrive on; stop it after."""
    results: queue.Queue = queue.Queue()
    stop = threading.Event()
    watcher = threading.Thread(target=watch_course, args=(load_settings(course.root), results.put),
                               kwargs={**options, "stop": stop}, daemon=True)
    watcher.start()
    try:
        yield results
    finally:
        stop.set()
        # Generous: a watch ends its build in hand first, slow on a loaded machine.
        watcher.join(timeout=30)
    assert not watcher.is_alive()


def watch_process(course):
    """Run `course-assets watch -j 1` in a session of its own; kill it if a test leaves it."""
    return course_process(course, "watch", "-j", "1")


def wait_for_text(path, deadline: float) -> str:
    """Return the text a figure script wrote into `path`, once it is there."""
    while not (path.exists() and path.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return path.read_text()


def test_saves_rebuild_and_errors_do_not_stop_watching(course):
    course.figure("one", 'Mlflow("first")')
    course.figure("two")
    course.chapter("ch", '{{ diagram("one") }}\n')
    with watching(course, options=BuildOptions(jobs=1)) as results:
        first = results.get(timeout=60)
        assert first.ok and first.figures_rebuilt == 2

        # Saved at once: the watcher may not have started yet, and must still see it.
        course.figure("one", 'Mlflow("second")')
        saved = time.monotonic()
        rebuilt = results.get(timeout=30)
        assert time.monotonic() - saved < 10
        assert rebuilt.ok and rebuilt.figures_rebuilt == 1
        assert "second" in " ".join(texts(parse(course.built("diagrams/one.svg"))))

        course.figure("one", 'raise RuntimeError("oops")')
        broken = results.get(timeout=30)
        assert not broken.ok
        assert any("RuntimeError: oops" in p.message for p in broken.problems)

        course.chapter("ch", '# Edited\n{{ diagram("two") }}\n')
        after_error = results.get(timeout=30)
        assert "# Edited" in course.built("chapters/ch.md").read_text()
        assert after_error.chapters_rebuilt == 1


def test_outputs_written_by_the_build_do_not_trigger_a_rebuild(course):
    course.figure("one")
    with watching(course) as results:
        assert results.get(timeout=60).ok
        time.sleep(1.5)
        assert results.empty()


def test_a_custom_icon_outside_the_figures_folder_is_watched(course):
    icon = custom_icon_figure(course)
    course.run("build")
    with watching(course) as results:
        assert results.get(timeout=60).ok
        time.sleep(0.5)  # the watcher starts after the first build; this save comes later
        icon.write_bytes(library_icon("workflow/airflow.png"))
        rebuilt = results.get(timeout=30)
        assert rebuilt.ok and rebuilt.figures_rebuilt == 1


def test_a_custom_icon_redrawn_during_a_watch_reaches_the_dark_variant(course, tmp_path):
    # The workers keep each icon's dark tile for every figure after: one named by the icon's
    # path would show the old picture in the dark SVG.
    icon = custom_icon_figure(course)
    course.write("diagrams/other.py", '''
        """Uses the custom icon too."""
        from diagrams import Diagram
        from diagrams.custom import Custom
        with Diagram("Other", show=False):
            Custom("also mine", "icons/mine.png")
    ''')
    with watching(course) as results:
        assert results.get(timeout=60).ok
        before = course.built("diagrams/custom.dark.svg").read_bytes()
        assert _icon_data(before) == _icon_data(course.built("diagrams/other.dark.svg")
                                                .read_bytes())
        time.sleep(0.5)  # the watcher starts after the first build; this save comes later
        icon.write_bytes(library_icon("workflow/airflow.png"))
        deadline = time.monotonic() + 60
        rebuilt = results.get(timeout=60)
        while not rebuilt.figures_rebuilt:  # a build that found nothing new yet
            rebuilt = results.get(timeout=max(0.1, deadline - time.monotonic()))
        assert rebuilt.ok and rebuilt.figures_rebuilt == 2
        watched = {name: course.built(f"diagrams/{name}.dark.svg").read_bytes()
                   for name in ("custom", "other")}
    assert _icon_data(watched["custom"]) != _icon_data(before)
    fresh = tmp_path / "fresh"
    shutil.copytree(course.root, fresh, ignore=shutil.ignore_patterns("build"))
    assert Course(fresh).run("build", "-q").exit_code == 0
    for name, data in watched.items():
        assert data == (fresh / "build" / "diagrams" / f"{name}.dark.svg").read_bytes()


def _icon_data(svg: bytes) -> list[str]:
    return sorted(set(re.findall(r'href="(data:image/png;base64,[^"]+)"', svg.decode())))


def test_a_figures_folder_deleted_and_made_again_is_still_watched(course):
    course.figure("one", 'Mlflow("first")')
    with watching(course, options=BuildOptions(jobs=1)) as results:
        assert results.get(timeout=60).ok
        time.sleep(0.5)  # the watcher starts after the first build
        shutil.rmtree(course.root / "diagrams")
        assert results.get(timeout=30).figures == 0
        (course.root / "diagrams").mkdir()
        course.figure("one", 'Mlflow("made again")')
        rebuilt = results.get(timeout=30)
        assert rebuilt.ok and rebuilt.figures_rebuilt == 1
        assert "made again" in " ".join(texts(parse(course.built("diagrams/one.svg"))))
        course.figure("one", 'Mlflow("saved again")')
        assert results.get(timeout=30).figures_rebuilt == 1
        assert "saved again" in " ".join(texts(parse(course.built("diagrams/one.svg"))))


def test_the_watch_command_rebuilds_a_saved_chapter_until_ctrl_c(course):
    import queue
    import signal
    import subprocess
    import sys
    import threading

    course.chapter("intro", "# Intro\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "course_assets", "-C", str(course.root), "watch", "-j", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Everything watch says goes to stderr, one stream; a summary line ends each build.
    lines: queue.Queue[str] = queue.Queue()
    said: list[str] = []
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stderr],
                              daemon=True)
    reader.start()

    def next_summary() -> str:
        while True:
            try:
                line = lines.get(timeout=60)
            except queue.Empty:
                raise AssertionError(f"no build summary within 60 s: {said}") from None
            said.append(line)
            if re.search(r"\d+ chapters? .*\d s$", line.rstrip()):
                return line

    try:
        assert "1 chapter (1 rebuilt)" in next_summary()
        course.chapter("intro", "# Intro, saved again\n")
        assert "1 chapter (1 rebuilt)" in next_summary()
        process.send_signal(signal.SIGINT)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(10)
        process.stdout.close()
        process.stderr.close()
    stderr = "".join(said) + "".join(iter(lambda: lines.get_nowait() if not lines.empty() else "", ""))
    assert process.returncode == 0, stderr
    assert "watching for changes (Ctrl-C to stop)" in stderr
    assert course.built("chapters/intro.md").read_text() == "# Intro, saved again\n"


# -- the workers a watch session keeps warm between saves -----------------------------------------

@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_a_watch_session_renders_each_save_in_the_same_worker_and_stops_it(course, tmp_path):
    marker = tmp_path / "worker"
    course.figure("one", recording_worker(marker, "first"))
    with watching(course, options=BuildOptions(jobs=1)) as results:
        assert results.get(timeout=60).ok
        worker = int(marker.read_text())
        assert worker != os.getpid()

        course.figure("one", recording_worker(marker, "second"))
        rebuilt = results.get(timeout=30)
        assert rebuilt.ok and rebuilt.figures_rebuilt == 1
        assert int(marker.read_text()) == worker  # warm: not a new process for this save
        assert "second" in " ".join(texts(parse(course.built("diagrams/one.svg"))))
        assert alive(worker)
    assert not alive(worker)  # stopped and reaped when the watch returned


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_a_dead_worker_is_replaced_for_the_next_build(course, tmp_path):
    marker = tmp_path / "worker"
    course.figure("one", recording_worker(marker, "first"))
    with watching(course, options=BuildOptions(jobs=1)) as results:
        assert results.get(timeout=60).ok
        first = int(marker.read_text())

        # A figure that kills the worker rendering it fails alone...
        course.figure("one", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n")
        killed = results.get(timeout=30)
        assert not killed.ok
        assert any("the process rendering this figure was killed by SIGKILL" in p.message
                   for p in killed.problems)
        # ...and the next save builds in a new worker, which stays warm in turn.
        course.figure("one", recording_worker(marker, "after"))
        after = results.get(timeout=30)
        assert after.ok, after.problems
        second = int(marker.read_text())
        assert second != first and not alive(first)

        # A worker killed from outside between saves is replaced too.
        os.kill(second, signal.SIGKILL)
        assert wait_until_gone(second)
        course.figure("one", recording_worker(marker, "again"))
        again = results.get(timeout=30)
        assert again.ok, again.problems
        third = int(marker.read_text())
        assert third not in (first, second)
        assert "again" in " ".join(texts(parse(course.built("diagrams/one.svg"))))
    assert not alive(third)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_workers_warmed_for_one_course_root_are_not_used_for_another(course, tmp_path):
    from course_assets.build import build_course
    from course_assets.render.pool import WorkerPool

    marker = tmp_path / "worker"
    other = tmp_path / "other"
    shutil.copytree(course.root, other)
    for root in (course.root, other):
        (root / "diagrams/one.py").write_text(
            course.figure("one", recording_worker(marker, root.name)).read_text())
    with WorkerPool() as pool:
        options = BuildOptions(jobs=1, pool=pool)
        assert build_course(load_settings(course.root), options).ok
        first = int(marker.read_text())
        assert build_course(load_settings(other), options).ok
        second = int(marker.read_text())
        assert second != first
        assert not alive(first)  # the first course's worker was stopped, not left idle
    assert not alive(second)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_ctrl_c_in_the_terminal_stops_watch_and_its_workers_quietly(course, tmp_path):
    marker = tmp_path / "worker"
    course.figure("one", recording_worker(marker, "first"))
    with watch_process(course) as process:
        worker = int(wait_for_text(marker, time.monotonic() + 60))
        time.sleep(0.5)  # the build is done, the workers idle
        os.killpg(process.pid, signal.SIGINT)  # as Ctrl-C does: to the whole process group
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "stopped watching" in stderr
    assert "KeyboardInterrupt" not in stderr and "Traceback" not in stderr, stderr
    assert wait_until_gone(worker)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_ctrl_c_during_a_slow_figure_stops_at_once_and_leaves_no_process(course, tmp_path):
    marker, started = tmp_path / "worker", tmp_path / "started"
    course.figure("one", recording_worker(marker, "first"))
    with watch_process(course) as process:
        deadline = time.monotonic() + 60
        worker = int(wait_for_text(marker, deadline))
        time.sleep(0.5)  # watching now
        # A save whose script starts a process of its own, then takes its time.
        course.figure("one", f"""
            import subprocess, time
            sleeper = subprocess.Popen(["sleep", "300"])
            open({str(started)!r}, "w").write(str(sleeper.pid))
            time.sleep(60)
        """)
        sleeper = int(wait_for_text(started, deadline))
        interrupted = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)  # as Ctrl-C does: to the whole process group
        _, stderr = process.communicate(timeout=30)
        stopped = time.monotonic() - interrupted
    assert process.returncode == 0, stderr
    assert stopped < 10, f"Ctrl-C took {stopped:.1f} s: it waited for the figure"
    assert "Traceback" not in stderr, stderr
    assert wait_until_gone(worker)
    assert wait_until_gone(sleeper), "the script's own process outlived watch"


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL])
def test_watch_killed_during_a_figure_leaves_no_process_of_the_script(course, tmp_path,
                                                                       stop_signal):
    started = tmp_path / "started"
    course.figure("one")
    with watch_process(course) as process:
        deadline = time.monotonic() + 60
        while "watching for changes" not in process.stderr.readline():
            assert time.monotonic() < deadline and process.poll() is None
        # A save whose script starts a process of its own, then takes its time.
        course.figure("one", f"""
            import os, subprocess, time
            sleeper = subprocess.Popen(["sleep", "300"])
            open({str(started)!r}, "w").write(f"{{os.getppid()}} {{sleeper.pid}}")
            time.sleep(60)
        """)
        worker, sleeper = map(int, wait_for_text(started, deadline).split())
        os.kill(process.pid, stop_signal)  # the watch process alone, as `kill` or an OOM does
        process.communicate(timeout=30)
    assert_none_outlived("watch", worker, sleeper)


BUSY = '''
    """A busy figure: sixteen long, faint labels on pale clusters."""
    from diagrams import Cluster, Diagram, Edge
    from diagrams.onprem.mlops import Mlflow

    with Diagram("Busy", show=False, direction="TB"):
        for group in range(4):
            with Cluster(f"group {group}", graph_attr={"bgcolor": "#EEF7EE"}):
                nodes = [Mlflow(f"tracking number {group}.{n}", fontcolor="#dddddd")
                         for n in range(4)]
            for a, b in zip(nodes, nodes[1:]):
                a >> Edge(label="a long edge label here", color="#eeeeee") >> b
'''


def test_a_save_prints_a_few_lines_per_figure_and_counts_the_rest(course):
    import subprocess

    busy = course.write("diagrams/busy.py", BUSY)
    course.figure("quiet")
    course.run("build")
    process = subprocess.Popen(
        [sys.executable, "-m", "course_assets", "-C", str(course.root), "watch", "-j", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stderr],
                              daemon=True)
    reader.start()

    def one_build() -> list[str]:
        said = []
        while not said or "watching for changes" not in said[-1]:
            said.append(lines.get(timeout=120))
        return said

    try:
        one_build()
        busy.write_text(busy.read_text() + "# saved\n")
        said = one_build()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
        reader.join(10)
    warnings = [line for line in said if "warning:" in line]
    about_busy = [line for line in warnings if "diagrams/busy.py" in line]
    # Three findings of the figure saved, then one line counting the rest of them.
    assert len(about_busy) == 4, "".join(said)
    assert re.search(r"diagrams/busy\.py: warning: [0-9]+ more warnings in this file",
                     about_busy[-1]), about_busy[-1]
    assert len(warnings) <= 5, "".join(said)  # and at most one about what the save left alone
    assert not any("quiet.py" in line for line in said)


def test_the_sources_a_build_stamps_are_the_ones_a_save_of_would_rebuild(course):
    from course_assets.watching import is_source_change, source_stamps, watched_paths

    settings = load_settings(course.root)
    script = course.figure("flow")
    chapter = course.chapter("intro", "# Intro\n")
    helper = course.write("diagrams/styles/_colours.py", "EDGE = 'black'\n")
    for ignored in ("diagrams/.flow.py.swp", "diagrams/flow.py~", "diagrams/#flow.py#",
                    "diagrams/__pycache__/flow.cpython-311.pyc", "build/diagrams/flow.svg"):
        course.write(ignored, "x")
    built = course.built("diagrams/flow.svg")
    (course.root / "diagrams" / "shown.svg").symlink_to(built)  # a link into the build folder
    stamps = source_stamps(settings, watched_paths(settings))
    assert set(stamps) == {str(script), str(chapter), str(helper), str(settings.pyproject)}
    assert set(stamps) == {path for path in stamps if is_source_change(settings, path)}
    assert stamps[str(script)] == script.stat().st_mtime_ns


def test_a_newer_save_is_seen_at_the_next_look_and_stays_seen(course, monkeypatch):
    from course_assets import watching
    from course_assets.watching import _NewerSave, source_stamps, watched_paths

    settings = load_settings(course.root)
    course.figure("flow")
    style = course.write("diagrams/_style.py", "EDGE = 'black'\n")
    first = style.stat()
    paths = watched_paths(settings)
    clock = [0.0]
    monkeypatch.setattr(watching.time, "monotonic", lambda: clock[0])
    looks = []

    def looked(*args):
        looks.append(source_stamps(*args))
        return looks[-1]

    newer_save = _NewerSave(settings, paths, source_stamps(settings, paths))
    monkeypatch.setattr(watching, "source_stamps", looked)
    clock[0] = newer_save.INTERVAL
    assert not newer_save() and len(looks) == 1
    course.write("diagrams/_style.py", "EDGE = 'grey'\n")
    clock[0] = 1.5 * newer_save.INTERVAL  # asked again soon after a look: not looked again
    assert not newer_save() and len(looks) == 1
    clock[0] = 2 * newer_save.INTERVAL
    assert newer_save() and len(looks) == 2
    # Saved back as it was, modification time included: the build is stale still, and no
    # look is needed to say so.
    course.write("diagrams/_style.py", "EDGE = 'black'\n")
    os.utime(style, ns=(first.st_atime_ns, first.st_mtime_ns))
    assert source_stamps(settings, paths) == newer_save.stamps
    clock[0] = 10 * newer_save.INTERVAL
    assert newer_save() and len(looks) == 2


def test_a_figure_that_shows_a_built_file_makes_no_build_output_a_save(course):
    # Figure "b" shows figure "a"'s PNG as an icon: the folder it read, in the build folder, is
    # watched. A build writing there must not count as a save: it would cancel itself.
    from course_assets.watching import _NewerSave, is_source_change, source_stamps, watched_paths

    course.figure("a")
    assert course.run("build", "-j", "1").exit_code == 0
    course.write("diagrams/b.py", '''
        """Shows figure a as an icon."""
        from diagrams import Diagram
        from diagrams.custom import Custom
        with Diagram("B", show=False):
            Custom("a", "build/diagrams/a.png")
    ''')
    assert course.run("build", "-j", "1").exit_code == 0
    settings = load_settings(course.root)
    paths = watched_paths(settings)
    assert course.built("diagrams") in paths
    stamps = source_stamps(settings, paths)
    assert stamps and all(is_source_change(settings, path) for path in stamps), sorted(stamps)
    newer_save = _NewerSave(settings, paths, stamps)
    course.built("diagrams/a.svg").write_text("<svg>drawn again</svg>")  # as a build does
    time.sleep(newer_save.INTERVAL)
    assert not newer_save()


def test_a_link_to_itself_among_the_sources_stops_no_watch(course):
    from course_assets.watching import is_source_change, source_stamps

    script = course.figure("flow")
    loop = course.root / "diagrams" / "loop"
    loop.symlink_to(loop.name)
    settings = load_settings(course.root)
    assert set(source_stamps(settings)) == {str(script), str(settings.pyproject)}
    assert not is_source_change(settings, str(loop))


def test_settings_replaced_while_a_build_looks_for_a_newer_save_are_no_error(course,
                                                                            monkeypatch):
    # An editor saves pyproject.toml by replacing it: it can be gone between the look that
    # finds it a file and the one that reads its time. Its time missing is a save, not a crash.
    from pathlib import Path

    from course_assets.watching import source_stamps

    settings = load_settings(course.root)
    gone = course.root / "settings.toml"
    monkeypatch.setattr(Path, "is_file", lambda self: self == gone or os.path.isfile(self))
    assert source_stamps(settings, [gone]) == {}
