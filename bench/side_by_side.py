"""Compare cold default-formats builds of two course-assets installs, alternating, and plain diagrams.

    python bench/side_by_side.py BASE_PYTHON [--figures 20] [--pairs 3] [--memory]

BASE_PYTHON is the Python of another checkout's environment (main's, say); this checkout's is
the one running the script. Each pair builds the synthetic course cold with one, then the
other, then runs the same scripts as plain diagrams (`python script.py`, as many at a time as
the builds' jobs); the machine is shared and noisy, so the runs alternate and the CPU seconds
of each process tree are reported beside the wall time. With --memory, one more cold build of
each samples its process tree's peak memory (proportional set size, shared pages counted once).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from run import TreeMemory  # noqa: E402 - bench/ is not a package
from synthetic import write_course  # noqa: E402


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(commands: list[list[str]], cwd: Path, jobs: int) -> tuple[float, float]:
    """Run the commands `jobs` at a time; return wall seconds and their CPU seconds."""
    before, started = children_cpu(), time.perf_counter()

    def one(command: list[str]) -> None:
        subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, commands))
    return time.perf_counter() - started, children_cpu() - before


def cold_build(python: str, course: Path) -> tuple[float, float]:
    shutil.rmtree(course / "build", ignore_errors=True)
    return timed([[python, "-m", "course_assets", "build", "-q"]], course, 1)


def peak_mb(python: str, course: Path) -> float:
    shutil.rmtree(course / "build", ignore_errors=True)
    process = subprocess.Popen([python, "-m", "course_assets", "build", "-q"], cwd=course,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with TreeMemory(process.pid) as memory:
        process.wait()
    return memory.peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base_python")
    parser.add_argument("--figures", type=int, default=20)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--memory", action="store_true")
    options = parser.parse_args()
    jobs = os.cpu_count() or 1
    pythons = {"base": options.base_python, "this": sys.executable}
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory(prefix="course-assets-side-") as temporary:
        root = Path(temporary)
        courses = {}
        for label in pythons:
            courses[label] = root / label
            write_course(courses[label], figures=options.figures,
                         chapters=max(1, options.figures // 5), svg_only=False)
        plain = root / "plain"
        shutil.copytree(courses["this"] / "diagrams", plain)
        scripts = [[sys.executable, s.name] for s in sorted(plain.glob("*.py"))]
        for python in pythons.values():  # bytecode and font caches warm for both
            subprocess.run([python, "-m", "course_assets", "--help"], check=True,
                           stdout=subprocess.DEVNULL)
        results: dict[str, list[tuple[float, float]]] = {"base": [], "this": [], "plain": []}
        for pair in range(options.pairs):
            order = ("base", "this") if pair % 2 == 0 else ("this", "base")
            for label in order:
                results[label].append(cold_build(pythons[label], courses[label]))
            results["plain"].append(timed(scripts, plain, jobs))
            print(f"pair {pair + 1}: " + ", ".join(
                f"{k} {v[-1][0]:.2f} s wall / {v[-1][1]:.2f} s CPU" for k, v in results.items()),
                file=sys.stderr)
        print(f"{options.figures} figures, default formats, --jobs {jobs} (its default); "
              f"median of {options.pairs} alternating runs")
        print(f"{'run':<34}{'wall s':>9}{'CPU s':>9}")
        names = {"base": "cold build, base", "this": "cold build, this checkout",
                 "plain": "plain diagrams, same scripts"}
        for label, runs in results.items():
            walls = sorted(w for w, _ in runs)
            cpus = sorted(c for _, c in runs)
            print(f"{names[label]:<34}{walls[len(walls) // 2]:>9.2f}{cpus[len(cpus) // 2]:>9.2f}")
        if options.memory:
            for label in ("base", "this"):
                print(f"peak memory, cold build, {label}: {peak_mb(pythons[label], courses[label]):.0f} MB")


if __name__ == "__main__":
    main()
