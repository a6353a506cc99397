"""Failures in either rendering stage (light SVG, then PNGs and the dark variant), through the
real command: each is its figure's error, and a build leaves nothing of its own in /tmp."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from conftest import Course

KILLS_ITS_WORKER = '''
    """Kills the process rendering it, in the {theme} theme only."""
    import os, signal
    from diagrams import Diagram
    from diagrams.onprem.compute import Server

    if os.environ["COURSE_ASSETS_THEME"] == "{theme}":
        os.kill(os.getppid(), signal.SIGKILL)  # the worker: the script runs in its child
    with Diagram("Killer", show=False):
        Server("a") >> Server("b")
'''


def scratch_left(folder: Path) -> list[str]:
    """Return the build's scratch folders left in `folder` (the fonts folder is kept on purpose)."""
    return sorted(p.name for p in folder.iterdir()
                  if p.name.startswith("course-assets-")
                  and not p.name.startswith("course-assets-fonts-"))


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_script_killing_its_worker_leaves_no_scratch_folder_behind(
        course: Course, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, theme: str) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # the workers fork from here
    course.write("diagrams/killer.py", KILLS_ITS_WORKER.format(theme=theme))
    course.figure("fine")
    result = course.run("build", "-j", "2")
    assert result.exit_code == 1
    assert "killer.py: the process rendering this figure was killed by SIGKILL" in result.output
    assert course.built("diagrams/fine.dark.png").is_file()
    assert scratch_left(scratch) == []
