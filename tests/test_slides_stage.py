"""The slides' own layout is drawn in a stage of its own: its failures and cancellations."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from svgtools import parse, texts
from test_raster import CHAIN

from conftest import Course, course_process, processes_where, scratch_folders, wait_until_gone

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc, signals")


def chain(course: Course, name: str, steps: int) -> Path:
    return course.write(f"diagrams/{name}.py",
                        CHAIN.replace("STEPS", str(steps)).replace('"Chain"', repr(name)))


def children(pid: int) -> list[int]:
    return processes_where(1, pid)


DARK_FAILS = '''
    """A chain whose dark variant fails."""
    import os
    from diagrams import Diagram
    from diagrams.onprem.compute import Server

    with Diagram("Dark fails", show=False, direction="TB"):
        steps = [Server(f"step {i}") for i in range(20)]
        for a, b in zip(steps, steps[1:]):
            a >> b
        if os.environ["COURSE_ASSETS_THEME"] == "dark":
            raise RuntimeError("only in the dark")
'''


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_dark_error_in_a_figure_with_slides_names_its_script_and_spares_the_others(
        course, tmp_path, jobs):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    chain(course, "chain", 20)
    course.figure("small")
    course.write("diagrams/darkfails.py", DARK_FAILS)
    course.chapter("ch", '{{ diagram("chain") }}\n\n{{ diagram("small") }}\n\n'
                   '{{ diagram("darkfails") }}\n')
    with course_process(course, "build", "-j", jobs,
                        env={**os.environ, "TMPDIR": str(temporary)}) as process:
        _, stderr = process.communicate(timeout=120)
    assert process.returncode != 0, stderr
    assert "darkfails.py" in stderr and "only in the dark" in stderr, stderr
    assert "Traceback" not in stderr
    built = {p.name for p in course.built("diagrams").iterdir()}
    assert {"chain.svg", "chain.slide.svg", "chain.slide.dark.svg", "small.svg"} <= built
    assert not any(n.startswith("darkfails.") and n.endswith((".svg", ".png")) for n in built)
    assert scratch_folders(temporary) == []


def wait_for_line(process: subprocess.Popen, text: str, deadline: float) -> list[str]:
    assert process.stderr is not None
    lines = []
    while True:
        line = process.stderr.readline()
        lines.append(line)
        if text in line:
            return lines
        assert time.monotonic() < deadline and process.poll() is None, "never said " + text


def test_a_worker_killed_in_the_slides_stage_renders_the_figure_again_alone(course, tmp_path):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    chain(course, "chain", 2000)  # its slides' layout takes seconds
    course.write("pyproject.toml", '[tool.course-assets]\nformats = ["svg", "dark"]\n')
    course.chapter("ch", '{{ diagram("chain") }}\n')
    with course_process(course, "watch", "-j", "1",
                        env={**os.environ, "TMPDIR": str(temporary)}) as process:
        deadline = time.monotonic() + 120
        wait_for_line(process, "drew chain", deadline)
        assert not course.built("diagrams/chain.slide.svg").exists()
        # The one worker now draws the slides' layout, in a child of its own.
        workers = children(process.pid)
        busy = [w for w in workers if children(w)]
        while not busy:
            assert time.monotonic() < deadline
            time.sleep(0.02)
            busy = [w for w in children(process.pid) if children(w)]
        os.kill(busy[0], signal.SIGKILL)
        said = wait_for_line(process, "1 figure", deadline)
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=60)
    said_all = "".join(said) + rest
    assert "failed" not in said_all, said_all
    assert "Traceback" not in said_all, said_all
    assert course.built("diagrams/chain.slide.svg").is_file()
    assert course.built("diagrams/chain.slide.dark.svg").is_file()
    assert all(wait_until_gone(worker) for worker in workers)
    assert scratch_folders(temporary) == []


def snapshot(course: Course) -> dict[str, bytes]:
    root = course.root / "build"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != ".hash-cache.json"}


def test_a_save_during_the_slides_stage_cancels_it_and_slide_files_follow_the_figure(course):
    from test_watch import watching

    from course_assets.build import BuildOptions

    chain(course, "chain", 2000)  # its slides' layout takes seconds
    course.write("pyproject.toml", '[tool.course-assets]\nformats = ["svg", "dark"]\n')
    course.figure("small")
    course.chapter("ch", '## Chain\n\n{{ diagram("chain") }}\n\n## Small\n\n'
                   '{{ diagram("small") }}\n')
    slide = course.built("diagrams/chain.slide.svg")
    drew: list[tuple[str, bool]] = []
    saves = {"chain": CHAIN.replace("STEPS", "2").replace('"Chain"', "'chain'")}

    def on_light(name: str) -> None:
        drew.append((name, slide.exists()))
        if name in saves:  # a save while its slides' layout is drawn
            time.sleep(0.3)
            course.write("diagrams/chain.py", saves.pop(name))

    with watching(course, options=BuildOptions(jobs=1, on_light=on_light)) as results:
        first = results.get(timeout=120)
        # The stale build is cancelled; the next one builds the 2-step chain.
        while first.cancelled or slide.exists():  # a build the save cancelled, if told
            first = results.get(timeout=120)
        assert first.ok, [p.message for p in first.problems]
        assert not slide.exists()
        short = snapshot(course)
        drew.clear()
        chain(course, "chain", 20)
        again = results.get(timeout=120)
        assert again.ok
    # The light SVG was told before its slide SVG was on disk.
    assert drew == [("chain", False)]
    assert slide.is_file()
    watched = snapshot(course)
    assert course.run("check").exit_code == 0
    assert course.run("check", "--rebuild").exit_code == 0
    assert snapshot(course) == watched
    assert "chain.slide.svg" not in "".join(short)
    manifest = watched["manifest.json"].decode()
    assert "chain.slide.svg" in manifest
    assert "chain.slide.svg" in watched["slides/ch.marp.md"].decode()
    assert "chain.slide.svg" not in short["slides/ch.marp.md"].decode()


def overrun_limit(course: Course, script: Path) -> float:
    """Return a time limit a big chain's light SVG keeps well within, and its light SVG and
    slides' layout together overrun, as measured on this machine (skip where none is)."""
    from course_assets.config import load_settings
    from course_assets.render.figure import (
        FigureOutcome, FigureTask, render_light, render_slides,
    )
    from course_assets.render.isolate import remove_scratch_folder

    settings = load_settings(course.root)
    task = FigureTask(script.stem, script, settings.root, settings.padding, 60,
                      settings.formats, settings.png_max_side, settings.fit)
    light = render_light(task)
    assert not isinstance(light, FigureOutcome) and light.slides_to_try is not None
    both = render_slides(task, light)
    assert not isinstance(both, FigureOutcome) and both.slide_svg is not None
    remove_scratch_folder(light.scratch)
    limit = round(both.seconds * 0.75, 1)
    if not (light.seconds * 1.3 < limit and both.seconds - light.seconds < limit / 1.3):
        pytest.skip(f"stages too uneven to tell: {light.seconds:.2f} s, {both.seconds:.2f} s")
    return limit


