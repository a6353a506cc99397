"""What making the gallery and every deck costs, in CPU seconds, against another checkout's code.

    python bench/decks_cpu.py [BASE_PYTHON] [--figures 100] [--chapters 20] [--rounds 3]

It builds the synthetic course once (default formats: the PowerPoint decks need the PNGs),
then makes its gallery and all its decks again (HTML, Marp, light and dark PowerPoint) with
every plan forced, in one process, as a build with one worker does: this checkout's code and,
with BASE_PYTHON (another checkout's environment, main's say), that one's, alternating round
by round so that both see the same machine load. Each run is a fresh process; it reports the
CPU seconds of making them (the imports they need included) and checks that both made the
same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from synthetic import write_course  # noqa: E402 - bench/ is not a package

# Run by each Python in a fresh process, with the course as its argument: it prints the CPU
# seconds and a digest of every file made.
MAKE_ALL = """
import hashlib, json, sys, time
from pathlib import Path
from course_assets.config import load_settings
from course_assets.publish.derived import make_derived
from course_assets.state.manifest import load_manifest
from course_assets.state.plan import Kind, OutputPlan, Status

settings = load_settings(Path(sys.argv[1]))
manifest = load_manifest(settings.root / "build" / "manifest.json")
plans = [OutputPlan(Kind.GALLERY, "", settings.diagrams_dir, "", None, Status.FORCED, ())]
plans += [OutputPlan(Kind.SLIDES, name, settings.root / record.source, "", None,
                     Status.FORCED, ()) for name, record in sorted(manifest.chapters.items())]


def read(path):
    try:
        return (settings.root / path).read_bytes()
    except OSError:
        return None


start = time.process_time()
made = make_derived(settings, plans, manifest.figures, manifest.chapters, read)
cpu = time.process_time() - start
digests = {path: hashlib.sha256(data).hexdigest() for path, data in sorted(made.files.items())}
print(json.dumps({"cpu": cpu, "files": digests}))
"""


def make_all(python: str, course: Path) -> tuple[float, dict[str, str]]:
    done = subprocess.run([python, "-c", MAKE_ALL, str(course)], check=True,
                          capture_output=True, text=True)
    result = json.loads(done.stdout)
    return float(result["cpu"]), dict(result["files"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_python", nargs="?", help="another checkout's Python to compare")
    parser.add_argument("--figures", type=int, default=100)
    parser.add_argument("--chapters", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    pythons = {"this checkout": sys.executable}
    if options.base_python:
        pythons = {"base": options.base_python, **pythons}
    with tempfile.TemporaryDirectory(prefix="course-assets-decks-bench-") as temporary:
        course = Path(temporary) / "course"
        write_course(course, options.figures, options.chapters, svg_only=False)
        subprocess.run([sys.executable, "-m", "course_assets", "build", "-q"], cwd=course,
                       check=True)
        cpu: dict[str, list[float]] = {name: [] for name in pythons}
        files: dict[str, dict[str, str]] = {}
        for _ in range(options.rounds):
            for name, python in pythons.items():  # alternated: both see the same load
                seconds, files[name] = make_all(python, course)
                cpu[name].append(seconds)
    print(f"course: {options.figures} figures, {options.chapters} chapters, default formats; "
          f"the gallery and every deck made again in one process, {options.rounds} rounds")
    for name, runs in cpu.items():
        listed = ", ".join(f"{run:.2f}" for run in runs)
        print(f"{name:<16}{statistics.median(runs):>7.2f} CPU s (median; runs {listed})")
    if len(files) == 2:
        same = len(set(map(json.dumps, files.values()))) == 1
        count = len(files["this checkout"])
        print(f"the same bytes: {'yes' if same else 'NO'} ({count} files)")
    digest = hashlib.sha256(json.dumps(files["this checkout"]).encode()).hexdigest()[:12]
    print(f"files made: {len(files['this checkout'])}, digest {digest}")


if __name__ == "__main__":
    main()
