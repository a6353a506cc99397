"""Run one figure script with rendering captured, and return the Graphviz graph it built."""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import os
import runpy
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, NoReturn

import diagrams
from diagrams.custom import Custom

from course_assets.errors import FigureError
from course_assets.render import downloads, limits
from course_assets.reading import kind_problem, read_source

# os._exit itself, before a script's run replaces it (see `_exit_telling_line`).
_real_exit = os._exit
# The padding the diagrams library puts around every figure (two inches), which we tighten.
LIBRARY_PADDING = diagrams.Diagram._default_graph_attrs["pad"]
# The library's own icons change only with its version, which is an input already.
LIBRARY_ICONS = Path(diagrams.__file__).resolve().parent.parent / "resources"
# Where a script's run looks for cached bytecode: nowhere (a folder that cannot exist).
NO_BYTECODE = os.path.join(os.devnull, "course-assets-no-bytecode")


@dataclass(frozen=True)
class CapturedFigure:
    """What a figure script defined: its graph in DOT, its title, description and helpers."""

    title: str
    description: str
    dot_source: str
    # Files the figure depends on besides its script: helper modules and the course's own icons.
    helpers: tuple[Path, ...]
    # Icons the graph shows in place of the script's own, each with the icon it stands for.
    icon_copies: tuple[tuple[Path, Path], ...] = ()
    # What the script fetched from the network while it ran.
    fetches: tuple[downloads.Fetch, ...] = ()
    # The script line that made each node, cluster and edge ("node:n1", "cluster:cluster_X",
    # "edge:n1->n2#0") and the Diagram ("diagram"), for the figure lint.
    lines: tuple[tuple[str, int], ...] = ()

    def node_lines(self) -> dict[str, int | None]:
        """Return the script line that made each node, by node id (for Graphviz's words)."""
        return {key[len("node:"):]: line for key, line in self.lines if key.startswith("node:")}
    line: int | None = None  # of the `with Diagram(...)`, where a problem with the whole is told


@dataclass
class _Recorder:
    script: Path
    course_root: Path
    diagrams_entered: list[tuple[diagrams.Diagram, int | None]]
    completed: list[diagrams.Diagram]
    next_id: int = 0
    icon_filter: Callable[[Path], Path] | None = None
    icon_copies: dict[Path, Path] = field(default_factory=dict)
    own_icons: set[Path] = field(default_factory=set)
    lines: dict[str, int] = field(default_factory=dict)
    edge_counts: dict[str, int] = field(default_factory=dict)

    def remember(self, key: str) -> None:
        line = _caller_line(self.script)
        if line is not None:
            self.lines.setdefault(key, line)


_recorder: _Recorder | None = None


def check_library(course_root: Path) -> None:
    """Fail if `import diagrams` found a folder of the course instead of the diagrams library."""
    origin = getattr(diagrams, "__file__", None)
    folder = Path(origin).resolve().parent if origin else None
    shadowed = folder is None or (
        course_root.resolve() in folder.parents and "site-packages" not in folder.parts
    )
    if shadowed or not hasattr(diagrams, "Diagram"):
        where = folder or list(getattr(diagrams, "__path__", ["?"]))[0]
        raise FigureError(
            f"'import diagrams' resolved to {where}, not the diagrams library: remove "
            "__init__.py from that folder or rename it, so that it stops shadowing the library"
        )