def test_the_slides_layout_counts_against_the_first_stages_time_limit(course):
    """`timeout` bounds a figure's script, layout and fitting together, the slides' layout
    included, as when one stage drew them all: the slides' stage gets what is left."""
    script = chain(course, "chain", 2000)  # each of its two layouts takes seconds
    course.write("pyproject.toml", '[tool.course-assets]\nformats = ["svg"]\n')
    course.chapter("ch", '{{ diagram("chain") }}\n')
    limit = overrun_limit(course, script)
    result = course.run("build", "-j", "1", "--timeout", f"{limit:g}")
    assert result.exit_code != 0, result.output
    assert f"diagrams/chain.py:5: stopped after {limit:g} s" in result.output, result.output
    assert not course.built("diagrams/chain.slide.svg").exists()


LOGGING_CHAIN = '''
    """A chain that notes each run's theme."""
    import os
    from diagrams import Diagram
    from diagrams.onprem.compute import Server

    with open(LOG, "a") as log:
        log.write(os.environ["COURSE_ASSETS_THEME"] + " " + NAME + "\\n")
    with Diagram(NAME, show=False, direction="TB"):
        steps = [Server(f"step {i}") for i in range(20)]
        for a, b in zip(steps, steps[1:]):
            a >> b
'''


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_every_light_svg_is_drawn_before_any_dark_variant_with_slides_between(
        course, tmp_path, jobs):
    from test_svg_first import logged, logging_body

    log = tmp_path / "runs.log"
    for name in ("a", "b"):
        course.write(f"diagrams/{name}.py", LOGGING_CHAIN.replace("LOG", repr(str(log)))
                     .replace("NAME", repr(name)))
    course.figure("c", logging_body(log, "c"))
    result = course.run("build", "-j", jobs)
    assert result.exit_code == 0, result.output
    themes = [run.split()[0] for run in logged(log)]
    assert themes == ["light"] * 3 + ["dark"] * 3, logged(log)
    for name in ("a", "b"):
        assert course.built(f"diagrams/{name}.slide.dark.png").is_file()


