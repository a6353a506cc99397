"""`course-assets serve` over real HTTP: a real server on a free local port, real requests."""

from __future__ import annotations

import hashlib
import http.client
import json
import queue
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from course_assets.build import BuildOptions
from course_assets.config import load_settings
from course_assets.preview import PreviewError, PreviewServer

from conftest import alive, recording_worker, running_preview

WAIT = 30.0  # seconds: a bound on every wait, generous for a loaded two-core machine

CHAPTER = """\
# Getting started

The pipeline, as readers will see it:

{{ diagram("pipeline") }}

![The same figure, in Markdown](../diagrams/pipeline.svg)

[Next](next.md#start)
"""


@pytest.fixture
def preview(course) -> Iterator[PreviewServer]:
    """Yield a preview server for a one-figure, one-chapter course, on a free local port."""
    with running_preview(course, 'Airflow("tracking") >> Airflow("training")', CHAPTER) as server:
        yield server


def request(server: PreviewServer, path: str, method: str = "GET",
            headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    """Send one request exactly as given (no normalising of the path) and read the answer."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT)
    connection.request(method, path, headers=headers or {})
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


def read_event(stream: http.client.HTTPResponse) -> dict:
    """Return the data of the next `build` event on a server-sent event stream."""
    event, data = None, []
    while True:
        line = stream.fp.readline().decode("utf-8")
        if not line:
            raise AssertionError("the event stream ended")
        line = line.rstrip("\n")
        if line.startswith("event:"):
            event = line.partition(":")[2].strip()
        elif line.startswith("data:"):
            data.append(line.partition(":")[2].strip())
        elif not line and event == "build":
            return json.loads("\n".join(data))
        elif not line:
            event, data = None, []


def test_index_lists_chapters_and_figures(preview):
    response = request(preview, "/")
    page = response.body.decode()

    assert response.status == 200
    assert response.getheader("Content-Type") == "text/html; charset=utf-8"
    assert '<a href="/chapters/intro.html">Getting started</a>' in page
    assert 'src="/diagrams/pipeline.svg?v=' in page
    assert "Pipeline" in page  # the figure's title, from the build's manifest
    assert '<details id="preview-findings" hidden>' in page
    state = json.loads(request(preview, "/_preview/state").body)
    assert (state["generation"], state["ok"], state["problems"]) == (1, True, [])


def test_chapter_is_rendered_with_figures_pinned_to_their_bytes(preview, course):
    response = request(preview, "/chapters/intro.html")
    page = response.body.decode()
    digest = hashlib.sha256(course.built("diagrams/pipeline.svg").read_bytes()).hexdigest()[:16]

    assert response.status == 200
    assert response.getheader("Cache-Control") == "no-store"
    assert '<h1 id="getting-started">Getting started</h1>' in page
    # Both the figure snippet's raw <img> and a Markdown image get the content hash.
    assert page.count(f'src="../diagrams/pipeline.svg?v={digest}"') == 2
    assert '<a href="next.html#start">Next</a>' in page  # chapter links lead to previews
    assert 'src="/_preview/preview.js"' in page


def test_figure_is_served_as_built_and_revalidated(preview, course):
    response = request(preview, "/diagrams/pipeline.svg?v=anything")

    assert response.status == 200
    assert response.getheader("Content-Type") == "image/svg+xml"
    assert response.getheader("Cache-Control") == "no-cache"
    assert response.body == course.built("diagrams/pipeline.svg").read_bytes()
    again = request(preview, "/diagrams/pipeline.svg",
                    headers={"If-None-Match": response.getheader("ETag")})
    assert again.status == 304 and again.body == b""


def test_the_built_markdown_and_own_assets_are_served(preview, course):
    markdown = request(preview, "/chapters/intro.md")
    script = request(preview, "/_preview/preview.js")
    style = request(preview, "/_preview/preview.css")

    assert markdown.status == 200
    assert markdown.body == course.built("chapters/intro.md").read_bytes()
    assert script.status == 200 and b"EventSource" in script.body
    assert style.status == 200 and b"prefers-color-scheme: dark" in style.body


def test_nothing_outside_build_is_served(preview, course):
    # A file that must never leak, and a link inside build/ that points at it.
    (course.root / "secret.txt").write_text("do not serve\n", encoding="utf-8")
    (course.built("diagrams") / "leak.svg").symlink_to(course.root / "secret.txt")
    absolute = (course.root / "secret.txt").as_posix()
    forms = [
        "/../secret.txt",
        "/../pyproject.toml",
        "/chapters/../../pyproject.toml",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/chapters/..%2f..%2fsecret.txt",
        "/chapters/%2e%2e/%2e%2e/secret.txt",
        "/%252e%252e/secret.txt",  # encoded twice: decoded once, it is a plain name
        "/..%5csecret.txt",  # a backslash
        "/..\\secret.txt",
        "/chapters/intro.html/../../../secret.txt",
        absolute,  # an absolute path: looked up under build/, where it is not
        "/" + absolute,
        "/%2F" + absolute.lstrip("/").replace("/", "%2F"),
        f"http://127.0.0.1:{preview.port}/../secret.txt",  # absolute-form request target
        "/diagrams/leak.svg",  # a link out of build/
        "//etc/passwd",
        "/.lock",
        "/.gitignore",
        "/diagrams/",
        "/%00",
        "/%ff%fe",
    ]

    answers = {form: request(preview, form) for form in forms}

    assert {form: r.status for form, r in answers.items()} == {form: 404 for form in forms}
    assert not any(b"do not serve" in r.body or b"tool.course-assets" in r.body
                   for r in answers.values())


def test_the_server_never_writes(preview, course):
    before = sorted((p, p.stat().st_mtime_ns) for p in course.root.rglob("*"))

    statuses = [request(preview, "/chapters/intro.md", method).status
                for method in ("POST", "PUT", "DELETE", "PATCH")]

    assert statuses == [501] * 4
    assert sorted((p, p.stat().st_mtime_ns) for p in course.root.rglob("*")) == before


def test_requests_naming_another_host_are_refused(preview):
    # A web page that rebinds its own name to 127.0.0.1 sends that name as the Host.
    foreign = request(preview, "/chapters/intro.md", headers={"Host": "evil.example:80"})
    local = request(preview, "/chapters/intro.md", headers={"Host": f"localhost:{preview.port}"})

    assert foreign.status == 421
    assert local.status == 200


def test_events_push_each_build_with_its_errors(preview, course):
    connection = http.client.HTTPConnection("127.0.0.1", preview.port, timeout=WAIT)
    connection.request("GET", "/_preview/events")
    stream = connection.getresponse()
    try:
        assert stream.getheader("Content-Type") == "text/event-stream; charset=utf-8"
        first = read_event(stream)
        assert first["generation"] == 1 and first["ok"] and first["problems"] == []

        course.chapter("intro", CHAPTER.replace('diagram("pipeline")', 'diagram("pipe_line")'))
        broken = read_event(stream)
        errors = [p for p in broken["problems"] if p["severity"] == "error"]
        assert broken["generation"] > first["generation"] and not broken["ok"]
        assert [(p["path"], p["line"]) for p in errors] == [("chapters/intro.md", 5)]
        assert "unknown figure 'pipe_line'" in errors[0]["message"]
        assert errors[0]["text"].startswith("chapters/intro.md:5: ")
        # The server keeps serving the last good build while the error stands.
        assert request(preview, "/chapters/intro.html").status == 200

        course.chapter("intro", CHAPTER)
        fixed = read_event(stream)
        assert fixed["ok"] and fixed["generation"] > broken["generation"]
    finally:
        connection.close()


def test_stop_closes_the_port_and_every_thread(course):
    course.figure("pipeline")
    server = PreviewServer(load_settings(course.root), "127.0.0.1", 0,
                           options=BuildOptions(jobs=1))
    threads_before = set(threading.enumerate())
    with server:
        port = server.port
        # An open event stream must not keep the server from stopping.
        stream = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
        stream.request("GET", "/_preview/events")
        assert stream.getresponse().status == 200

    stream.close()
    assert set(threading.enumerate()) <= threads_before
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=WAIT).close()


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_the_warm_workers_serve_every_rebuild_and_stop_with_the_server(course, tmp_path):
    marker = tmp_path / "worker"
    course.figure("pipeline", recording_worker(marker, "first"))
    results: queue.Queue = queue.Queue()
    server = PreviewServer(load_settings(course.root), "127.0.0.1", 0,
                           options=BuildOptions(jobs=1), on_build=results.put, debounce_ms=50)
    with server:
        assert results.get(timeout=WAIT).ok
        worker = int(marker.read_text())
        course.figure("pipeline", recording_worker(marker, "second"))
        assert results.get(timeout=WAIT).ok
        assert int(marker.read_text()) == worker  # the same process, warm since the first build
        assert alive(worker)
    assert not alive(worker)


def test_a_busy_port_is_reported_before_building(course):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = PreviewServer(load_settings(course.root), "127.0.0.1", taken.getsockname()[1])
        with pytest.raises(PreviewError, match="already in use.*--port 0"):
            server.start()
        server.stop()
    assert not course.built("manifest.json").exists()


def test_ctrl_c_lets_the_build_in_progress_finish(course, tmp_path):
    course.figure("pipeline", 'Airflow("tracking") >> Airflow("training")')
    course.chapter("intro", '{{ diagram("pipeline") }}\n')
    started = tmp_path / "build-started"
    process = subprocess.Popen(
        [sys.executable, "-m", "course_assets", "-C", str(course.root), "serve", "--port", "0",
         "-j", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = _first_line(process, WAIT)
        assert url.startswith("serving the preview at http://127.0.0.1:"), url
        port = int(url.split(":")[2].split("/")[0])

        # A slow script that says when it runs, so Ctrl-C lands in the middle of its build.
        course.figure("pipeline", f"""
            open({str(started)!r}, "w").close()
            import time; time.sleep(2)
            Airflow("tracking") >> Airflow("retraining")
        """)
        deadline = time.monotonic() + WAIT
        while not started.exists():
            assert time.monotonic() < deadline, "the rebuild did not start"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        process.wait(WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        stderr = process.stderr.read()
        process.stderr.close()

    assert process.returncode == 0, stderr
    assert b"retraining" in course.built("diagrams/pipeline.svg").read_bytes()
    manifest = json.loads(course.built("manifest.json").read_text(encoding="utf-8"))
    assert "pending" not in manifest  # the build wrote everything it announced
    assert not list(course.built("").rglob("*.tmp"))
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=WAIT).close()


def _first_line(process: subprocess.Popen, timeout: float) -> str:
    """Return the first line the process prints, waiting at most `timeout` seconds."""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError(f"no output within {timeout} s")
    return process.stdout.readline().strip()


def test_serve_is_a_command(course):
    result = course.run("serve", "--help")

    assert result.exit_code == 0
    assert "--port" in result.output and "--host" in result.output and "--open" in result.output
    assert "127.0.0.1" in result.output


def test_raw_html_images_are_pinned_in_every_form(tmp_path):
    from course_assets.preview.pages import chapter_body

    build = tmp_path / "build"
    (build / "diagrams").mkdir(parents=True)
    (build / "diagrams" / "a.svg").write_bytes(b"<svg/>")
    (build / "diagrams" / "a.dark.svg").write_bytes(b"<svg id='dark'/>")
    light = hashlib.sha256(b"<svg/>").hexdigest()[:16]
    dark = hashlib.sha256(b"<svg id='dark'/>").hexdigest()[:16]
    markdown = (
        "<picture>\n"
        "<source media=\"(prefers-color-scheme: dark)\" srcset='../diagrams/a.dark.svg 2x'>\n"
        "<IMG SRC=../diagrams/a.svg alt=\"a\">\n"
        "</picture>\n\n"
        "Inline <img src=\"/diagrams/a.svg#top\"> and <img src=\"https://example.org/x.svg\">"
        " and <img src=\"../diagrams/missing.svg\">.\n"
    )

    html = chapter_body(markdown, build, "/chapters/intro.html")

    assert f'srcset="../diagrams/a.dark.svg?v={dark} 2x"' in html
    assert f'src="../diagrams/a.svg?v={light}"' in html  # an HTML parser reads any case
    assert f'src="/diagrams/a.svg?v={light}#top"' in html
    assert 'src="https://example.org/x.svg"' in html  # not ours: left alone
    assert 'src="../diagrams/missing.svg"' in html  # not built: left for the browser to miss


def test_the_chapters_outline_link_opens_the_figures_outline(preview):
    page = request(preview, "/chapters/intro.html").body.decode()
    assert 'href="../diagrams/pipeline.outline.html"' in page
    outline = request(preview, "/diagrams/pipeline.outline.html")
    assert outline.status == 200
    text = outline.body.decode()
    assert "tracking" in text and "training" in text and "→" in text
    assert request(preview, "/diagrams/other.outline.html").status == 404  # built outlines only


def test_figure_lint_warnings_show_folded_in_the_findings_panel(course):
    with running_preview(course, 'Mlflow("tracking") >> Airflow("training")', CHAPTER) as server:
        page = request(server, "/chapters/intro.html").body.decode()
        overlay = page.split('<details id="preview-findings"', 1)[1]
        opening = overlay.split(">", 1)[0]
        assert "hidden" not in opening and " open" not in opening  # shown, folded
        assert "1 figure lint warning on this page</summary>" in overlay
        assert "error" not in overlay.split("</summary>", 1)[0]
        assert "warning: figure lint [icon-contrast]" in overlay  # MLflow's white "ml"
        assert "diagrams/pipeline.py:" in overlay
        index = request(server, "/").body.decode()  # the index lists the whole course's
        assert "1 figure lint warning in the course</summary>" in index
        state = json.loads(server.state.to_json(course.root))
        assert state["ok"] and any(p["lint"] for p in state["problems"])
