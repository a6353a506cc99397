"""Fixtures shared by the tests: small courses in tmp_path, the CLI, and a real browser."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from course_assets.cli import cli

REPO = Path(__file__).resolve().parents[1]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

@dataclass
class Course:
    """A course in a temporary folder, with helpers to write sources and run the CLI."""

    root: Path

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def figure(self, name: str, body: str = "", *, title: str | None = None,
               doc: str = "A figure for the tests.") -> Path:
        """Write a figure script; `body` is the code inside the `with Diagram(...)` block."""
        body = textwrap.dedent(body or 'Mlflow("tracking") >> Airflow("pipeline")')
        indented = textwrap.indent(body, "    ")
        code = (
            f'"""{doc}"""\n'
            "from diagrams import Cluster, Diagram, Edge, Node\n"
            "from diagrams.onprem.mlops import Mlflow\n"
            "from diagrams.onprem.workflow import Airflow\n\n"
            f"with Diagram({title or name.replace('_', ' ').title()!r}, show=False):\n"
            f"{indented}\n"
        )
        path = self.root / "diagrams" / f"{name}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code, encoding="utf-8")
        return path

    def chapter(self, name: str, text: str) -> Path:
        return self.write(f"chapters/{name}.md", text)

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(cli, ["-C", str(self.root), *args], catch_exceptions=False)

    def built(self, relative: str) -> Path:
        return self.root / "build" / relative

@pytest.fixture
def course(tmp_path: Path) -> Course:
    """Return an empty course: a pyproject.toml with an empty [tool.course-assets] table."""
    root = tmp_path / "course"
    root.mkdir()
    (root / "pyproject.toml").write_text("[tool.course-assets]\n", encoding="utf-8")
    (root / "diagrams").mkdir()
    (root / "chapters").mkdir()
    return Course(root)

@pytest.fixture
def repo_course(tmp_path: Path) -> Course:
    """Return a copy of this repository's own course (figures, chapters, settings), unbuilt."""
    root = tmp_path / "repo-course"
    root.mkdir()
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / "diagrams", root / "diagrams",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "chapters", root / "chapters")
    if (REPO / "templates").is_dir():
        shutil.copytree(REPO / "templates", root / "templates")
    return Course(root)

def chromium_path() -> str:
    """Return the Chromium to drive; the Makefile installs Debian's chromium for the tests."""
    for candidate in (os.environ.get("COURSE_ASSETS_CHROMIUM"), "chromium", "chromium-browser",
                      "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    pytest.fail("no Chromium found: run `make test` (it installs it) or set COURSE_ASSETS_CHROMIUM")

@pytest.fixture(scope="session")
def browser() -> Iterator:
    """Yield a headless Chromium driven by Playwright; closed when the session ends."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()

@pytest.fixture
def page(browser) -> Iterator:
    """Yield a fresh browser page with no network beyond file:// and the loopback address."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()

SvgChecker = Callable[[Path], None]


def wait_until(page, predicate: str, arg=None, timeout: float = 30.0) -> None:
    """Poll the JavaScript `predicate` in the page until it holds; fail after `timeout` seconds.

    Not page.wait_for_function: it evaluates its predicate with eval(), which the
    Content-Security-Policy of the preview and the slide decks rightly refuses.
    """
    deadline = time.monotonic() + timeout
    while not page.evaluate(predicate, arg):
        assert time.monotonic() < deadline, f"timed out waiting for: {predicate}"
        time.sleep(0.05)


@contextlib.contextmanager
def running_preview(course: Course, figure_body: str, chapter: str):
    """Run a preview server for a one-figure, one-chapter course on a free local port."""
    from course_assets.build import BuildOptions
    from course_assets.config import load_settings
    from course_assets.preview import PreviewServer

    course.figure("pipeline", figure_body)
    course.chapter("intro", chapter)
    server = PreviewServer(load_settings(course.root), "127.0.0.1", 0,
                           options=BuildOptions(jobs=1), debounce_ms=50)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def library_icon(name: str) -> bytes:
    """Return the bytes of one of the diagrams library's on-prem icons, e.g. "mlops/mlflow.png"."""
    import diagrams

    return (Path(diagrams.__file__).parent.parent / "resources/onprem" / name).read_bytes()


def custom_icon_figure(course: Course, name: str = "custom") -> Path:
    """Give the course icons/mine.png (MLflow's icon) and a figure `name` that shows it."""
    (course.root / "icons").mkdir(exist_ok=True)
    icon = course.root / "icons/mine.png"
    icon.write_bytes(library_icon("mlops/mlflow.png"))
    course.write(f"diagrams/{name}.py", '''
        """Uses a custom icon."""
        from diagrams import Diagram
        from diagrams.custom import Custom
        with Diagram("Custom", show=False):
            Custom("mine", "icons/mine.png")
    ''')
    return icon


def recording_worker(marker, text: str) -> str:
    """Return a figure body that writes the pid of the worker rendering it (its child's parent)."""
    return (f"import os, pathlib\n"
            f"pathlib.Path({str(marker)!r}).write_text(str(os.getppid()))\n"
            f"Mlflow({text!r})\n")


def alive(pid: int) -> bool:
    """Say whether process `pid` runs (a zombie, dead but not reaped, does not)."""
    try:
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (ProcessLookupError, FileNotFoundError):
        return False
    return state != "Z"


def wait_until_gone(pid: int, seconds: float = 10) -> bool:
    """Wait up to `seconds` for process `pid` to end; say whether it did."""
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


@contextlib.contextmanager
def course_process(course: Course, *args: str,
                   env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """Run `course-assets ARGS` on `course` in a session of its own (stderr piped); kill it
    if a test leaves it running."""
    process = subprocess.Popen(
        [sys.executable, "-m", "course_assets", "-C", str(course.root), *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env=env)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def scratch_folders(temporary: Path) -> list[Path]:
    """Return the tool's scratch folders in `temporary` (not the shared font cache)."""
    return sorted(p for p in temporary.glob("course-assets-*")
                  if not p.name.startswith("course-assets-fonts-"))


def processes_where(field: int, value: int) -> list[int]:
    """Return the living processes whose /proc stat field `field` (after the name) is `value`:
    0 the state, 1 the parent, 2 the process group."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[field]) == value and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def assert_none_outlived(what: str, worker: int, sleeper: int) -> None:
    """Assert a worker and the process its figure's script started both ended with `what`."""
    import signal

    try:
        assert wait_until_gone(worker), f"a worker outlived {what}"
        assert wait_until_gone(sleeper), f"the script's own process outlived {what}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(sleeper, signal.SIGKILL)  # never left running by a failed test


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the scratch folders of the builds the tests killed with SIGKILL on purpose.

    The tool removes them when its next pool starts; after the last test, none does.
    """
    from course_assets.render.scratch import sweep_abandoned

    sweep_abandoned()
