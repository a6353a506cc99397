"""Time `course-assets watch` end to end, with the default formats (SVG, PNG, dark).

From a file's save to the new light SVG on disk, through the real `watch` process:
- one label edited in one figure (median of several edits);
- a helper that 20 figures import edited (median of 3 edits): until all 20 light SVGs are
  new, and until the watch has settled (every file written, "watching for changes" printed
  again);
- plain diagrams running the same 20 scripts (one PNG each, as many at once as `watch` has
  workers), measured in the same run, just before each helper edit (median of 3), for the
  settled time to compare with.

Usage: python bench/watch_latency.py [--figures 20] [--edits 5] [--jobs N]
`make bench` runs it through bench/run.py.
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from synthetic import HELPER, write_course  # noqa: E402 - bench/ is not a package

SETTLED = "watching for changes"
HELPER_EDITS = 3  # the helper is edited this many times; each time is the median
FIRST_LABEL = re.compile(r'"(\w+ 0)"\)\)')  # the first node's label: "mlflow 0"


@dataclass(frozen=True)
class WatchTimes:
    """Seconds from a save to what the author sees, and to the watch having settled."""

    one_label: float  # median: one label edited -> its light SVG on disk
    one_label_settled: float
    helper_first: float  # helper edited -> the first of its figures' light SVGs on disk
    helper_all: float  # -> all of them
    helper_settled: float  # -> every file written, the watch waiting again
    plain: float  # plain diagrams running the same scripts, for comparison
    figures: int
    edits: int


class Watch:
    """A `course-assets watch` process; its printed lines arrive on a queue."""

    def __init__(self, course: Path, jobs: int) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "course_assets", "-C", str(course), "watch", "-q",
             "-j", str(jobs)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line)

    def settled(self, timeout: float = 600) -> float:
        """Wait until the watch prints that it waits again; return when (monotonic)."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            if SETTLED in line:
                return time.monotonic()
            if "error" in line:
                raise SystemExit(f"the watched build failed: {line}")

    def close(self) -> None:
        self.process.send_signal(2)  # Ctrl-C
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def signature(path: Path) -> tuple[int, int] | None:
    """Return what changes when a file is replaced (its inode and modification time)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def save(script: Path, text: str) -> float:
    """Write `text` to `script` as an editor saves; return when the save ended (monotonic)."""
    script.write_text(text)
    return time.monotonic()


def wait_for_new(files: list[Path], before: dict[Path, tuple[int, int] | None],
                 timeout: float = 120) -> list[float]:
    """Poll every millisecond until each file differs from `before`; return when each did."""
    seen: dict[Path, float] = {}
    deadline = time.monotonic() + timeout
    while len(seen) < len(files):
        now = time.monotonic()
        if now > deadline:
            raise SystemExit(f"{len(files) - len(seen)} light SVGs were never rewritten")
        for path in files:
            if path not in seen and signature(path) != before[path]:
                seen[path] = now
        time.sleep(0.001)
    return sorted(seen.values())


def plain_diagrams(scripts: list[Path], jobs: int) -> float:
    """Run each script with plain Python (the library writes its PNG), `jobs` at a time."""
    folder = scripts[0].parent
    started = time.monotonic()
    with ThreadPoolExecutor(jobs) as pool:
        for result in pool.map(lambda s: subprocess.run([sys.executable, s.name], cwd=folder,
                                                        capture_output=True), scripts):
            if result.returncode != 0:
                raise SystemExit(f"plain diagrams failed: {result.stderr.decode()}")
    return time.monotonic() - started


def measure(base: Path, figures: int = 20, edits: int = 5, jobs: int | None = None
            ) -> WatchTimes:
    """Watch a synthetic course of `figures` sharing one helper; time the edits described."""
    jobs = jobs or os.cpu_count() or 1
    course = base / "watched"
    scripts = write_course(course, figures=figures, chapters=max(1, figures // 5),
                           svg_only=False, shared_helper=True)
    plain = base / "plain-watched"
    shutil.copytree(course / "diagrams", plain)
    plain_scripts = sorted(plain.glob("figure_*.py"))

    lights = [course / "build" / "diagrams" / f"{s.stem}.svg" for s in scripts]
    watch = Watch(course, jobs)
    try:
        watch.settled()  # the first build, of everything
        time.sleep(0.5)
        shown, settled = [], []
        for edit in range(edits):
            script = scripts[(edit * 7) % len(scripts)]
            light = course / "build" / "diagrams" / f"{script.stem}.svg"
            text = FIRST_LABEL.sub(lambda m: f'"{m.group(1)} e{edit}"))', script.read_text(),
                                   count=1)
            before = {light: signature(light)}
            saved = save(script, text)
            shown.append(wait_for_new([light], before)[0] - saved)
            settled.append(watch.settled() - saved)
            time.sleep(0.3)
        # The helper edits, each after a run of plain diagrams while the watch waits: one
        # machine's moods reach both sides, and each is the median of its runs.
        firsts, alls, helper_settled, plains = [], [], [], []
        for edit in range(HELPER_EDITS):
            plains.append(plain_diagrams(plain_scripts, jobs))
            time.sleep(0.3)
            before = {path: signature(path) for path in lights}
            saved = save(course / "diagrams" / f"{HELPER}.py", f'PREFIX = "service {edit}"\n')
            times = wait_for_new(lights, before)
            helper_settled.append(watch.settled() - saved)
            firsts.append(times[0] - saved)
            alls.append(times[-1] - saved)
            time.sleep(0.3)
    finally:
        watch.close()
    return WatchTimes(statistics.median(shown), statistics.median(settled),
                      statistics.median(firsts), statistics.median(alls),
                      statistics.median(helper_settled), statistics.median(plains),
                      figures, edits)


def edit_arguments() -> argparse.Namespace:
    """Read the options of a latency bench: the figures, the edits and the jobs."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--figures", type=int, default=20)
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=None)
    return parser.parse_args()


def main() -> None:
    args = edit_arguments()
    with tempfile.TemporaryDirectory(prefix="course-assets-watch-") as folder:
        times = measure(Path(folder), args.figures, args.edits, args.jobs)
    print(f"one label edited -> light SVG: {times.one_label:.3f} s (median of {times.edits}); "
          f"settled {times.one_label_settled:.3f} s")
    print(f"helper of {times.figures} edited -> first light SVG {times.helper_first:.3f} s, "
          f"all {times.helper_all:.3f} s, settled {times.helper_settled:.3f} s; "
          f"plain diagrams {times.plain:.3f} s")


if __name__ == "__main__":
    main()