def capture_script(script: Path, course_root: Path, padding: float,
                   icon_filter: Callable[[Path], Path] | None = None) -> CapturedFigure:
    """Execute `script` as `__main__` and return the single Diagram it defined, unrendered.

    `icon_filter` maps each icon file the script uses to the file the graph should show instead
    (the dark theme puts icons on a light tile); it only names that file, and the caller
    makes it from `CapturedFigure.icon_copies`, outside the script's run.
    """
    global _recorder
    script = script.resolve()
    recorder = _Recorder(script, course_root.resolve(), diagrams_entered=[], completed=[],
                         icon_filter=icon_filter)
    _recorder = recorder
    _install_hooks()
    downloads.start(script)
    modules_before = set(sys.modules)
    sys.path.insert(0, str(script.parent))
    sys.argv = [str(script)]
    # While the script runs, os._exit tells its line first (a crash would name none).
    os._exit = _exit_telling_line
    # The author's modules are compiled from their source, and no bytecode is written beside
    # them: Python trusts a cached .pyc whose source has the same size and modification second,
    # so a helper saved again within a second (a colour edited, say) would run as it was.
    bytecode_before = sys.dont_write_bytecode, sys.pycache_prefix
    sys.dont_write_bytecode, sys.pycache_prefix = True, NO_BYTECODE
    try:
        namespace = runpy.run_path(str(script), run_name="__main__")
    except FigureError:
        raise
    except SyntaxError as exc:
        raise _syntax_error(exc, script, course_root) from None
    except SystemExit as exc:
        line = _author_line(exc.__traceback__, script.parent)
        raise FigureError(
            f"the script called sys.exit({exc.code!r}); a figure script must run to its end",
            *line,
        ) from None
    except BaseException as exc:  # noqa: BLE001 - any failure of author code becomes their error
        raise _author_error(exc, script) from None
    finally:
        _recorder = None
        os._exit = _real_exit
        sys.dont_write_bytecode, sys.pycache_prefix = bytecode_before
    helpers = tuple(sorted({*_helpers_imported(modules_before, script), *recorder.own_icons}))
    return _single_figure(recorder, script, namespace, helpers, padding)


def _exit_telling_line(status: int) -> NoReturn:
    """Stand in for os._exit while a script runs: tell the script's line, then exit."""
    try:
        if _recorder is not None:
            from course_assets.render import isolate

            isolate.announce("exit", _caller_line(_recorder.script))
    finally:
        _real_exit(status)


def _single_figure(recorder: _Recorder, script: Path, namespace: dict[str, Any],
                   helpers: tuple[Path, ...],
                   padding: float) -> CapturedFigure:
    completed = recorder.completed
    if not completed:
        unfinished = [line for _, line in recorder.diagrams_entered]
        hint = (" (a Diagram was entered but never left)" if unfinished else "")
        raise FigureError(
            "defines no Diagram: a figure script must contain exactly one "
            f"'with Diagram(\"Title\"):' block{hint}",
            script,
        )
    if len(completed) > 1:
        lines = ", ".join(str(line) for _, line in recorder.diagrams_entered if line)
        raise FigureError(
            f"defines {len(completed)} Diagrams (lines {lines}): a figure script must contain "
            "exactly one; put each figure in its own script",
            script,
            recorder.diagrams_entered[1][1],
        )
    diagram = completed[0]
    graph_attr = diagram.dot.graph_attr
    if graph_attr.get("pad") == LIBRARY_PADDING:
        graph_attr["pad"] = f"{padding:g}"
    description = namespace.get("__doc__") or ""
    title = diagram.name or script.stem.replace("_", " ").capitalize()
    entered = next((line for d, line in recorder.diagrams_entered if d is diagram), None)
    made_at = {**recorder.lines, **({"diagram": entered} if entered else {})}
    return CapturedFigure(
        title=title,
        description=" ".join(description.split()),
        dot_source=diagram.dot.source,
        helpers=helpers,
        icon_copies=tuple(sorted(recorder.icon_copies.items())),
        fetches=downloads.fetches(),
        lines=tuple(sorted(made_at.items())),
        line=recorder.diagrams_entered[0][1] if recorder.diagrams_entered else None,
    )


def _helpers_imported(modules_before: set[str], script: Path) -> tuple[Path, ...]:
    found = set()
    for name in set(sys.modules) - modules_before:
        filename = getattr(sys.modules[name], "__file__", None)
        if not filename:
            continue
        path = Path(filename).resolve()
        if path != script and script.parent in path.parents:
            found.add(path)
    return tuple(sorted(found))


# -- hooks into the diagrams library ------------------------------------------------------------

