"""SVG first: a figure's light SVG is drawn before anything else, and shown as soon as it is."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from svgtools import parse, texts
from test_watch import watching

from course_assets.build import BuildOptions


def logging_body(log: Path, label: str, *, dark_waits_for: Path | None = None) -> str:
    """Return a figure body that notes each run's theme in `log`; a dark run waits (up to a
    minute) while the file `dark_waits_for` exists."""
    wait = ""
    if dark_waits_for is not None:
        wait = ("waited = 0\n"
                f"while theme == 'dark' and pathlib.Path({str(dark_waits_for)!r}).exists() "
                "and waited < 1200:\n"
                "    time.sleep(0.05)\n"
                "    waited += 1\n")
    return ("import os, pathlib, time\n"
            "theme = os.environ['COURSE_ASSETS_THEME']\n"
            f"with open({str(log)!r}, 'a') as log:\n"
            f"    log.write(f'{{theme}} {label}\\n')\n"
            f"{wait}"
            f"Mlflow({label!r})\n")


def logged(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def label_of(svg: Path) -> str:
    return " ".join(texts(parse(svg)))


def test_build_draws_every_light_svg_before_any_dark_variant(course, tmp_path):
    log = tmp_path / "runs.log"
    for name in ("a", "b", "c"):
        course.figure(name, logging_body(log, name))
    result = course.run("build", "-j", "1")
    assert result.exit_code == 0, result.output
    runs = logged(log)
    assert sorted(runs) == ["dark a", "dark b", "dark c", "light a", "light b", "light c"]
    themes = [run.split()[0] for run in runs]
    assert themes == ["light"] * 3 + ["dark"] * 3, runs
    for name in ("a", "b", "c"):  # and every file was still made
        for suffix in (".svg", ".png", ".dark.svg", ".dark.png", ".outline.md"):
            assert course.built(f"diagrams/{name}{suffix}").is_file()


def test_build_makes_the_costliest_figures_rest_first(course, tmp_path):
    # The longest parts go first, so that a build does not end on one worker finishing a large
    # figure alone: a figure's light SVG's time stands for its cost.
    log = tmp_path / "runs.log"
    for name in ("a", "b", "c"):
        body = logging_body(log, name)
        if name == "b":
            body = "import os, time\nif os.environ['COURSE_ASSETS_THEME'] == 'light':\n" \
                   "    time.sleep(0.5)\n" + body
        course.figure(name, body)
    result = course.run("build", "-j", "1")
    assert result.exit_code == 0, result.output
    runs = logged(log)
    assert runs[:3] == ["light a", "light b", "light c"], runs
    assert runs[3] == "dark b", runs


def test_watch_writes_the_saved_figures_light_svg_before_its_other_files(course):
    course.figure("fig", 'Mlflow("before")')
    files = {suffix: course.built(f"diagrams/fig{suffix}")
             for suffix in (".png", ".dark.svg", ".dark.png")}
    seen_at_light: list[tuple[str, str, dict[str, bytes]]] = []

    def on_light(name: str) -> None:
        seen_at_light.append((name, label_of(course.built("diagrams/fig.svg")),
                              {s: p.read_bytes() if p.exists() else b"" for s, p in files.items()}))

    with watching(course, options=BuildOptions(jobs=1, on_light=on_light)) as results:
        assert results.get(timeout=60).ok
        old = {suffix: path.read_bytes() for suffix, path in files.items()}
        seen_at_light.clear()
        course.figure("fig", 'Mlflow("after")')
        rebuilt = results.get(timeout=60)
    assert rebuilt.ok and rebuilt.figures_rebuilt == 1
    # When the preview is told, the light SVG is new and nothing else has been touched yet.
    assert [(name, "after" in label) for name, label, _ in seen_at_light] == [("fig", True)]
    assert seen_at_light[0][2] == old
    # Then the rest follows in the same build.
    for suffix, path in files.items():
        assert path.read_bytes() != old[suffix], suffix
    assert "after" in label_of(files[".dark.svg"])


def test_a_newer_save_cancels_the_stale_rest_of_a_build(course, tmp_path):
    log, slow = tmp_path / "runs.log", tmp_path / "slow"
    helper = course.write("diagrams/_label.py", 'LABEL = "first"\n')
    for name in ("a", "b", "c"):
        course.figure(name, "from _label import LABEL\n"
                      + logging_body(log, name, dark_waits_for=slow).replace(
                          f"Mlflow({name!r})", "Mlflow(LABEL)"))
    with watching(course, options=BuildOptions(jobs=1)) as results:
        assert results.get(timeout=60).ok
        log.unlink()
        slow.write_text("the dark run of the edited helper waits")
        helper.write_text('LABEL = "stale"\n')
        deadline = time.monotonic() + 30
        # Every light SVG is drawn, then the first dark run (the costliest figure's: any of
        # them) waits: save again meanwhile.
        while len(logged(log)) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        first_dark = logged(log)[3:4]
        assert first_dark in (["dark a"], ["dark b"], ["dark c"])
        assert logged(log) == ["light a", "light b", "light c", *first_dark]
        # The build hands the worker its next task (the first dark run) before it writes the
        # figure just finished (light c): that file follows within moments, while dark waits.
        while not all("stale" in label_of(course.built(f"diagrams/{n}.svg")) for n in "abc"):
            assert time.monotonic() < deadline, "the light SVGs were not all written"
            time.sleep(0.05)
        # And nothing else.
        assert logged(log) == ["light a", "light b", "light c", *first_dark]
        helper.write_text('LABEL = "fresh"\n')
        time.sleep(1.5)  # the build notices the save (it looks every 0.1 s) while dark waits
        slow.unlink()
        rebuilt = results.get(timeout=120)
    assert rebuilt.ok
    runs = logged(log)
    # The stale build's other dark runs never started; the fresh build ran everything.
    assert runs[:4] == ["light a", "light b", "light c", *first_dark]
    assert sorted(runs[4:]) == sorted(["light a", "light b", "light c",
                                       "dark a", "dark b", "dark c"])
    for name in "abc":
        assert "fresh" in label_of(course.built(f"diagrams/{name}.svg"))
        assert "fresh" in label_of(course.built(f"diagrams/{name}.dark.svg"))
    assert course.run("check").exit_code == 0


def test_a_watch_killed_after_the_light_svg_leaves_a_state_check_tells_and_build_finishes(
        course, tmp_path):
    log, slow = tmp_path / "runs.log", tmp_path / "slow"
    course.figure("fig", 'Mlflow("before")')
    course.figure("other", 'Mlflow("other")')
    assert course.run("build").exit_code == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "course_assets", "-C", str(course.root), "watch", "-j", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        time.sleep(2)  # the watch has built (nothing to do) and watches
        slow.write_text("the dark run waits")
        course.figure("fig", logging_body(log, "after", dark_waits_for=slow))
        deadline = time.monotonic() + 60
        while logged(log) != ["light after", "dark after"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert logged(log) == ["light after", "dark after"]
        assert "after" in label_of(course.built("diagrams/fig.svg"))
        os.killpg(process.pid, signal.SIGKILL)  # between the light SVG and the build's commit
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
    slow.unlink()

    checked = course.run("check")
    assert checked.exit_code != 0
    said = " ".join(checked.output.split())
    assert "build/diagrams/fig.svg: left by an interrupted build" in said
    assert "by hand" not in said
    assert "other.svg" not in said  # only the figure whose build was cut short

    built = course.run("build")
    assert built.exit_code == 0, built.output
    assert "1 rebuilt" in built.output
    assert "after" in label_of(course.built("diagrams/fig.dark.svg"))
    assert course.run("check").exit_code == 0


def test_a_figure_script_runs_where_the_build_has_loaded_what_it_needs(course, tmp_path):
    # Each script runs in a child forked from a worker: whatever that child imports is
    # imported again for every figure. The worker imports it once, before any figure, so
    # the script already finds it loaded (Pillow for the icons' sizes, fitting and the
    # settings it reads, the lint's reader), even in a cold build.
    log = tmp_path / "modules.txt"
    course.write("pyproject.toml", '[tool.course-assets]\nformats = ["svg"]\n')
    course.figure("fig", "import sys, pathlib\n"
                  f"pathlib.Path({str(log)!r}).write_text('\\n'.join(sorted(sys.modules)))\n"
                  'Mlflow("tracking")\n')
    result = subprocess.run([sys.executable, "-m", "course_assets", "-C", str(course.root),
                             "build", "-j", "1"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    loaded = set(log.read_text().splitlines())
    assert {"diagrams.onprem.mlops", "PIL.Image", "PIL.PngImagePlugin",
            "course_assets.layout.fitting", "course_assets.figlint.report",
            "course_assets.figlint.reader"} <= loaded
    assert course.built("diagrams/fig.svg").is_file()


def test_a_figures_light_svg_is_drawn_before_the_layout_of_its_slides(course):
    """The slides' own layout costs as much again as the figure: it is drawn after."""
    import shutil

    from test_raster import CHAIN

    from course_assets.config import load_settings
    from course_assets.render.figure import FigureTask, render_figure, render_light, render_slides

    script = course.write("diagrams/chain.py", CHAIN.replace("STEPS", "20"))
    settings = load_settings(course.root)
    task = FigureTask("chain", script, settings.root, settings.padding, settings.timeout,
                      settings.formats, settings.png_max_side, settings.fit)
    light = render_light(task)
    try:
        # The light stage named the slides' layout to try, and drew none.
        assert light.slides_to_try is not None and light.slide_svg is None
        assert light.fits.slide is None
        with_slides = render_slides(task, light)
        assert with_slides.slides_to_try is None
        assert with_slides.fits.slide == light.slides_to_try.fit
        assert b"<svg" in with_slides.slide_svg
        assert with_slides.svg == light.svg  # the chapter's drawing is what was shown
    finally:
        shutil.rmtree(light.scratch, ignore_errors=True)
    # In one go, or through the build's workers: the same files.
    whole = render_figure(task)
    assert whole.problem is None
    assert course.run("build").exit_code == 0
    for name, data in whole.files.items():
        assert course.built(f"diagrams/{name}").read_bytes() == data, name
    assert "chain.slide.svg" in whole.files
