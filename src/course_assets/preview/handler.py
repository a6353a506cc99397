"""Answer the preview's HTTP requests: its own pages, the build's files and the event stream."""

from __future__ import annotations

import socket
import socketserver
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from course_assets.config import Settings
from course_assets.errors import CourseAssetsError
from course_assets.preview import files, pages
from course_assets.preview.files import MAX_SERVED_BYTES
from course_assets.preview.state import PreviewState
from course_assets.reading import read_source

EVENTS_PATH = f"{pages.ASSETS}/events"
STATE_PATH = f"{pages.ASSETS}/state"
STATIC = {f"{pages.ASSETS}/preview.css": ("preview.css", "text/css; charset=utf-8"),
          f"{pages.ASSETS}/preview.js": ("preview.js", "text/javascript; charset=utf-8")}
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
KEEPALIVE_SECONDS = 15.0
MAX_SCRIPT_BYTES = 1 << 20  # a figure script larger than 1 MiB is not one to read in a browser
# Preview pages may show any image a chapter links to, as readers would, but run only our script.
PAGE_POLICY = ("default-src 'self'; img-src * data:; style-src 'self' 'unsafe-inline'; "
               "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
FILE_POLICY = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"


class Preview(Protocol):
    """What a request needs from the running preview."""

    @property
    def settings(self) -> Settings: ...

    @property
    def state(self) -> PreviewState: ...

    @property
    def loopback_only(self) -> bool: ...

    def next_event(self, seen: int, timeout: float) -> tuple[PreviewState | None, bool]: ...


class PreviewHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server that knows its preview, and never asks DNS for its own name."""

    def __init__(self, address: tuple[str, int], preview: Preview) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.preview = preview
        super().__init__(address, PreviewHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's full name, which can wait on DNS.
        socketserver.TCPServer.server_bind(self)
        host, self.server_port = self.server_address[:2]
        self.server_name = str(host)  # a str already: the address family is INET or INET6


class PreviewHandler(BaseHTTPRequestHandler):
    """Answer GET and HEAD for the preview's own pages and the files under build/; nothing else."""

    server: PreviewHTTPServer
    server_version = "course-assets-preview"
    timeout = 10  # a client that stops reading cannot hold a thread, or shutdown, for long

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        self._answer(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(send_body=False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # one line per request would drown the build's own messages

    @property
    def preview(self) -> Preview:
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
        elif path.startswith(f"{pages.SCRIPTS}/"):
            self._script(path.removeprefix(f"{pages.SCRIPTS}/"), send_body)
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
        version = files.outputs_version(settings.outputs.manifest)  # before reading: see _page
        try:
            markdown = read_source(chapter).decode("utf-8")
        except (OSError, UnicodeDecodeError):
            self._not_found(path, send_body)
            return
        chapters = settings.outputs.chapters_dir.resolve()
        name = (chapter.relative_to(chapters).with_suffix("").as_posix()
                if chapters in chapter.parents else chapter.stem)
        body = pages.chapter_body(markdown, settings.build_dir, path, settings.diagrams_dir)
        self._page((pages.chapter_title(markdown, name), name, body, "chapter"), send_body,
                   version, sources=self._sources_of(chapter))

    def _script(self, quoted_name: str, send_body: bool) -> None:
        """Answer with a figure script of the course as plain text, or 404."""
        found = files.script_file(self.preview.settings.diagrams_dir, quoted_name)
        data = files.read_regular(found, MAX_SCRIPT_BYTES) if found is not None else None
        if data is None:
            self._not_found(self.path, send_body)
            return
        headers = {"Cache-Control": "no-cache", "Content-Security-Policy": FILE_POLICY}
        self._send(HTTPStatus.OK, data, "text/plain; charset=utf-8", send_body, headers)

    def _chapter_source(self, path: str) -> Path | None:
        # /chapters/intro.html is the preview of build/chapters/intro.md.
        if not path.endswith(".html"):
            return None
        paths = self.preview.settings.outputs
        found = files.build_file(self.preview.settings.build_dir, path[:-5] + ".md")
        if found is not None and found == paths.absolute(paths.gallery_output()).resolve():
            return found  # /diagrams/README.html: the gallery, as a page
        if found is not None and found.name.endswith(".outline.md"):
            # A figure's text outline, linked under each figure in the chapters.
            return found if paths.figures_dir.resolve() in found.parents else None
        chapters = paths.chapters_dir.resolve()
        return found if found is not None and chapters in found.parents else None

    def _sources_of(self, page: Path) -> tuple[str, ...] | None:
        """Return the source files a built page shows (None for the whole course's pages).

        A chapter shows its own source and its figures' scripts; a figure's outline, its script.
        """
        from course_assets.state.manifest import load_manifest

        paths = self.preview.settings.outputs
        try:
            manifest = load_manifest(paths.manifest)
        except CourseAssetsError:
            return None  # a damaged manifest is the build's error to report, not ours
        figures_dir = paths.figures_dir.resolve()
        if page.name.endswith(".outline.md") and figures_dir in page.parents:
            name = page.relative_to(figures_dir).as_posix().removesuffix(".outline.md")
            record = manifest.figures.get(name)
            return (record.script,) if record is not None else None
        chapters_dir = paths.chapters_dir.resolve()
        if chapters_dir not in page.parents:
            return None  # the gallery: every figure
        chapter = manifest.chapters.get(page.relative_to(chapters_dir).with_suffix("").as_posix())
        if chapter is None:
            return None
        scripts = [manifest.figures[f].script for f in chapter.figures if f in manifest.figures]
        return (chapter.source, *scripts)

    def _index(self) -> tuple[str, str, str, str]:
        from course_assets.state.manifest import Manifest, load_manifest

        settings = self.preview.settings
        paths, build = settings.outputs, settings.build_dir
        try:
            manifest = load_manifest(paths.manifest)
        except CourseAssetsError:
            manifest = Manifest()  # a damaged manifest is the build's error to report, not ours
        chapters = []
        for name in sorted(manifest.chapters):  # none when not built yet
            source = paths.absolute(paths.chapter_output(name))
            try:
                title = pages.chapter_title(read_source(source).decode("utf-8"), name)
            except (OSError, UnicodeDecodeError):
                continue
            page_url = pages.url_for(build, source.with_suffix(".html"))
            decks = tuple((_deck_label(path), pages.url_for(build, paths.absolute(path)))
                          for path in paths.slide_outputs(name)
                          if paths.absolute(path).is_file())
            chapters.append(pages.Entry(name, title, page_url, decks))
        figures = []
        for name, record in sorted(manifest.figures.items()):
            svg = paths.absolute(paths.figure_outputs(name)[0])
            dark = paths.absolute(paths.figure_file(f"{name}.dark.svg"))
            if svg.is_file():
                dark_url = pages.url_for(build, dark) if dark.is_file() else ""
                figures.append(pages.Entry(name, record.title or name, pages.url_for(build, svg),
                                           dark_url=dark_url))
        gallery = paths.absolute(paths.gallery_output())
        gallery_url = (pages.url_for(build, gallery.with_suffix(".html"))
                       if gallery.is_file() else None)
        body = pages.index_body(settings.root.name, chapters, figures, build, gallery_url)
        return (f"{settings.root.name}: course preview", "", body, "index")

    def _page(self, parts: tuple[str, str, str, str], send_body: bool,
              version: str | None = None, status: HTTPStatus = HTTPStatus.OK,
              sources: tuple[str, ...] | None = None) -> None:
        # The version is read before the files: if a build lands in between, the page is told
        # to refresh once more, never left showing outputs older than it claims.
        if version is None:
            version = files.outputs_version(self.preview.settings.outputs.manifest)
        title, crumb, body, kind = parts
        state = self.preview.state
        findings = pages.Findings.for_page(state.shown(self.preview.settings.root), sources)
        text = pages.page(title=title, crumb=crumb, body=body, version=version, kind=kind,
                          findings=findings)
        self._send(status, text.encode("utf-8"), "text/html; charset=utf-8", send_body,
                   {"Cache-Control": "no-store", "Content-Security-Policy": PAGE_POLICY})

    def _not_found(self, path: str, send_body: bool) -> None:
        version = files.outputs_version(self.preview.settings.outputs.manifest)
        self._page(("Not found", "not found", pages.not_found_body(path), "missing"), send_body,
                   version, HTTPStatus.NOT_FOUND)

    def _file(self, path: Path, send_body: bool) -> None:
        try:
            # Regular files only: a FIFO put in build/ would hold this request for ever.
            data = read_source(path, MAX_SERVED_BYTES)
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
        state: PreviewState | None = self.preview.state
        seen = -1
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


def _deck_label(path: str) -> str:
    """Name a deck by what opens it: the browser, Marp, or PowerPoint (light or dark)."""
    if path.endswith(".html"):
        return "slides"
    if path.endswith(".dark.pptx"):
        return "PowerPoint (dark)"
    return "PowerPoint" if path.endswith(".pptx") else "Marp"
