"""What the PowerPoint decks cost a build: one edited script, with `pptx` on and off, side by side.

Run with `.venv/bin/python bench/pptx_decks.py` (or `make bench`, which runs it before run.py).
It builds a synthetic course with the default formats (the decks need the PNGs) in a temporary
folder, then alternates one-script edits with the decks on and off, so that both see the same
machine load, and prints the medians and the decks' bytes.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from synthetic import write_course  # noqa: E402 - bench/ is not a package

REPEATS = 5
FIGURES, CHAPTERS = 20, 4  # 5 figures a chapter, as in run.py's course


def build(cli: list[str], course: Path) -> float:
    start = time.perf_counter()
    subprocess.run([*cli, "build", "-q"], cwd=course, check=True)
    return time.perf_counter() - start


def set_pptx(course: Path, on: bool) -> None:
    (course / "pyproject.toml").write_text(f"[tool.course-assets]\npptx = {str(on).lower()}\n")


def main() -> None:
    cli = [sys.executable, "-m", "course_assets"]
    with tempfile.TemporaryDirectory(prefix="course-assets-pptx-bench-") as temporary:
        courses = {on: Path(temporary) / ("on" if on else "off") for on in (True, False)}
        scripts = {}
        for on, course in courses.items():
            scripts[on] = write_course(course, FIGURES, CHAPTERS, svg_only=False)
            set_pptx(course, on)
            build(cli, course)
        times: dict[bool, list[float]] = {True: [], False: []}
        for round_ in range(REPEATS):
            for on in (True, False):  # alternated: both see the same load
                script = scripts[on][round_ * 3 % FIGURES]
                script.write_text(script.read_text().replace('"""', '"""Edited. ', 1))
                times[on].append(build(cli, courses[on]))
        decks = sorted((courses[True] / "build" / "slides").glob("*.pptx"))
        sizes = [deck.stat().st_size for deck in decks]
    on, off = statistics.median(times[True]), statistics.median(times[False])
    print(f"course: {FIGURES} figures, {CHAPTERS} chapters, default formats; "
          f"median of {REPEATS} one-script edits")
    print(f"{'one script changed, pptx = true':<40}{on:>8.2f} s")
    print(f"{'one script changed, pptx = false':<40}{off:>8.2f} s")
    added = "the edited chapter's two decks add"
    print(f"{added:<40}{on - off:>8.2f} s")
    print(f"decks: {len(decks)}, {min(sizes) / 1e6:.2f} to {max(sizes) / 1e6:.2f} MB each")


if __name__ == "__main__":
    main()
