"""Time `course-assets serve` as the author sees it: from a save to the new figure in the page.

A real `serve` process with the default formats (SVG, PNG, dark) and headless Chromium showing
the chapter that embeds the edited figure. For each edit (one label of one figure), the page
records when the new light SVG has loaded in it; the script records when the save ended, and
the new SVG's modification time says when it was written. All are the system's wall clock.

Usage: python bench/preview_latency.py [--figures 20] [--edits 5] [--jobs N]
`make bench` runs it through bench/run.py.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from synthetic import write_course  # noqa: E402 - bench/ is not a package
from watch_latency import FIRST_LABEL, edit_arguments, signature  # noqa: E402

SERVING = re.compile(r"serving the preview at (http://\S+)")
# Records, for every figure image that finishes loading in the page, when it did (wall clock,
# ms) and from which URL, by figure name: a wide page shows a figure's slide layout
# (name.slide.svg) where it has one. The preview replaces the page's content in place after a build, so
# the new <img> elements load: a capturing listener on the document hears each of them.
RECORD_LOADS = """
window.figureLoads = {};
document.addEventListener("load", (event) => {
  const image = event.target;
  if (image.tagName !== "IMG") return;
  const file = new URL(image.currentSrc || image.src).pathname.split("/").pop();
  window.figureLoads[file.split(".")[0]] = {at: Date.now(), src: image.currentSrc || image.src};
}, true);
"""


@dataclass(frozen=True)
class PreviewTimes:
    """Seconds from a save: to the new light SVG on disk, and to it shown in the page."""

    on_disk: float  # median over the edits
    in_page: float
    edits: int


def chromium() -> str:
    """Return the Chromium to drive (the one the tests use)."""
    for candidate in (os.environ.get("COURSE_ASSETS_CHROMIUM"), "chromium", "chromium-browser",
                      "google-chrome"):
        if candidate and shutil.which(candidate):
            return str(shutil.which(candidate))
    raise SystemExit("no Chromium: `make chromium` installs it")


def measure(base: Path, figures: int = 20, edits: int = 5, jobs: int | None = None
            ) -> PreviewTimes:
    """Serve a synthetic course of `figures`; edit one label at a time and time each edit."""
    from playwright.sync_api import sync_playwright

    jobs = jobs or os.cpu_count() or 1
    course = base / "previewed"
    scripts = write_course(course, figures=figures, chapters=max(1, figures // 5),
                           svg_only=False)
    server = subprocess.Popen(
        [sys.executable, "-m", "course_assets", "-C", str(course), "serve", "--port", "0",
         "-j", str(jobs)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        url = _served_at(server)  # printed once the first build has ended
        chapter_of = _chapters_by_figure(course)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page(color_scheme="light")
                on_disk, in_page = [], []
                for edit in range(edits):
                    script = scripts[(edit * 7) % len(scripts)]
                    disk, shown = _one_edit(page, f"{url}/{chapter_of[script.stem]}", course,
                                            script, edit)
                    in_page.append(shown)
                    on_disk.append(disk)
                    time.sleep(0.5)
            finally:
                browser.close()
    finally:
        server.send_signal(2)  # Ctrl-C, as the author stops it
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    return PreviewTimes(statistics.median(on_disk), statistics.median(in_page), edits)


def _served_at(server: subprocess.Popen[str]) -> str:
    assert server.stdout is not None
    for line in server.stdout:
        found = SERVING.search(line)
        if found:
            return found.group(1).rstrip("/")
    raise SystemExit("`course-assets serve` ended before serving")


def _one_edit(page, chapter_url: str, course: Path, script: Path, edit: int
              ) -> tuple[float, float]:
    """Open the chapter showing `script`'s figure, edit its first label; return both times."""
    page.goto(chapter_url, wait_until="load")
    page.evaluate(RECORD_LOADS)
    shown_before = page.evaluate(
        "name => [...document.images].map((i) => i.currentSrc || i.src)"
        ".find((s) => s.split('/').pop().split('.')[0] === name)", script.stem)
    if not shown_before:
        raise SystemExit(f"the chapter page {chapter_url} does not show {script.stem}")
    shown_file = shown_before.split("?")[0].split("/")[-1]  # the light SVG the page shows
    light = course / "build" / "diagrams" / shown_file
    before = signature(light)
    script.write_text(FIRST_LABEL.sub(lambda m: f'"{m.group(1)} p{edit}"))',
                                      script.read_text(), count=1))
    saved = time.time()
    deadline = time.monotonic() + 120
    while (now := signature(light)) == before:
        if time.monotonic() > deadline:
            raise SystemExit(f"{shown_file} was never rewritten")
        time.sleep(0.001)
    # The file's own time says when it was written, however late this loop noticed it (a
    # loaded machine may not run it for tens of milliseconds).
    assert now is not None
    on_disk = now[1] / 1e9 - saved
    page.wait_for_function(
        "([name, before]) => window.figureLoads[name] && window.figureLoads[name].src !== before",
        arg=[script.stem, shown_before], timeout=120_000, polling=10)
    loaded_ms = page.evaluate("name => window.figureLoads[name].at", script.stem)
    return on_disk, loaded_ms / 1000 - saved


def _chapters_by_figure(course: Path) -> dict[str, str]:
    """Return the preview path of the chapter that shows each figure, from the built chapters."""
    found: dict[str, str] = {}
    for chapter in sorted((course / "build" / "chapters").glob("*.md")):
        for name in re.findall(r"(figure_\d+)\.svg", chapter.read_text()):
            found.setdefault(name, f"chapters/{chapter.stem}.html")  # that chapter's preview
    return found


def main() -> None:
    args = edit_arguments()
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory(prefix="course-assets-preview-") as temporary:
        times = measure(Path(temporary), args.figures, args.edits, args.jobs)
    print(f"serve, default formats, {args.figures} figures, one label edited "
          f"(median of {times.edits}): light SVG on disk {times.on_disk:.3f} s, "
          f"shown in the page {times.in_page:.3f} s")


if __name__ == "__main__":
    main()