_hooks_installed = False


def _install_hooks() -> None:
    """Make Diagram record itself instead of rendering, and give nodes stable ids."""
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True

    original_enter = diagrams.Diagram.__enter__

    def enter(self: Any) -> Any:
        if _recorder is not None:
            _recorder.diagrams_entered.append((self, _caller_line(_recorder.script)))
        return original_enter(self)

    def exit_without_rendering(self: Any, exc_type: type[BaseException] | None,
                               exc_value: BaseException | None, tb: TracebackType | None) -> bool:
        # The library would render into the working directory and maybe open a viewer here.
        if exc_type is None and _recorder is not None:
            _recorder.completed.append(self)
        diagrams.setdiagram(None)
        return False

    def stable_id() -> str:
        # Random uuids would make every build's SVG differ; creation order is stable.
        if _recorder is None:
            return os.urandom(16).hex()
        _recorder.next_id += 1
        _recorder.remember(f"node:n{_recorder.next_id}")
        return f"n{_recorder.next_id}"

    original_connect = diagrams.Diagram.connect

    def connect(self: Any, node: Any, node2: Any, edge: Any) -> Any:
        if _recorder is not None:
            pair = f"edge:{node.nodeid}->{node2.nodeid}#"
            count = _recorder.edge_counts.get(pair, 0)
            _recorder.edge_counts[pair] = count + 1
            _recorder.remember(f"{pair}{count}")
        return original_connect(self, node, node2, edge)

    original_cluster_init = diagrams.Cluster.__init__

    def cluster_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_cluster_init(self, *args, **kwargs)
        if _recorder is not None:
            _recorder.remember(f"cluster:{self.name}")

    diagrams.Diagram.__enter__ = enter
    diagrams.Diagram.__exit__ = exit_without_rendering
    diagrams.Diagram.render = lambda self: None
    diagrams.Node._rand_id = staticmethod(stable_id)
    diagrams.Diagram.connect = connect
    diagrams.Cluster.__init__ = cluster_init
    diagrams.Node._load_icon = _checked(diagrams.Node._load_icon)
    Custom._load_icon = _checked(Custom._load_icon)


def _checked(load_icon: Callable[[Any], str]) -> Callable[[Any], str]:
    def load_existing_icon(self: Any) -> str:
        given = load_icon(self)
        icon = _resolve_icon(given)
        if (_recorder is not None and not _in_library(icon)
                and not downloads.is_created(icon)):
            if icon.resolve() not in _recorder.own_icons:
                # Checked here, at the author's line: later only the worker would fail.
                problem = limits.icon_problem(icon, given)
                if problem is not None:
                    raise FigureError(problem, _recorder.script, _caller_line(_recorder.script))
            _recorder.own_icons.add(icon.resolve())
        if _recorder is not None and _recorder.icon_filter is not None:
            original, icon = icon, _recorder.icon_filter(icon)
            if icon != original:
                _recorder.icon_copies[icon] = original
        return str(icon)

    return load_existing_icon


@functools.lru_cache(maxsize=1024)
def _in_library(icon: Path) -> bool:
    """Say whether `icon` is one of the diagrams library's own icons."""
    # Remembered for the script's run (its child's life): a figure shows the same few icons
    # on many nodes, and each resolve reads every folder of a long path.
    return LIBRARY_ICONS in icon.resolve().parents


