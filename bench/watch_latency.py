"""Time a one-script edit in watch mode: from the save to the rebuild's on_build callback.

Usage: PYTHONPATH=src python bench/watch_latency.py [--figures 20] [--edits 5] [--jobs N] [--prebuilt]
"""

from __future__ import annotations

import argparse
import queue
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from synthetic import write_course  # noqa: E402

from course_assets.build import BuildOptions, build_course  # noqa: E402
from course_assets.config import load_settings  # noqa: E402
from course_assets.watching import watch_course  # noqa: E402


def main() -> None:
    """Build a synthetic course in a watch session, then time each of several one-script edits."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--figures", type=int, default=20)
    parser.add_argument("--chapters", type=int, default=4)
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--debounce-ms", type=int, default=150)
    parser.add_argument("--prebuilt", action="store_true",
                        help="build the course before watching, so the first build renders nothing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pool-syn-") as folder:
        root = Path(folder) / "course"
        scripts = write_course(root, figures=args.figures, chapters=args.chapters)
        if args.prebuilt:
            build_course(load_settings(root), BuildOptions(jobs=args.jobs))
        results: queue.Queue[object] = queue.Queue()
        stop = threading.Event()
        watcher = threading.Thread(
            target=watch_course, args=(load_settings(root), results.put),
            kwargs={"options": BuildOptions(jobs=args.jobs), "stop": stop,
                    "debounce_ms": args.debounce_ms})
        watcher.start()
        try:
            first = results.get(timeout=600)
            print(f"first build: {getattr(first, 'summary', lambda: first)()}")
            time.sleep(1.0)  # the watcher is running
            latencies, builds = [], []
            for edit in range(args.edits):
                script = scripts[edit % len(scripts)]
                script.write_text(script.read_text() + f"# edit {edit}\n")
                saved = time.perf_counter()
                result = results.get(timeout=120)
                latencies.append(time.perf_counter() - saved)
                builds.append(getattr(result, "seconds", float("nan")))
                print(f"edit {edit}: {latencies[-1]:.3f} s from save to on_build "
                      f"(build {builds[-1]:.3f} s)")
                time.sleep(0.5)
            print(f"median of {args.edits}: {statistics.median(latencies):.3f} s from save "
                  f"(debounce {args.debounce_ms} ms), build alone "
                  f"{statistics.median(builds):.3f} s")
        finally:
            stop.set()
            watcher.join(timeout=60)


if __name__ == "__main__":
    main()
