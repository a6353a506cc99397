"""A course author's first hour: real upstream examples, through the real commands."""

from __future__ import annotations

import contextlib
import functools
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

from conftest import library_icon

# The diagrams documentation's "RabbitMQ Consumers with Custom Nodes", as written there but for
# the icon's URL, which points at a server of the test's own.
RABBITMQ = '''\
from urllib.request import urlretrieve

from diagrams import Cluster, Diagram
from diagrams.aws.database import Aurora
from diagrams.custom import Custom
from diagrams.k8s.compute import Pod

# Download an image to be used into a Custom Node class
rabbitmq_url = "{url}"
rabbitmq_icon = "rabbitmq.png"
urlretrieve(rabbitmq_url, rabbitmq_icon)

with Diagram("Broker Consumers", show=False):
    with Cluster("Consumers"):
        consumers = [
            Pod("worker"),
            Pod("worker"),
            Pod("worker")]

    queue = Custom("Message queue", rabbitmq_icon)

    queue >> consumers >> Aurora("Database")
'''

# The diagrams documentation's "Advanced Web Service with On-Premise", as written there: the
# figure lint's copy with its Fluentd import put back where the documentation has it.
ADVANCED_WEB_SERVICE = (
    (Path(__file__).parent / "data/upstream/advanced_web_service_with_on_premise.py")
    .read_text(encoding="utf-8")
    .replace("from diagrams.onprem.aggregator import Fluentd",
             "from diagrams.onprem.logging import Fluentd")
)
assert "diagrams.onprem.logging import Fluentd" in ADVANCED_WEB_SERVICE


@contextlib.contextmanager
def icon_server(folder: Path) -> Iterator[str]:
    """Serve `folder` over HTTP on 127.0.0.1; yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def closed_port() -> int:
    """Return a local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- 1. scripts that download their own icons ------------------------------------------------------

