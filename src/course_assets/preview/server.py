"""Serve a course's build to a browser, rebuild on every save, and tell open pages to refresh."""

from __future__ import annotations

import errno
import ipaddress
import json
import socket
import socketserver
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

from course_assets.build import BuildOptions, BuildReport
from course_assets.config import Settings
from course_assets.errors import (
    CourseAssetsError, Problem, Severity, display_path, report_order,
)
from course_assets.preview import files, pages
from course_assets.watching import OnBuild, watch_course

EVENTS_PATH = f"{pages.ASSETS}/events"
STATE_PATH = f"{pages.ASSETS}/state"
STATIC = {f"{pages.ASSETS}/preview.css": ("preview.css", "text/css; charset=utf-8"),
          f"{pages.ASSETS}/preview.js": ("preview.js", "text/javascript; charset=utf-8")}
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
KEEPALIVE_SECONDS = 15.0
# Preview pages may show any image a chapter links to, as readers would, but run only our script.
PAGE_POLICY = ("default-src 'self'; img-src * data:; style-src 'self' 'unsafe-inline'; "
               "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
FILE_POLICY = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"


class PreviewError(CourseAssetsError):
    """The preview server could not start (the port is taken, the address is not ours...)."""


@dataclass(frozen=True)
class PreviewState:
    """What the last build left: its number, a hash of its outputs, and what went wrong."""

    generation: int = 0
    version: str = "none"
    problems: tuple[Problem, ...] = ()
    summary: str = ""

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)

    @property
    def ok(self) -> bool:
        return not self.errors

    def shown_errors(self, root: Path) -> list[pages.Shown]:
        """Return the errors and figure lint warnings as the overlay shows them."""
        from course_assets.figlint.findings import is_lint_problem

        return [pages.Shown(p.location(root), p.message if p.severity is Severity.ERROR
                            else f"warning: {p.message}")
                for p in report_order(self.problems)
                if p.severity is Severity.ERROR or is_lint_problem(p)]

    def to_json(self, root: Path) -> str:
        """Return the state as the JSON the event stream pushes to pages."""
        from course_assets.figlint.findings import is_lint_problem

        return json.dumps({
            "generation": self.generation,
            "version": self.version,
            "ok": self.ok,
            "summary": self.summary,
            "problems": [{
                "severity": p.severity.value,
                "path": display_path(p.path, root) if p.path is not None else None,
                "line": p.line,
                "column": p.column,
                "location": p.location(root),
                "message": p.message,
                "text": p.format(root),
                "lint": is_lint_problem(p),
            } for p in report_order(self.problems)],
        })


@dataclass(frozen=True)
class _Published:
    """The state and whether the server is closing, swapped whole under the condition's lock."""

    state: PreviewState = field(default_factory=PreviewState)
    closing: bool = False


