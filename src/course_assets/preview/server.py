"""Serve a course's build to a browser, rebuild on every save, and tell open pages to refresh."""

from __future__ import annotations

import dataclasses
import errno
import ipaddress
import threading
from collections.abc import Callable

from course_assets.build import BuildOptions, BuildReport
from course_assets.config import Settings
from course_assets.errors import CourseAssetsError, Problem
from course_assets.preview import files
from course_assets.preview.handler import PreviewHTTPServer
from course_assets.preview.state import Bulletin, PreviewState
from course_assets.watching import OnBuild, watch_course


class PreviewError(CourseAssetsError):
    """The preview server could not start (the port is taken, the address is not ours...)."""


class PreviewServer:
    """Serve a live preview of a course on `host:port`, rebuilding it on every save."""

    def __init__(self, settings: Settings, host: str = "127.0.0.1", port: int = 8000, *,
                 options: BuildOptions = BuildOptions(), on_build: OnBuild | None = None,
                 report: Callable[[str], None] | None = None, debounce_ms: int = 150) -> None:
        self.settings = settings
        self.host = host
        # The panel lists the lint warnings of every figure, not only of those a save rebuilt.
        # Each light SVG is shown as soon as it is written, before the rest of its build.
        self.options = dataclasses.replace(options, every_finding=True, on_light=self._shown)
        self._requested_port = port
        self._on_build = on_build
        self._report = report
        self._debounce_ms = debounce_ms
        self._bulletin = Bulletin()
        self._stop = threading.Event()
        self._first_build = threading.Event()
        self._httpd: PreviewHTTPServer | None = None
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
        return self._bulletin.state

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
        self._bulletin.close()
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

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _watch(self) -> None:
        try:
            watch_course(self.settings, self._built, options=self.options, stop=self._stop,
                         report=self._report, debounce_ms=self._debounce_ms)
        except Exception as exc:  # noqa: BLE001 - shown on the pages, the server keeps serving
            self._bulletin.publish(self._state_after(CourseAssetsError(
                f"the preview stopped rebuilding ({type(exc).__name__}: {exc}); "
                "restart `course-assets serve`")))
        finally:
            self._first_build.set()

    def _built(self, result: BuildReport | CourseAssetsError) -> None:
        self._bulletin.publish(self._state_after(result))
        try:
            if self._on_build is not None:
                self._on_build(result)
        finally:
            self._first_build.set()  # after the caller's report, so the URL is printed last

    def _shown(self, figure: str) -> None:
        """Tell the open pages that a figure's light SVG is new; its build goes on."""
        if not self._first_build.is_set():
            return  # nothing is served before the first build has ended
        state = self.state
        self._bulletin.publish(dataclasses.replace(
            state, generation=state.generation + 1,
            version=files.outputs_version(self.settings.outputs.manifest),
            summary=f"drew {figure}; finishing the rest of the build"))

    def _state_after(self, result: BuildReport | CourseAssetsError) -> PreviewState:
        if isinstance(result, CourseAssetsError):
            problems: tuple[Problem, ...] = (Problem(None, None, str(result)),)
            summary = "the build stopped"
        else:
            problems, summary = result.problems, result.summary()
        return PreviewState(
            generation=self.state.generation + 1,
            version=files.outputs_version(self.settings.outputs.manifest),
            problems=problems,
            summary=summary,
        )

    def next_event(self, seen: int, timeout: float) -> tuple[PreviewState | None, bool]:
        """Wait for a build newer than `seen`; return it (or None on timeout) and if closing."""
        return self._bulletin.next_event(seen, timeout)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int, preview: PreviewServer) -> PreviewHTTPServer:
    try:
        return PreviewHTTPServer((host, port), preview)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PreviewError(f"{host}:{port} is already in use; pick another port with "
                               "--port, or --port 0 for any free one") from None
        raise PreviewError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