def test_upstream_rabbitmq_example_builds_with_its_downloaded_icon_and_a_warning(course, tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    icon = library_icon("queue/rabbitmq.png")
    (served / "icon.png").write_bytes(icon)
    course.chapter("queues", '# Queues\n\n{{ diagram("rabbitmq") }}\n')
    with icon_server(served) as base:
        url = f"{base}/icon.png"
        course.write("diagrams/rabbitmq.py", RABBITMQ.format(url=url))
        result = course.run("build")
    assert result.exit_code == 0, result.output
    svg = course.built("diagrams/rabbitmq.svg").read_text()
    import base64

    assert base64.b64encode(icon).decode()[:200] in svg  # the downloaded icon, embedded
    assert "rabbitmq.png" not in svg and "http" not in svg.replace("http://www.w3.org", "")
    assert course.built("chapters/queues.md").is_file()
    # The warning names the server, the line of the download, and the command that fixes it.
    assert (f"diagrams/rabbitmq.py:11: warning: the script downloaded {url} while building"
            in result.output)
    assert f"curl -fsSL -o diagrams/rabbitmq.png {url}" in result.output
    assert "delete the download at line 11" in result.output
    assert not list((course.root / "diagrams").rglob("*.png"))  # nothing left in the course
    assert not (course.root / "rabbitmq.png").exists()


def test_upstream_rabbitmq_example_without_a_network_says_what_it_tried(course):
    url = f"http://127.0.0.1:{closed_port()}/icon.png"
    course.write("diagrams/rabbitmq.py", RABBITMQ.format(url=url))
    result = course.run("build")
    assert result.exit_code == 1
    line = next(line for line in result.output.splitlines() if "rabbitmq.py:" in line)
    assert line.startswith("diagrams/rabbitmq.py:11: the script tried to download " + url)
    assert "a figure must build without a network" in line
    assert f"curl -fsSL -o diagrams/rabbitmq.png {url}" in line
    assert "icon file not found" not in result.output


def test_a_download_whose_error_the_script_swallows_is_still_named(course):
    url = f"http://127.0.0.1:{closed_port()}/icon.png"
    guarded = RABBITMQ.format(url=url).replace(
        "urlretrieve(rabbitmq_url, rabbitmq_icon)\n",
        "try:\n    urlretrieve(rabbitmq_url, rabbitmq_icon)\nexcept OSError:\n    pass\n")
    course.write("diagrams/rabbitmq.py", guarded)
    result = course.run("build")
    assert result.exit_code == 1
    assert "icon file not found: rabbitmq.png; the script tried to download " + url \
        in result.output


def test_following_the_fix_builds_the_rabbitmq_example_offline(course):
    url = f"http://127.0.0.1:{closed_port()}/icon.png"
    script = RABBITMQ.format(url=url).replace("urlretrieve(rabbitmq_url, rabbitmq_icon)\n", "")
    course.write("diagrams/rabbitmq.py", script)
    (course.root / "diagrams/rabbitmq.png").write_bytes(library_icon("queue/rabbitmq.png"))
    result = course.run("build")
    assert result.exit_code == 0, result.output
    assert "download" not in result.output


# -- 2. a class that moved in the library -------------------------------------------------------

def test_upstream_advanced_web_service_example_says_where_fluentd_is_now(course):
    course.write("diagrams/web_service.py", ADVANCED_WEB_SERVICE)
    result = course.run("build")
    assert result.exit_code == 1
    assert ("diagrams/web_service.py:6: ImportError: cannot import name 'Fluentd' from "
            "'diagrams.onprem.logging': the installed diagrams ") in result.output
    assert "has it in diagrams.onprem.aggregator; write " \
        "`from diagrams.onprem.aggregator import Fluentd`" in result.output
    fixed = ADVANCED_WEB_SERVICE.replace("diagrams.onprem.logging", "diagrams.onprem.aggregator")
    course.write("diagrams/web_service.py", '"""A web service on premises."""\n' + fixed)
    assert course.run("build").exit_code == 0


def test_a_misspelt_library_class_gets_the_closest_names(course):
    course.figure("typo", 'Fluentdd("logs")').write_text(
        '"""Typo."""\nfrom diagrams import Diagram\nfrom diagrams.onprem.aggregator import Fluentdd\n'
        'with Diagram("Typo", show=False):\n    Fluentdd("logs")\n')
    result = course.run("build")
    assert result.exit_code == 1
    assert "has no class of that name; the closest are diagrams.onprem.aggregator.Fluentd" \
        in result.output


# -- 3. a failed figure does not stop its chapters -------------------------------------------------

BROKEN = 'Mlflow("tracking") >> Airflow("pipeline")\nraise RuntimeError("half-way through")'


def test_a_figure_that_never_built_leaves_a_placeholder_until_it_builds(course):
    course.figure("good")
    course.figure("broken", BROKEN)
    course.chapter("intro", '# Intro\n\n{{ diagram("good") }}\n\n{{ diagram("broken") }}\n')
    result = course.run("build")
    assert result.exit_code == 1
    chapter = course.built("chapters/intro.md").read_text()
    assert "../diagrams/good.svg" in chapter
    assert "Figure 'broken' is missing" in chapter and "diagrams/broken.py" in chapter
    # The cause (the script's error) comes before its consequence (the chapter's placeholder).
    cause = result.output.index("diagrams/broken.py:")
    consequence = result.output.index("chapters/intro.md:5: figure 'broken' has not built")
    assert cause < consequence
    assert "placeholder" in result.output
    # A second build still fails and says so; check says why the figure never built.
    again = course.run("build")
    assert again.exit_code == 1 and "shows a placeholder for figure 'broken'" in again.output
    check = course.run("check")
    assert check.exit_code != 0
    assert ("never built: its last build failed: diagrams/broken.py:8: RuntimeError: "
            "half-way through") in check.output
    assert "chapters/intro.md: shows a placeholder for figure 'broken'" in check.output
    assert check.output.index("never built") < check.output.index("shows a placeholder")
    # Fixed, the figure builds and the placeholder goes.
    course.figure("broken")
    assert course.run("build").exit_code == 0
    assert "is missing" not in course.built("chapters/intro.md").read_text()
    assert course.run("check").exit_code == 0


def test_a_figure_that_breaks_keeps_its_last_good_version_in_the_chapter(course):
    course.figure("flow")
    course.chapter("intro", '# Intro\n\n{{ diagram("flow") }}\n\nMore text.\n')
    assert course.run("build").exit_code == 0
    svg = course.built("diagrams/flow.svg").read_bytes()
    course.figure("flow", BROKEN)
    course.chapter("intro", '# Intro\n\n{{ diagram("flow") }}\n\nEdited text.\n')
    result = course.run("build")
    assert result.exit_code == 1
    chapter = course.built("chapters/intro.md").read_text()
    assert "Edited text." in chapter and "../diagrams/flow.svg" in chapter
    assert course.built("diagrams/flow.svg").read_bytes() == svg
    assert ("chapters/intro.md: warning: shows the last good version of figure 'flow', which "
            "failed to build; it stays stale until diagrams/flow.py builds") in result.output
    check = course.run("check")
    assert "build/diagrams/flow.svg: stale" in check.output
    assert "its last build failed: diagrams/flow.py:8: RuntimeError" in check.output


# -- 5. starting a course --------------------------------------------------------------------------

def run_cli(*args: str):
    from click.testing import CliRunner

    from course_assets.cli import cli

    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_init_then_build_then_check_strict_pass_in_an_empty_folder(tmp_path):
    folder = tmp_path / "new-course"
    result = run_cli("init", str(folder))
    assert result.exit_code == 0, result.output
    for name in ("pyproject.toml", "diagrams/_style.py", "diagrams/how_a_figure_is_built.py",
                 "chapters/introduction.md", ".gitignore", ".github/workflows/course.yml"):
        assert f"created {name}" in result.output
        assert (folder / name).is_file()
    assert "course-assets check" in (folder / ".github/workflows/course.yml").read_text()
    assert '"dark"' in (folder / "diagrams/_style.py").read_text()
    build = run_cli("-C", str(folder), "build")
    assert build.exit_code == 0, build.output
    assert "warning" not in build.output
    assert "1 figure (1 rebuilt, 0 unchanged), 1 chapter (1 rebuilt)" in build.output
    check = run_cli("-C", str(folder), "check", "--strict")
    assert check.exit_code == 0, check.output
    assert "0 errors, 0 warnings" in check.output


def test_init_refuses_to_overwrite_anything(tmp_path):
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters/introduction.md").write_text("mine\n")
    result = run_cli("init", str(tmp_path))
    assert result.exit_code == 2
    assert "chapters/introduction.md" in result.output and "writes nothing" in result.output
    assert (tmp_path / "chapters/introduction.md").read_text() == "mine\n"
    assert not (tmp_path / "pyproject.toml").exists()


def test_a_course_without_figure_scripts_says_where_it_looked(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.course-assets]\n")
    result = run_cli("-C", str(tmp_path), "build")
    assert result.exit_code == 0
    assert ("warning: no figure scripts found (looked in diagrams/, which does not exist); "
            "run `course-assets init`") in result.output


def test_standalone_runs_of_the_init_figure_write_into_the_ignored_folder(tmp_path):
    import subprocess
    import sys

    run_cli("init", str(tmp_path))
    script = tmp_path / "diagrams/how_a_figure_is_built.py"
    subprocess.run([sys.executable, str(script)], cwd=script.parent, check=True, timeout=120)
    assert (tmp_path / "standalone/how_a_figure_is_built.png").is_file()
    assert not list((tmp_path / "diagrams").glob("*.png"))
    assert "/standalone/" in (tmp_path / ".gitignore").read_text().splitlines()


def test_standalone_runs_of_this_repositorys_figures_write_into_the_ignored_folder(repo_course):
    import subprocess
    import sys

    script = repo_course.root / "diagrams/three_stage_process.py"
    subprocess.run([sys.executable, str(script)], cwd=repo_course.root, check=True, timeout=120)
    assert list((repo_course.root / "standalone").glob("*.png"))
    assert not list(repo_course.root.glob("*.png"))
    assert not list((repo_course.root / "diagrams").glob("*.png"))


# -- 6. accurate check messages --------------------------------------------------------------------

def test_check_reports_a_syntax_error_as_one_and_build_warns_about_a_missing_description(course):
    course.write("diagrams/broken.py", '"""Broken."""\nwith Diagram("x"\n')
    course.figure("plain", doc="")
    course.write("diagrams/plain.py", course.root.joinpath("diagrams/plain.py").read_text()
                 .replace('""""""\n', ""))
    course.chapter("intro", '# Intro\n\n{{ diagram("plain") }}\n')
    build = course.run("build")
    assert "diagrams/plain.py:1: warning: figure has no description" in build.output
    check = course.run("check")
    assert "diagrams/broken.py:2:" in check.output and "SyntaxError" in check.output
    assert "broken.py:1: figure has no description" not in check.output
    assert "plain.py:1: figure has no description" in check.output


def test_check_names_each_state_of_an_output(course):
    course.figure("kept")
    course.figure("gone")
    course.figure("edited")
    course.chapter("intro", '{{ diagram("kept") }} {{ diagram("gone") }} {{ diagram("edited") }}\n')
    assert course.run("build").exit_code == 0
    course.figure("fresh")
    course.built("diagrams/gone.svg").unlink()
    course.built("diagrams/edited.svg").write_text("<svg/>")
    course.figure("kept", 'Mlflow("changed")')
    check = course.run("check")
    assert "build/diagrams/fresh.svg: never built; run `course-assets build`" in check.output
    assert "build/diagrams/gone.svg: missing: the file was deleted" in check.output
    assert "build/diagrams/kept.svg: stale: its sources changed" in check.output
    assert "build/diagrams/edited.svg: edited by hand" in check.output


# -- 7. building named figures ---------------------------------------------------------------------

def test_build_names_builds_those_figures_and_what_embeds_them_only(course):
    course.figure("one")
    course.figure("two")
    course.chapter("a", '{{ diagram("one") }}\n')
    course.chapter("b", '{{ diagram("two") }}\n')
    assert course.run("build").exit_code == 0
    course.figure("one", 'Mlflow("one, edited")')
    course.figure("two", 'Mlflow("two, edited")')
    course.chapter("b", '{{ diagram("two") }}\nedited\n')
    before_two = course.built("diagrams/two.svg").read_bytes()
    before_b = course.built("chapters/b.md").read_bytes()
    result = course.run("build", "one")
    assert result.exit_code == 0, result.output
    assert "built one" in result.output and "built two" not in result.output
    assert "one, edited" in course.built("diagrams/one.svg").read_text()
    assert course.built("diagrams/two.svg").read_bytes() == before_two
    assert course.built("chapters/b.md").read_bytes() == before_b
    check = course.run("check")
    assert "build/diagrams/two.svg: stale" in check.output and "one.svg" not in check.output
    # --force with a name replaces that figure's hand-edited output, and only that.
    course.built("diagrams/one.svg").write_text("<svg/>")
    assert course.run("build", "--force", "one").exit_code == 0
    assert "one, edited" in course.built("diagrams/one.svg").read_text()


def test_build_names_does_not_call_the_figures_it_left_alone_unchanged(course):
    course.figure("one")
    course.figure("two")  # never built: a named build of `one` must not call it unchanged
    result = course.run("build", "one")
    assert result.exit_code == 0, result.output
    assert "2 figures (1 rebuilt, 0 unchanged, 1 left alone)" in result.output
    assert not course.built("diagrams/two.svg").exists()


def test_build_with_an_unknown_name_suggests_the_closest(course):
    course.figure("pipeline")
    result = course.run("build", "pipeline", "pipelin")
    assert result.exit_code == 2
    assert "unknown figure 'pipelin'; did you mean 'pipeline'?" in result.output
    assert not course.built("diagrams/pipeline.svg").exists()


# -- 4. migrated figures are legible in dark mode, and named after what they show -------------------

MERMAID_CHAPTER = """# Chapter 2

## How a change ships

```mermaid
flowchart LR
    student[Student] --> git_push[git push] --> ci[CI checks]
```
"""


def edge_strokes(svg: str) -> set[str]:
    import re

    edges = re.findall(r'<g id="[^"]*edge[^"]*" class="edge">(.*?)</g>', svg, re.S)
    return {stroke for edge in edges for stroke in re.findall(r'stroke="([^"]+)"', edge)}


def test_migrate_uses_the_course_style_so_the_dark_variant_is_legible(tmp_path):
    folder = tmp_path / "course"
    run_cli("init", str(folder))
    (folder / "chapters/ships.md").write_text(MERMAID_CHAPTER)
    result = run_cli("-C", str(folder), "migrate", "chapters", "--write")
    assert result.exit_code == 0, result.output
    script = (folder / "diagrams/how_a_change_ships.py").read_text()
    assert "from _style import edge_attr, graph_attr, node_attr" in script
    assert "#333333" not in script and '"How a change ships"' in script
    assert run_cli("-C", str(folder), "build").exit_code == 0
    dark = (folder / "build/diagrams/how_a_change_ships.dark.svg").read_text()
    assert edge_strokes(dark) == {"#a9b4bf"}, edge_strokes(dark)  # the style's dark edge colour


def test_migrate_without_a_course_style_writes_theme_safe_colours(course):
    course.chapter("ships", MERMAID_CHAPTER)
    assert course.run("migrate", "chapters", "--write").exit_code == 0
    script = (course.root / "diagrams/how_a_change_ships.py").read_text()
    assert "#333333" not in script and "_style" not in script
    assert not (course.root / "diagrams/student.py").exists()
    assert course.run("build").exit_code == 0
    light = edge_strokes(course.built("diagrams/how_a_change_ships.svg").read_text())
    dark = edge_strokes(course.built("diagrams/how_a_change_ships.dark.svg").read_text())
    assert dark and dark.isdisjoint({"#333333", "black", "#000000"}) and dark != light


# -- 8. small things -------------------------------------------------------------------------------

def test_watch_stamps_each_line_and_stops_quietly_on_ctrl_c(course):
    import os
    import re
    import signal
    import subprocess
    import sys
    import time

    course.figure("flow")
    course.chapter("intro", '{{ diagram("flow") }}\n')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen([sys.executable, "-m", "course_assets", "-C", str(course.root),
                                "watch", "-j", "1"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        lines.append(line)
        if "watching for changes" in line or not line:
            break
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=30)[1], None
    lines += rest.splitlines(keepends=True)
    said = [line.rstrip("\n") for line in lines if line.strip()]
    assert process.returncode == 0, said
    assert any("watching for changes" in line for line in said)
    assert all(re.match(r"\[\d\d:\d\d:\d\d\] ", line) for line in said), said
    assert said[-1].endswith("] stopped watching")
    assert not any("KeyboardInterrupt" in line or "Traceback" in line for line in said)


def test_details_and_summary_arrive_in_order_on_one_stream(course):
    import os
    import subprocess
    import sys

    course.figure("good")
    course.figure("broken", BROKEN)
    course.chapter("intro", '{{ diagram("good") }}\n{{ diagram("broken") }}\n')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run([sys.executable, "-m", "course_assets", "-C", str(course.root),
                             "build", "-j", "1"], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[-1].startswith("2 figures (1 rebuilt, 0 unchanged, 1 failed)")
    error = next(i for i, line in enumerate(lines) if line.startswith("diagrams/broken.py:"))
    placeholder = next(i for i, line in enumerate(lines) if line.startswith("chapters/intro.md:"))
    assert error < placeholder < len(lines) - 1


def test_the_python_api_builds_checks_and_lists(tmp_path):
    import course_assets
    from course_assets.build import BuildReport
    from course_assets.catalog import FigureEntry
    from course_assets.check import CheckReport
    from course_assets.errors import ConfigError

    report = course_assets.init_course(tmp_path / "c")
    assert "diagrams/how_a_figure_is_built.py" in report.created
    settings = course_assets.load_settings(tmp_path / "c" / "chapters")
    assert settings.root == (tmp_path / "c").resolve()
    built = course_assets.build_course(settings, jobs=1)
    assert isinstance(built, BuildReport) and built.ok and built.figures_rebuilt == 1
    again = course_assets.build_course(tmp_path / "c", figures=["how_a_figure_is_built"])
    assert again.ok and again.figures_rebuilt == 0
    checked = course_assets.check_course(str(tmp_path / "c"), strict=True)
    assert isinstance(checked, CheckReport) and checked.ok and checked.problems == ()
    (figure,) = course_assets.list_figures(settings)
    assert isinstance(figure, FigureEntry)
    assert (figure.name, figure.title, figure.chapters) == (
        "how_a_figure_is_built", "How a figure is built", ("introduction",))
    try:
        course_assets.build_course(settings, figures=["nope"])
    except ConfigError as exc:
        assert "unknown figure 'nope'" in str(exc)
    else:
        raise AssertionError("an unknown figure name must raise")


def test_the_preview_links_the_gallery_and_decks_and_shows_the_gallery_as_a_page(page, course):
    from conftest import running_preview, wait_until

    chapter = "# Getting started\n\n{{ diagram(\"pipeline\") }}\n"
    with running_preview(course, 'Mlflow("tracking") >> Airflow("training")', chapter) as server:
        page.goto(server.url)
        links = page.evaluate("""() => Array.from(document.querySelectorAll('main a'))
                                 .map(a => [a.textContent, a.getAttribute('href')])""")
        assert ["slides", "/slides/intro.html"] in links
        assert ["Marp", "/slides/intro.marp.md"] in links
        assert ["PowerPoint", "/slides/intro.pptx"] in links
        assert ["PowerPoint (dark)", "/slides/intro.dark.pptx"] in links
        served = page.request.get(server.url + "slides/intro.pptx")
        assert served.headers["content-type"] == (
            "application/vnd.openxmlformats-officedocument.presentationml.presentation")
        assert served.body()[:2] == b"PK"
        assert ["The gallery", "/diagrams/README.html"] in links
        page.click("text=The gallery")
        wait_until(page, "() => document.querySelector('main img') !== null")
        assert page.title() == "Figures"
        assert page.locator("main h1").text_content() == "Figures"  # rendered, not plain text
        wait_until(page, """() => Array.from(document.querySelectorAll('main img'))
                            .every(img => img.complete && img.naturalWidth > 0)""")
        hrefs = page.evaluate("""() => Array.from(document.querySelectorAll('main a'))
                                 .map(a => a.getAttribute('href'))""")
        assert "../chapters/intro.html" in hrefs  # the chapter that uses it, as a preview page
        page.goto(server.url + "slides/intro.html")
        assert page.locator("text=Getting started").count() > 0