def _resolve_icon(given: str) -> Path:
    candidate = Path(given)
    if candidate.is_absolute():
        if candidate.is_file():
            return candidate
        places = [candidate]
    else:
        script = _recorder.script if _recorder else Path.cwd() / "-"
        course_root = _recorder.course_root if _recorder else Path.cwd()
        # Relative to the course root, as when the author runs `python diagrams/x.py` there;
        # then to the script's folder, as when they run it from inside diagrams/.
        places = [course_root / candidate, script.parent / candidate]
        for place in places:
            if place.is_file():
                return place.resolve()
            odd = kind_problem(place) if place.exists() else None
            if odd is not None:  # a FIFO or a device: found, but never to be read
                author = _recorder.script if _recorder else None
                raise FigureError(f"icon file {given} {odd}", author,
                                  _caller_line(author) if author else None)
    # Last, a file the script made in its (throwaway) working folder, e.g. a download.
    created = downloads.created_icon(given)
    if created is not None:
        return created
    author = _recorder.script if _recorder else None
    line = _caller_line(author) if author else None
    looked = " or ".join(str(p) for p in places)
    failed = downloads.failed_fetch()
    if failed is not None and author is not None and _recorder is not None:
        raise FigureError(
            f"icon file not found: {given}; the script tried to download {failed.url} and "
            f"could not ({failed.error}): a figure must build without a network; "
            f"{failed.fix(author, _recorder.course_root)}", author, failed.line or line)
    raise FigureError(f"icon file not found: {given} (looked for {looked})", author, line)


def _caller_line(script: Path) -> int | None:
    frame: FrameType | None = sys._getframe(1)
    name = script.name
    while frame is not None:
        # The cheap test first: this runs for every node, cluster and edge a script makes.
        filename = frame.f_code.co_filename
        if filename.endswith(name) and Path(filename) == script:
            return frame.f_lineno
        frame = frame.f_back
    return None


# -- errors in the author's terms -----------------------------------------------------------------

def _author_line(tb: TracebackType | None, author_dir: Path) -> tuple[Path | None, int | None]:
    """Return the deepest traceback frame that lies in the author's own files."""
    found: tuple[Path | None, int | None] = (None, None)
    for frame, line in traceback.walk_tb(tb):
        path = Path(frame.f_code.co_filename)
        if path.is_absolute() and author_dir in path.parents:
            found = (path, line)
    return found


def _author_error(exc: BaseException, script: Path) -> FigureError:
    path, line = _author_line(exc.__traceback__, script.parent)
    failed = downloads.failed_fetch()
    if failed is not None and isinstance(exc, OSError):
        course_root = _recorder.course_root if _recorder else script.parent
        return FigureError(
            f"the script tried to download {failed.url} and could not ({failed.error}): a "
            f"figure must build without a network; {failed.fix(script, course_root)}",
            script, failed.line or line)
    detail = str(exc)
    if isinstance(exc, ImportError):
        from course_assets.render.library_names import import_hint

        detail = import_hint(exc) or detail
    message = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    if isinstance(exc, MemoryError):
        from course_assets.render.isolate import MAX_CHILD_MEMORY

        message = (f"MemoryError: the script needed more than the {MAX_CHILD_MEMORY // 2**30} "
                   "GiB of memory a figure's script may use")
    return FigureError(message, path or script, line)


def _syntax_error(exc: SyntaxError, script: Path, course_root: Path) -> FigureError:
    path = Path(exc.filename) if exc.filename else script
    if not path.is_absolute():
        path = course_root / path
    if exc.lineno is None and "null bytes" in str(exc.msg):  # Python names no line for it
        with contextlib.suppress(OSError):
            data = read_source(path)
            line = data[:data.index(b"\0")].count(b"\n") + 1
            return FigureError("the script holds a NUL byte (\\0) here, which no Python "
                               "source may; save it again as plain text", path, line)
    return FigureError(f"SyntaxError: {exc.msg}", path, exc.lineno, exc.offset)


def preload_library_modules(script: Path) -> None:
    """Import the diagrams modules `script` imports, so each forked run finds them loaded."""
    # Workers fork a child per script; what the worker has imported, every child gets for free.
    try:
        tree = ast.parse(read_source(script))
    except (SyntaxError, ValueError, OSError):
        return  # the real run reports it, at the author's line
    # Top-level statements only: that is where scripts import, and walking every expression
    # of a large script costs more than the imports it saves.
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            if name == "diagrams" or name.startswith("diagrams."):
                try:
                    importlib.import_module(name)
                except Exception:  # noqa: BLE001 - the script's own run reports the failure
                    pass
