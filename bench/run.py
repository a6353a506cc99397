"""Benchmark course-assets against its floors (Graphviz alone) and plain diagrams scripts.

Run with `make bench`. Everything happens in a temporary folder; nothing is written here.
"""

from __future__ import annotations

import os
import platform
import resource
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

from synthetic import write_big_figure_course, write_course  # noqa: E402 - bench/ is not a package
from preview_latency import measure as measure_preview  # noqa: E402
from watch_latency import measure as measure_watch  # noqa: E402

REPEATS = 5  # the short runs are repeated and their median reported


@dataclass(frozen=True)
class Measure:
    name: str
    seconds: float
    peak_mb: float


class TreeMemory:
    """Sample the memory of a process and all its descendants; keep the peak."""

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
            self.peak = max(self.peak, tree_memory(self.pid))
            self._stop.wait(0.005)


def tree_memory(root: int) -> int:
    """Return the summed proportional set size in bytes of `root` and its descendants (Linux).

    Forked workers and their children share most of their pages with their parent; resident
    sizes would count each shared page once per process, the proportional size counts it once.
    """
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += _proportional_size(pid)
        stack.extend(children.get(pid, []))
    return total


def _proportional_size(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def median(measures: list[Measure]) -> Measure:
    ordered = sorted(measures, key=lambda m: m.seconds)
    middle = ordered[len(ordered) // 2]
    return Measure(middle.name, middle.seconds, max(m.peak_mb for m in measures))


def run(name: str, command: list[str], cwd: Path, *, sample: bool, quiet: bool = False
        ) -> Measure:
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
    if not quiet:
        print(f"  {name}: {seconds:.2f} s" + (f", {peak:.0f} MB" if sample else ""),
              file=sys.stderr)
    return Measure(name, seconds, peak)


def parallel(name: str, commands: list[list[str]], cwd: Path, jobs: int,
             sample: bool = True) -> Measure:
    """Run independent commands `jobs` at a time; the peak is `jobs` times the first one's."""
    peak = run(name, commands[0], cwd, sample=True).peak_mb * jobs if sample else 0.0
    started = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(lambda command: run(name, command, cwd, sample=False, quiet=True),
                      commands))
    seconds = time.perf_counter() - started
    print(f"  {name}: {seconds:.2f} s", file=sys.stderr)
    return Measure(name, seconds, peak)


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


def what_a_no_change_build_loads(course: Path) -> str:
    """Run a no-change build in-process: did it import a renderer or parser, or run a program?"""
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
        "    heavy = ('diagrams', 'pygraphviz', 'markdown_it', 'jinja2', 'PIL')\n"
        "    loaded = [m for m in heavy if m in sys.modules]\n"
        "    print(('imported ' + ', '.join(loaded)) if loaded else ', '.join(heavy) + ' "
        "not imported', '/ a program was run' if ran else '/ no program run')\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=course, capture_output=True,
                            text=True, check=True)
    return result.stdout.strip()


@dataclass(frozen=True)
class Builds:
    cold: Measure
    unchanged: Measure
    one: Measure


def measure_builds(label: str, course: Path, scripts: list[Path], cli: list[str]) -> Builds:
    """Time a cold, a no-change and a one-script-changed build; then sample each one's memory."""
    build = [*cli, "build", "-q"]
    cold = run(f"{label}: cold build", build, course, sample=False)
    unchanged = median([run(f"{label}: no change", build, course, sample=False)
                        for _ in range(REPEATS)])
    edits = iter(scripts[2::10])

    def change_one(sample: bool) -> Measure:
        script = next(edits)
        script.write_text(script.read_text().replace('"""Synthetic', '"""Edited synthetic'))
        return run(f"{label}: one edited", build, course, sample=sample)

    one = median([change_one(sample=False) for _ in range(REPEATS)])
    # The same runs again, this time for their memory alone.
    one = with_peak(one, change_one(sample=True))
    unchanged = with_peak(unchanged, run(unchanged.name, build, course, sample=True))
    shutil.rmtree(course / "build")
    cold = with_peak(cold, run(cold.name, build, course, sample=True))
    return Builds(cold, unchanged, one)


