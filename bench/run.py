"""Benchmark course-assets against the floor (dot alone) and plain diagrams scripts.

Run with `make bench`. Everything happens in a temporary folder; nothing is written here.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from synthetic import write_big_figure_course, write_course  # noqa: E402 - bench/ is not a package

REPEATS = 5  # the short runs are repeated and their median reported


@dataclass(frozen=True)
class Measure:
    name: str
    seconds: float
    peak_mb: float


class TreeMemory:
    """Sample the resident memory of a process and all its descendants; keep the peak."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "TreeMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            self._stop.wait(0.005)


def tree_rss(root: int) -> int:
    """Return the summed resident set size in bytes of `root` and its descendants (Linux)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def median(measures: list[Measure]) -> Measure:
    ordered = sorted(measures, key=lambda m: m.seconds)
    middle = ordered[len(ordered) // 2]
    return Measure(middle.name, middle.seconds, max(m.peak_mb for m in measures))


def run(name: str, command: list[str], cwd: Path, *, sample: bool) -> Measure:
    """Run `command`; time it, or (with `sample`) record its process tree's peak memory.

    Never both at once: sampling /proc costs CPU that the timed run would lose.
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    if sample:
        with TreeMemory(process.pid) as memory:
            _, err = process.communicate()
        peak = memory.peak / 2**20
    else:
        _, err = process.communicate()
        peak = 0.0
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{name} failed:\n{err.decode()}")
    return Measure(name, seconds, peak)


def parallel(name: str, commands: list[list[str]], cwd: Path, jobs: int) -> Measure:
    """Run independent commands `jobs` at a time; the peak is `jobs` times the first one's."""
    peak = run(name, commands[0], cwd, sample=True).peak_mb * jobs
    started = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(lambda command: run(name, command, cwd, sample=False), commands))
    return Measure(name, time.perf_counter() - started, peak)


def with_peak(timed: Measure, sampled: Measure) -> Measure:
    return Measure(timed.name, timed.seconds, sampled.peak_mb)


def dot_sources(course: Path, scripts: list[Path], out: Path) -> list[Path]:
    """Capture each script's graph (as the build does) and save it as a .dot file."""
    from course_assets.render.capture import capture_script
    from course_assets.render.isolate import run_isolated

    out.mkdir()
    files = []
    for script in scripts:
        captured, _ = run_isolated(lambda: capture_script(script, course, 0.15), 120)
        target = out / f"{script.stem}.dot"
        target.write_text(captured.dot_source)
        files.append(target)
    return files


def uses_no_diagrams_or_dot(course: Path) -> str:
    """Run a no-change build in-process and report whether it imported diagrams or ran dot."""
    probe = (
        "import subprocess, sys\n"
        "ran = []\n"
        "original = subprocess.Popen.__init__\n"
        "def spy(self, args, *a, **k):\n"
        "    ran.append(args)\n"
        "    original(self, args, *a, **k)\n"
        "subprocess.Popen.__init__ = spy\n"
        "from course_assets.cli import cli\n"
        "try:\n"
        "    cli(['build', '-q'], standalone_mode=False)\n"
        "finally:\n"
        "    print('diagrams imported' if 'diagrams' in sys.modules else 'diagrams not imported',"
        " '/ dot run' if ran else '/ dot not run')\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=course, capture_output=True,
                            text=True, check=True)
    return result.stdout.strip()


def main() -> None:
    jobs = os.cpu_count() or 1
    cli = [sys.executable, "-m", "course_assets"]
    # Measure as users run it: Python caching its bytecode (some CI images turn that off).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([*cli, "--help"], stdout=subprocess.DEVNULL, check=True)
    with tempfile.TemporaryDirectory(prefix="course-assets-bench-") as temporary:
        base = Path(temporary)
        course = base / "course"
        scripts = write_course(course)
        dots = dot_sources(course, scripts, base / "dot")
        plain = base / "plain"
        shutil.copytree(course / "diagrams", plain)

        floor = parallel("floor: dot -Tsvg", [["dot", "-Tsvg", "-o", str(d.with_suffix(".svg")),
                                               str(d)] for d in dots], base, jobs)
        plain_run = parallel("plain diagrams", [[sys.executable, s.name] for s in
                                                sorted(plain.glob("*.py"))], plain, jobs)
        build = [*cli, "build", "-q"]
        cold = run("cold build", build, course, sample=False)
        unchanged = median([run("no-change build", build, course, sample=False)
                            for _ in range(REPEATS)])
        probe = uses_no_diagrams_or_dot(course)
        edits = iter(scripts[2::10])

        def change_one(sample: bool) -> Measure:
            script = next(edits)
            script.write_text(script.read_text().replace('"""Synthetic', '"""Edited synthetic'))
            return run("one script changed", build, course, sample=sample)

        one = median([change_one(sample=False) for _ in range(REPEATS)])
        # The same runs again, this time for their memory alone.
        one = with_peak(one, change_one(sample=True))
        unchanged = with_peak(unchanged, run("no-change build", build, course, sample=True))
        shutil.rmtree(course / "build")
        cold = with_peak(cold, run("cold build", build, course, sample=True))

        big_course = base / "big"
        write_big_figure_course(big_course)
        big = run("1,000-node figure", build, big_course, sample=False)
        shutil.rmtree(big_course / "build")
        big = with_peak(big, run("1,000-node figure", build, big_course, sample=True))

    rows = [floor, plain_run, cold, unchanged, one]
    print(f"machine: {platform.machine()}, {jobs} CPUs, {platform.system()} {platform.release()}, "
          f"Python {platform.python_version()}")
    print(f"course: 100 figures (10-40 icon nodes in clusters), 20 chapters; --jobs {jobs}; "
          f"SVG only; median of {REPEATS} for the short runs")
    print()
    print(f"{'run':<22}{'seconds':>9}{'x floor':>9}{'peak MB':>9}")
    for row in rows:
        print(f"{row.name:<22}{row.seconds:>9.2f}{row.seconds / floor.seconds:>9.2f}"
              f"{row.peak_mb:>9.0f}")
    # Another course, so no ratio to this floor: one script of 1,000 icon nodes, cold.
    print(f"{big.name:<22}{big.seconds:>9.2f}{'-':>9}{big.peak_mb:>9.0f}")
    print()
    verdicts = [
        ("cold build <= 1.3x floor", cold.seconds <= 1.3 * floor.seconds,
         f"{cold.seconds / floor.seconds:.2f}x"),
        ("plain diagrams >= 4x cold build", plain_run.seconds >= 4 * cold.seconds,
         f"{plain_run.seconds / cold.seconds:.1f}x"),
        ("no-change build <= 0.25 s", unchanged.seconds <= 0.25, f"{unchanged.seconds:.3f} s"),
        ("one script changed <= 0.5 s", one.seconds <= 0.5, f"{one.seconds:.3f} s"),
        ("peak memory <= 200 MB", max(cold.peak_mb, unchanged.peak_mb, one.peak_mb) <= 200,
         f"{max(cold.peak_mb, unchanged.peak_mb, one.peak_mb):.0f} MB (the course builds)"),
    ]
    for target, met, measured in verdicts:
        print(f"{'met ' if met else 'MISSED'} {target}: {measured}")
    print(f"no-change build: {probe}")
    if not all(met for _, met, _ in verdicts):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