def test_a_chapter_rebuilt_beside_an_unchanged_figure_with_slides_shows_its_chapter_svg(course):
    """A figure left alone is embedded from its manifest record, whose outputs are sorted:
    its slide SVG (`x.slide.svg` sorts before `x.svg`) is for the decks, not the chapter."""
    chain(course, "chain", 20)
    small = course.figure("small", 'Mlflow("first")')
    course.chapter("ch", '## Chain\n\n{{ diagram("chain") }}\n\n## Small\n\n'
                   '{{ diagram("small") }}\n')
    assert course.run("build", "-j", "1").exit_code == 0
    assert course.built("diagrams/chain.slide.svg").is_file()
    small.write_text(small.read_text().replace('"first"', '"second"'))
    result = course.run("build", "-j", "1")
    assert result.exit_code == 0 and "1 rebuilt, 1 unchanged" in result.output, result.output
    chapter = course.built("chapters/ch.md").read_text()
    assert 'src="../diagrams/chain.svg"' in chapter, chapter
    assert "chain.slide" not in chapter
    # The same bytes as a build from scratch: chapter, decks and manifest.
    incremental = snapshot(course)
    assert course.run("build", "-j", "1", "--force").exit_code == 0
    assert snapshot(course) == incremental
    # `check --diff` renders an edited chapter from the manifest's records: only the edit.
    chapter_source = course.root / "chapters/ch.md"
    chapter_source.write_text(chapter_source.read_text() + "\n## More\n")
    checked = course.run("check", "--diff")
    assert "+## More" in checked.output, checked.output
    assert "chain.slide" not in checked.output, checked.output


def test_a_save_while_a_figures_slides_stage_is_queued_cancels_it(course, tmp_path):
    import threading

    from test_svg_first import logged
    from test_watch import watching

    from course_assets.build import BuildOptions

    log, slow = tmp_path / "runs.log", tmp_path / "slow"
    chain(course, "chain", 2000)
    # Its light run waits while `slow` exists: the one worker is busy, the chain's slides'
    # stage waits in the queue.
    course.figure("zz", "import os, pathlib, time\n"
                  f"open({str(log)!r}, 'a').write(os.environ['COURSE_ASSETS_THEME'] + '\\n')\n"
                  f"while pathlib.Path({str(slow)!r}).exists():\n"
                  "    time.sleep(0.05)\n"
                  'Mlflow("zz")\n')
    course.write("pyproject.toml", '[tool.course-assets]\nformats = ["svg", "dark"]\n')
    course.chapter("ch", '{{ diagram("chain") }}\n\n{{ diagram("zz") }}\n')
    slide = course.built("diagrams/chain.slide.svg")
    slow.write_text("zz's light run waits")
    saved: list[bool] = []

    def on_light(name: str) -> None:
        if name == "chain" and not saved:
            deadline = time.monotonic() + 30
            while logged(log) != ["light"] and time.monotonic() < deadline:
                time.sleep(0.02)  # zz's light run, queued behind the chain's, starts and waits
            saved.append(logged(log) == ["light"])
            chain(course, "chain", 2)
            threading.Timer(1.5, slow.unlink).start()

    with watching(course, options=BuildOptions(jobs=1, on_light=on_light)) as results:
        built = results.get(timeout=120)
        while built.cancelled or built.figures_rebuilt == 0:
            built = results.get(timeout=120)
        assert built.ok, [p.message for p in built.problems]
    assert saved == [True]
    assert not slide.exists()
    watched = snapshot(course)
    assert "chain.slide" not in watched["manifest.json"].decode()
    assert course.run("check").exit_code == 0
    assert course.run("check", "--rebuild").exit_code == 0
    assert snapshot(course) == watched



def test_a_figure_whose_slides_stage_fails_in_watch_keeps_its_last_good_files(course, tmp_path):
    """Its new light SVG was shown before its slides' stage overran the limit: the figure's
    last good files are back, whole, the error names its script, the other figure builds."""
    from test_watch import watching

    from course_assets.build import BuildOptions

    big = tmp_path / "chain.py"
    chain(course, "chain", 2000).rename(big)
    script = chain(course, "chain", 20)
    small = course.figure("small", 'Mlflow("first")')
    course.write("pyproject.toml", '[tool.course-assets]\nformats = ["svg", "dark"]\n')
    course.chapter("ch", '{{ diagram("chain") }}\n\n{{ diagram("small") }}\n')
    limit = overrun_limit(course, course.write("diagrams/measured.py", big.read_text()))
    (course.root / "diagrams/measured.py").unlink()
    files = ("chain.svg", "chain.dark.svg", "chain.slide.svg", "chain.slide.dark.svg")
    drew: list[str] = []
    options = BuildOptions(jobs=1, timeout=limit, on_light=drew.append)
    with watching(course, options=options) as results:
        assert results.get(timeout=120).ok
        good = {name: course.built(f"diagrams/{name}").read_bytes() for name in files}
        drew.clear()
        script.write_text(big.read_text())
        small.write_text(small.read_text().replace('"first"', '"second"'))
        failed = results.get(timeout=120)
        while failed.cancelled or failed.figures_failed == 0:  # saves told in two builds
            failed = results.get(timeout=120)
    assert "chain" in drew  # its new light SVG was shown, then its slides' stage overran
    assert [(str(p.path.name), p.line) for p in failed.problems
            if f"stopped after {limit:g} s" in p.message] == [("chain.py", 5)]
    assert {name: course.built(f"diagrams/{name}").read_bytes() for name in files} == good
    assert "second" in " ".join(texts(parse(course.built("diagrams/small.svg"))))
