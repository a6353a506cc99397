"""A build killed with SIGKILL at any moment leaves each file old or new, and the next repairs it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

FIGURES = 6


def write_course(root: Path, version: str) -> None:
    (root / "diagrams").mkdir(parents=True, exist_ok=True)
    (root / "chapters").mkdir(exist_ok=True)
    (root / "pyproject.toml").write_text("[tool.course-assets]\n")
    for i in range(FIGURES):
        (root / "diagrams" / f"fig{i}.py").write_text(
            f'"""Figure {i}, {version}."""\n'
            "from diagrams import Diagram\n"
            "from diagrams.onprem.mlops import Mlflow\n"
            "from diagrams.onprem.workflow import Airflow\n"
            f'with Diagram("Figure {i}", show=False):\n'
            f'    Mlflow("{version} {i}") >> Airflow("pipeline {i}") >> Mlflow("{version} end")\n'
        )
    for c in range(2):
        calls = "\n\n".join(f'{{{{ diagram("fig{i}") }}}}' for i in range(c, FIGURES, 2))
        (root / "chapters" / f"ch{c}.md").write_text(f"# Chapter {c}, {version}\n\n{calls}\n")


def build(root: Path, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "course_assets", "build", "--jobs", "2"],
                            cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, **popen)


def files(root: Path) -> dict[str, bytes]:
    build_dir = root / "build"
    return {p.relative_to(build_dir).as_posix(): p.read_bytes() for p in build_dir.rglob("*")
            if p.is_file() and not p.name.startswith(".")}


@pytest.fixture(scope="module")
def versions(tmp_path_factory) -> tuple[Path, dict[str, bytes], dict[str, bytes]]:
    """Return a course built at the old version, and the files of the old and new builds."""
    base = tmp_path_factory.mktemp("kill")
    old, new = base / "old", base / "new"
    write_course(old, "old")
    write_course(new, "new")
    for root in (old, new):
        assert build(root).wait(timeout=300) == 0
    return old, files(old), files(new)


@pytest.mark.parametrize("delay", [0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 1.0, 1.3])
def test_killed_build_leaves_old_or_new_files_and_the_next_build_repairs(versions, tmp_path, delay):
    old_root, old_files, new_files = versions
    root = tmp_path / "course"
    shutil.copytree(old_root, root)
    write_course(root, "new")
    process = build(root)
    time.sleep(delay)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)

    for name, data in files(root).items():
        if name == "manifest.json":
            json.loads(data)  # whole, never half-written
            continue
        assert data in (old_files.get(name), new_files.get(name)), f"{name} is partial"

    assert build(root).wait(timeout=300) == 0
    assert files(root) == new_files
    assert not list((root / "build").rglob("*.tmp"))
    check = subprocess.run([sys.executable, "-m", "course_assets", "check"], cwd=root,
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL])
def test_killed_build_leaves_no_process_a_script_started(tmp_path, stop_signal):
    from conftest import assert_none_outlived

    started = tmp_path / "started"
    write_course(tmp_path, "old")
    (tmp_path / "diagrams/slow.py").write_text(
        '"""Starts a process of its own, then takes its time."""\n'
        "import os, subprocess, time\n"
        'sleeper = subprocess.Popen(["sleep", "300"])\n'
        f'open({str(started)!r}, "w").write(f"{{os.getppid()}} {{sleeper.pid}}")\n'
        "time.sleep(60)\n")
    process = build(tmp_path)
    try:
        deadline = time.monotonic() + 60
        while not (started.exists() and started.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        worker, sleeper = map(int, started.read_text().split())
        os.kill(process.pid, stop_signal)  # the build alone, as `kill` or an OOM does
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert_none_outlived("the build", worker, sleeper)