@dataclass(frozen=True)
class AgainstPlain:
    """Cold default-formats builds and plain diagrams runs, interleaved: medians and CPU."""

    build: Measure
    plain: Measure
    build_cpu: float
    plain_cpu: float


def cold_against_plain(course: Path, plain: Path, cli: list[str], jobs: int,
                       pairs: int = 3) -> AgainstPlain:
    """Run plain diagrams then a cold build, `pairs` times; return the medians, CPU too.

    One machine's moods reach both alike; the CPU seconds hold where the wall times move.
    """
    scripts = sorted(plain.glob("*.py"))
    builds, plains, build_cpu, plain_cpu = [], [], [], []
    for _ in range(pairs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        plains.append(parallel("plain diagrams (PNG)", [[sys.executable, s.name]
                                                        for s in scripts], plain, jobs,
                               sample=False))
        middle = resource.getrusage(resource.RUSAGE_CHILDREN)
        shutil.rmtree(course / "build", ignore_errors=True)
        builds.append(run("default formats: cold build", [*cli, "build", "-q"], course,
                          sample=False))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        plain_cpu.append(_cpu(middle) - _cpu(before))
        build_cpu.append(_cpu(after) - _cpu(middle))
    return AgainstPlain(median(builds), median(plains), statistics.median(build_cpu),
                        statistics.median(plain_cpu))


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Fitting:
    """Cold SVG-only builds of one course with fitting and without: wall and CPU seconds."""

    on: Measure
    off: Measure
    on_cpu: float
    off_cpu: float

    @property
    def ratio(self) -> float:
        return self.on_cpu / self.off_cpu

    def rows(self) -> list[str]:
        return [f"{m.name:<30}{m.seconds:>9.2f}{cpu:>12.2f}"
                for m, cpu in ((self.off, self.off_cpu), (self.on, self.on_cpu))]


def cpu_run(name: str, command: list[str], cwd: Path) -> tuple[Measure, float]:
    """Run `command` and return its wall time and the CPU seconds its process tree used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    measure = run(name, command, cwd, sample=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return measure, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure_fitting(base: Path, cli: list[str], pairs: int = 3) -> Fitting:
    """Time cold builds of the synthetic course with fitting (the default) and with `fit = false`.

    The two alternate, `pairs` times each, and the medians are compared: on a shared machine
    the CPU seconds are the steadier measure, and the verdict is on them.
    """
    on_course, off_course = base / "fit-on", base / "fit-off"
    write_course(on_course)
    write_course(off_course)
    with (off_course / "pyproject.toml").open("a") as settings:
        settings.write("fit = false\n")
    runs: dict[str, list[tuple[Measure, float]]] = {"on": [], "off": []}
    for _ in range(pairs):
        for key, course in (("off", off_course), ("on", on_course)):
            shutil.rmtree(course / "build", ignore_errors=True)
            runs[key].append(cpu_run(f"SVG only: cold, fit {key}", [*cli, "build", "-q"], course))

    def middle(key: str) -> tuple[Measure, float]:
        walls = median([m for m, _ in runs[key]])
        cpus = sorted(c for _, c in runs[key])
        return walls, cpus[len(cpus) // 2]

    (on, on_cpu), (off, off_cpu) = middle("on"), middle("off")
    return Fitting(on, off, on_cpu, off_cpu)


def report_fitting(fitting: Fitting) -> tuple[str, bool, str]:
    """Print the fitting comparison; return its verdict line's parts."""
    print(f"{'fitting (median of 3 pairs)':<30}{'seconds':>9}{'CPU seconds':>12}")
    for row in fitting.rows():
        print(row)
    return ("fitting: cold SVG-only build <= 1.3x the CPU of one with fit = false",
            fitting.ratio <= 1.3, f"{fitting.ratio:.2f}x")


def cpu_model() -> str:
    """Return the processor's name as Linux tells it (or the platform's word for it)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    if "fitting" in sys.argv[1:]:  # only the fitting comparison (about a minute)
        cli = [sys.executable, "-m", "course_assets"]
        with tempfile.TemporaryDirectory(prefix="course-assets-bench-") as temporary:
            fitting = measure_fitting(Path(temporary), cli)
        target, met, measured = report_fitting(fitting)
        print(f"{'met ' if met else 'MISSED'} {target}: {measured}")
        raise SystemExit(0 if met else 1)
    jobs = os.cpu_count() or 1
    cli = [sys.executable, "-m", "course_assets"]
    if shutil.which("dot") is None:
        raise SystemExit("the benchmark compares against a system Graphviz: `make bench` "
                         "installs it, or install the graphviz package yourself")
    # Measure as users run it: Python caching its bytecode (some CI images turn that off).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([*cli, "--help"], stdout=subprocess.DEVNULL, check=True)
    floor_script = str(Path(__file__).parent / "layout_floor.py")
    with tempfile.TemporaryDirectory(prefix="course-assets-bench-") as temporary:
        base = Path(temporary)
        svg_course, full_course = base / "svg", base / "full"
        scripts = write_course(svg_course)
        full_scripts = write_course(full_course, svg_only=False)
        dots = dot_sources(svg_course, scripts, base / "dot")
        plain = base / "plain"
        shutil.copytree(svg_course / "diagrams", plain)

        # Each worker process lays out its share of the graphs, as the build's workers do.
        in_process = parallel("floor: in-process", [[sys.executable, floor_script,
                                                     *map(str, dots[i::jobs])]
                                                    for i in range(jobs)], base, jobs)
        dot_floor = parallel("floor: dot -Tsvg", [["dot", "-Tsvg", "-o",
                                                   str(d.with_suffix(".svg")), str(d)]
                                                  for d in dots], base, jobs)
        plain_run = parallel("plain diagrams (PNG)", [[sys.executable, s.name] for s in
                                                      sorted(plain.glob("*.py"))], plain, jobs)
        svg = measure_builds("SVG only", svg_course, scripts, cli)
        probe = what_a_no_change_build_loads(svg_course)
        full = measure_builds("default formats", full_course, full_scripts, cli)
        # The headline comparison again, interleaved: plain diagrams, then a cold build.
        against_plain = cold_against_plain(full_course, plain, cli, jobs)
        plain_run = with_peak(against_plain.plain, plain_run)
        full = Builds(with_peak(against_plain.build, full.cold), full.unchanged, full.one)

        # Watch, default formats, through the real `watch` process (its own course of 20).
        watch = measure_watch(base, figures=20, edits=REPEATS, jobs=jobs)
        # And as the author sees it: `serve` and a chapter open in headless Chromium.
        preview = measure_preview(base, figures=20, edits=REPEATS, jobs=jobs)

        big_course = base / "big"
        write_big_figure_course(big_course)
        big = run("1,000-node figure", [*cli, "build", "-q"], big_course, sample=False)
        shutil.rmtree(big_course / "build")
        big = with_peak(big, run(big.name, [*cli, "build", "-q"], big_course, sample=True))
        fitting = measure_fitting(base, cli)

    dot_version = subprocess.run(["dot", "-V"], capture_output=True, text=True).stderr.strip()
    print(f"machine: {cpu_model()}, {platform.machine()}, {jobs} CPUs, {platform.system()} "
          f"{platform.release()}, Python {platform.python_version()}; system {dot_version}; "
          f"load average before the last run {os.getloadavg()[0]:.1f}")
    print(f"course: 100 figures (10-40 icon nodes in clusters), 20 chapters; --jobs {jobs}; "
          f"median of {REPEATS} for the no-change and one-edit runs")
    print()
    print(f"{'run':<30}{'seconds':>9}{'x dot':>8}{'x in-proc':>11}{'peak MB':>9}")
    # Peak MB: the proportional set size (shared pages counted once) of the whole process tree.
    rows = [in_process, dot_floor, plain_run, svg.cold, svg.unchanged, svg.one, full.cold,
            full.unchanged, full.one]
    for row in rows:
        print(f"{row.name:<30}{row.seconds:>9.2f}{row.seconds / dot_floor.seconds:>8.2f}"
              f"{row.seconds / in_process.seconds:>11.2f}{row.peak_mb:>9.0f}")
    # Another course, so no ratio to these floors: one script of 1,000 icon nodes, cold.
    print(f"{big.name:<30}{big.seconds:>9.2f}{'-':>8}{'-':>11}{big.peak_mb:>9.0f}")
    print()
    print(f"watch, default formats, {watch.figures} figures sharing a helper, --jobs {jobs}; "
          "seconds from the save (write) to the file on disk:")
    watch_rows = [
        (f"one label edited: light SVG (median of {watch.edits})", watch.one_label),
        ("one label edited: settled", watch.one_label_settled),
        ("helper edited (median of 3): first light SVG", watch.helper_first),
        (f"helper edited: all {watch.figures} light SVGs", watch.helper_all),
        ("helper edited: settled", watch.helper_settled),
        (f"plain diagrams, the {watch.figures} scripts (median of 3)", watch.plain),
    ]
    for label, seconds in watch_rows:
        print(f"  {label:<44}{seconds:>8.3f}")
    print(f"serve, default formats, {watch.figures} figures, a chapter open in headless "
          f"Chromium; one label edited (median of {preview.edits}), seconds from the save:")
    print(f"  {'light SVG on disk':<44}{preview.on_disk:>8.3f}")
    print(f"  {'new figure loaded in the page':<44}{preview.in_page:>8.3f}")
    print()
    unchanged = max(svg.unchanged.seconds, full.unchanged.seconds)
    svg_peak = max(m.peak_mb for m in (svg.cold, svg.unchanged, svg.one))
    full_peak = max(m.peak_mb for m in (full.cold, full.unchanged, full.one))
    verdicts = [
        ("watch: one label edited, light SVG on disk <= 0.15 s after the save",
         watch.one_label <= 0.15, f"{watch.one_label:.3f} s"),
        (f"watch: helper of {watch.figures} edited, all light SVGs on disk <= 1.0 s",
         watch.helper_all <= 1.0, f"{watch.helper_all:.3f} s"),
        ("watch: helper edited, settled no later than plain diagrams runs the scripts",
         watch.helper_settled <= watch.plain,
         f"{watch.helper_settled:.2f} s against {watch.plain:.2f} s"),
        ("SVG-only cold build <= 2.0x the dot floor", svg.cold.seconds <= 2 * dot_floor.seconds,
         f"{svg.cold.seconds / dot_floor.seconds:.2f}x"),
        ("SVG-only cold build <= 4.0x the in-process floor",
         svg.cold.seconds <= 4 * in_process.seconds,
         f"{svg.cold.seconds / in_process.seconds:.2f}x"),
        ("default-formats cold build no slower than plain diagrams",
         full.cold.seconds <= plain_run.seconds,
         f"{full.cold.seconds:.2f} s against {plain_run.seconds:.2f} s (CPU "
         f"{against_plain.build_cpu:.1f} s against {against_plain.plain_cpu:.1f} s; medians of "
         "3 interleaved pairs)"),
        ("no-change build <= 0.10 s", unchanged <= 0.10, f"{unchanged:.3f} s"),
        ("one script changed, SVG only, <= 0.2 s", svg.one.seconds <= 0.2,
         f"{svg.one.seconds:.3f} s"),
        ("one script changed, default formats, <= 0.6 s", full.one.seconds <= 0.6,
         f"{full.one.seconds:.3f} s"),
        ("peak memory <= 200 MB, SVG only", svg_peak <= 200, f"{svg_peak:.0f} MB"),
        ("peak memory <= 200 MB, default formats", full_peak <= 200, f"{full_peak:.0f} MB"),
    ]
    print()
    verdicts.append(report_fitting(fitting))
    print()
    for target, met, measured in verdicts:
        print(f"{'met ' if met else 'MISSED'} {target}: {measured}")
    print(f"no-change build: {probe}")
    if not all(met for _, met, _ in verdicts):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