class PreviewServer:
    """Serve a live preview of a course on `host:port`, rebuilding it on every save."""

    def __init__(self, settings: Settings, host: str = "127.0.0.1", port: int = 8000, *,
                 options: BuildOptions = BuildOptions(), on_build: OnBuild | None = None,
                 report: Callable[[str], None] | None = None, debounce_ms: int = 150) -> None:
        self.settings = settings
        self.host = host
        self.options = options
        self._requested_port = port
        self._on_build = on_build
        self._report = report
        self._debounce_ms = debounce_ms
        self._changed = threading.Condition()
        self._published = _Published()
        self._stop = threading.Event()
        self._first_build = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._serving: threading.Thread | None = None
        self._watching: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._httpd is None:
            return self._requested_port
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def state(self) -> PreviewState:
        return self._published.state

    @property
    def loopback_only(self) -> bool:
        return _is_loopback(self.host)

    def start(self) -> None:
        """Take the port, build the course, then serve it; rebuild in the background on saves."""
        if self._httpd is not None:
            raise PreviewError("the preview server is already running")
        # The port is taken first, so a busy one is reported before a long build, not after.
        self._httpd = _bind(self.host, self._requested_port, self)
        self._watching = threading.Thread(target=self._watch, name="preview-watch")
        self._watching.start()
        while not self._first_build.wait(0.2):  # short waits, so Ctrl-C is seen at once
            pass
        self._serving = threading.Thread(target=self._httpd.serve_forever, args=(0.2,),
                                         name="preview-http", daemon=True)
        self._serving.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server is stopped (or `timeout` passes); say whether it stopped."""
        return self._stop.wait(timeout)

    def stop(self) -> None:
        """Stop serving, let a build in progress finish writing, and release the port."""
        self._stop.set()
        with self._changed:
            self._published = _Published(self._published.state, closing=True)
            self._changed.notify_all()
        if self._httpd is not None:
            if self._serving is not None:
                self._httpd.shutdown()
            self._httpd.server_close()  # waits for the request threads, event streams included
        if self._watching is not None:
            self._watching.join()  # a build in progress finishes; its writes are atomic anyway
        self._serving = self._watching = None

    def __enter__(self) -> PreviewServer:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _watch(self) -> None:
        try:
            watch_course(self.settings, self._built, options=self.options, stop=self._stop,
                         report=self._report, debounce_ms=self._debounce_ms)
        except Exception as exc:  # noqa: BLE001 - shown on the pages, the server keeps serving
            self._publish(self._state_after(CourseAssetsError(
                f"the preview stopped rebuilding ({type(exc).__name__}: {exc}); "
                "restart `course-assets serve`")))
        finally:
            self._first_build.set()

    def _built(self, result: BuildReport | CourseAssetsError) -> None:
        self._publish(self._state_after(result))
        try:
            if self._on_build is not None:
                self._on_build(result)
        finally:
            self._first_build.set()  # after the caller's report, so the URL is printed last

    def _state_after(self, result: BuildReport | CourseAssetsError) -> PreviewState:
        if isinstance(result, CourseAssetsError):
            problems: tuple[Problem, ...] = (Problem(None, None, str(result)),)
            summary = "the build stopped"
        else:
            problems, summary = result.problems, result.summary()
        return PreviewState(
            generation=self.state.generation + 1,
            version=files.outputs_version(self.settings.build_dir),
            problems=problems,
            summary=summary,
        )

    def _publish(self, state: PreviewState) -> None:
        with self._changed:
            self._published = _Published(state, self._published.closing)
            self._changed.notify_all()

    def next_event(self, seen: int, timeout: float) -> tuple[PreviewState | None, bool]:
        """Wait for a build newer than `seen`; return it (or None on timeout) and if closing."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._published.closing or self._published.state.generation != seen,
                timeout,
            )
            published = self._published
        fresh = published.state if published.state.generation != seen else None
        return fresh, published.closing


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _HTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server that knows its preview, and never asks DNS for its own name."""

    def __init__(self, address: tuple[str, int], preview: PreviewServer) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.preview = preview
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's full name, which can wait on DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def _bind(host: str, port: int, preview: PreviewServer) -> _HTTPServer:
    try:
        return _HTTPServer((host, port), preview)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PreviewError(f"{host}:{port} is already in use; pick another port with "
                               "--port, or --port 0 for any free one") from None
        raise PreviewError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None


class _Handler(BaseHTTPRequestHandler):
    """Answer GET and HEAD for the preview's own pages and the files under build/; nothing else."""

    server: _HTTPServer
    server_version = "course-assets-preview"
    timeout = 10  # a client that stops reading cannot hold a thread, or shutdown, for long

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        self._answer(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(send_body=False)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass  # one line per request would drown the build's own messages

    @property
    def preview(self) -> PreviewServer:
        return self.server.preview

    def _answer(self, send_body: bool) -> None:
        if not self._host_allowed():
            self._send(HTTPStatus.MISDIRECTED_REQUEST, b"unknown host\n",
                       "text/plain; charset=utf-8", send_body)
            return
        target = self.path
        if not target.startswith("/"):
            self._not_found(target, send_body)  # absolute-form or "*": never a file of ours
            return
        # Not urlsplit: it would read "//etc/passwd" as a host name and a path.
        path = target.partition("?")[0].partition("#")[0]
        if path == EVENTS_PATH:
            self._events(send_body)
        elif path == STATE_PATH:
            state = self.preview.state.to_json(self.preview.settings.root).encode()
            self._send(HTTPStatus.OK, state, "application/json; charset=utf-8", send_body)
        elif path in STATIC:
            name, kind = STATIC[path]
            data = resources.files("course_assets.preview").joinpath("static", name).read_bytes()
            self._send(HTTPStatus.OK, data, kind, send_body)
        elif path == "/":
            self._page(self._index(), send_body)
        else:
            self._build_path(path, send_body)

    def _host_allowed(self) -> bool:
        # A page on another site can rebind its name to 127.0.0.1; its requests carry its name.
        if not self.preview.loopback_only:
            return True
        host = (self.headers.get("Host") or "").strip().lower()
        if not host:
            return True  # an HTTP/1.0 client that names no host is no web page
        name = host[1:].partition("]")[0] if host.startswith("[") else host.partition(":")[0]
        return name in LOOPBACK_NAMES

    def _build_path(self, path: str, send_body: bool) -> None:
        settings = self.preview.settings
        found = files.build_file(settings.build_dir, path)
        if found is not None:
            self._file(found, send_body)
            return
        chapter = self._chapter_source(path)
        if chapter is None:
            self._not_found(path, send_body)
            return
        version = files.outputs_version(settings.build_dir)  # before reading: see _page
        try:
            markdown = chapter.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            self._not_found(path, send_body)
            return
        name = chapter.relative_to(chapter.parent.parent).with_suffix("").as_posix()
        body = pages.chapter_body(markdown, settings.build_dir, path)
        self._page((pages.chapter_title(markdown, name), name, body, "chapter"), send_body,
                   version)

    def _chapter_source(self, path: str) -> Path | None:
        # /chapters/intro.html is the preview of build/chapters/intro.md.
        if not path.endswith(".html"):
            return None
        found = files.build_file(self.preview.settings.build_dir, path[:-5] + ".md")
        layout = self.preview.settings.layout
        chapters = layout.chapters_dir.resolve()
        if found is not None and found.name.endswith(".outline.md"):
            # A figure's text outline, linked under each figure in the chapters.
            return found if layout.figures_dir.resolve() in found.parents else None
        return found if found is not None and chapters in found.parents else None

    def _index(self) -> tuple[str, str, str, str]:
        from course_assets.state.manifest import Manifest, load_manifest

        settings = self.preview.settings
        layout, build = settings.layout, settings.build_dir
        try:
            manifest = load_manifest(layout.manifest)
        except CourseAssetsError:
            manifest = Manifest()  # a damaged manifest is the build's error to report, not ours
        chapters = []
        for name in sorted(manifest.chapters):  # none when not built yet
            source = layout.absolute(layout.chapter_output(name))
            try:
                title = pages.chapter_title(source.read_text(encoding="utf-8"), name)
            except (OSError, UnicodeDecodeError):
                continue
            page_url = pages.url_for(build, source.with_suffix(".html"))
            chapters.append(pages.Entry(name, title, page_url))
        figures = []
        for name, record in sorted(manifest.figures.items()):
            svg = layout.absolute(layout.figure_outputs(name)[0])
            dark = layout.absolute(layout.figure_file(f"{name}.dark.svg"))
            if svg.is_file():
                dark_url = pages.url_for(build, dark) if dark.is_file() else ""
                figures.append(pages.Entry(name, record.title or name, pages.url_for(build, svg),
                                           dark_url))
        body = pages.index_body(settings.root.name, chapters, figures, build)
        return (f"{settings.root.name}: course preview", "", body, "index")

    def _page(self, parts: tuple[str, str, str, str], send_body: bool,
              version: str | None = None, status: HTTPStatus = HTTPStatus.OK) -> None:
        # The version is read before the files: if a build lands in between, the page is told
        # to refresh once more, never left showing outputs older than it claims.
        if version is None:
            version = files.outputs_version(self.preview.settings.build_dir)
        title, crumb, body, kind = parts
        state = self.preview.state
        text = pages.page(title=title, crumb=crumb, body=body, version=version, kind=kind,
                          errors=state.shown_errors(self.preview.settings.root))
        self._send(status, text.encode("utf-8"), "text/html; charset=utf-8", send_body,
                   {"Cache-Control": "no-store", "Content-Security-Policy": PAGE_POLICY})

    def _not_found(self, path: str, send_body: bool) -> None:
        version = files.outputs_version(self.preview.settings.build_dir)
        self._page(("Not found", "not found", pages.not_found_body(path), "missing"), send_body,
                   version, HTTPStatus.NOT_FOUND)

    def _file(self, path: Path, send_body: bool) -> None:
        try:
            data = path.read_bytes()
        except OSError:
            self._not_found(self.path, send_body)
            return
        tag = f'"{files.file_hash(path) or ""}"'
        headers = {
            # Revalidated on every use: a figure saved a second ago must never come from cache.
            "Cache-Control": "no-cache",
            "ETag": tag,
            "Content-Security-Policy": FILE_POLICY,
        }
        if tag in (self.headers.get("If-None-Match") or ""):
            self._send(HTTPStatus.NOT_MODIFIED, b"", None, False, headers)
            return
        self._send(HTTPStatus.OK, data, files.content_type(path), send_body, headers)

    def _send(self, status: HTTPStatus, data: bytes, kind: str | None, send_body: bool,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if kind is not None:
            self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if send_body and data:
            self.wfile.write(data)

    def _events(self, send_body: bool) -> None:
        """Stream each build's state as a server-sent event until the client or server goes."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if not send_body:
            return
        root = self.preview.settings.root
        state, seen = self.preview.state, -1
        try:
            # A page reconnects a second after the server restarts, then learns the state at once.
            self.wfile.write(b"retry: 1000\n\n")
            while True:
                if state is not None:
                    self.wfile.write(f"event: build\ndata: {state.to_json(root)}\n\n".encode())
                    seen = state.generation
                else:
                    self.wfile.write(b": still here\n\n")  # finds clients that went away
                self.wfile.flush()
                state, closing = self.preview.next_event(seen, KEEPALIVE_SECONDS)
                if closing:
                    return
        except OSError:
            return  # the page was closed or reloaded
