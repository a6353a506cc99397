"""Hostile input and faults, round 3: each is that figure's or chapter's error, never the course's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import Course, alive

GOOD = ("alpha", "beta", "gamma", "delta")


def cli(root: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run `course-assets` on `root` in a process of its own; fail the test if it hangs."""
    return subprocess.run([sys.executable, "-m", "course_assets", "-C", str(root), *args],
                          capture_output=True, text=True, timeout=timeout,
                          start_new_session=True)


def killer(signal_name: str) -> str:
    """Return a figure body that kills the worker rendering it with `signal_name`."""
    return f"import os, signal\nos.kill(os.getppid(), signal.{signal_name})\nMlflow('never')\n"


# -- 1. a script that kills its worker -------------------------------------------------------------

@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGKILL"])
def test_a_script_that_kills_its_worker_is_that_figures_error(course: Course, signal_name):
    for name in GOOD:
        course.figure(name, f"Mlflow({name!r})")
    course.figure("killer", killer(signal_name))
    course.chapter("ch", "".join(f'{{{{ diagram("{n}") }}}}\n' for n in (*GOOD, "killer")))

    result = cli(course.root, "build", "--jobs", "2")
    said = result.stdout + result.stderr
    assert result.returncode == 1, said
    assert "internal error" not in said
    assert "killer.py" in said and signal_name in said, said
    for name in GOOD:
        assert course.built(f"diagrams/{name}.svg").is_file(), said
    assert course.built("chapters/ch.md").is_file()

    # The lock was released and nothing waits on a worker: the next build runs at once.
    started = time.monotonic()
    again = cli(course.root, "build", "--jobs", "2", timeout=60)
    assert "still running" not in again.stderr
    assert again.returncode == 1 and time.monotonic() - started < 40, again.stderr


def test_watch_keeps_reacting_after_a_script_killed_its_warm_worker(course: Course, tmp_path):
    from test_watch import watching

    from course_assets.build import BuildOptions

    course.figure("one", 'Mlflow("first")')
    with watching(course, options=BuildOptions(jobs=1)) as results:
        assert results.get(timeout=60).ok
        course.figure("one", killer("SIGTERM"))
        killed = results.get(timeout=60)
        assert not killed.ok
        assert any("SIGTERM" in p.message for p in killed.problems), killed.problems
        course.figure("one", 'Mlflow("after the kill")')
        after = results.get(timeout=60)
        assert after.ok, after.problems
