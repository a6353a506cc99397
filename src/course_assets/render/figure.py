"""Render one figure: run its script and lay out its graph in a child, then finish SVG and PNG."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from course_assets.errors import FigureError, Problem, Severity
from course_assets.render import limits

if TYPE_CHECKING:
    from course_assets.figlint import FigureReading
    from course_assets.render.capture import CapturedFigure
    from course_assets.render.downloads import Fetch
    from course_assets.render.graphviz import Drawing
    from course_assets.render.theme import IconTiles


@dataclass(frozen=True)
class FigureTask:
    """One figure to render, with everything a worker needs to know."""

    name: str
    script: Path
    course_root: Path
    padding: float
    timeout: float
    # Which files to make: "svg" always, "png" at twice its size, "dark" the dark variants.
    formats: tuple[str, ...] = ("svg",)
    # The PNG's longer side in pixels at most (it is twice the SVG's size up to there).
    png_max_side: int = 3840


@dataclass(frozen=True)
class FigureOutcome:
    """What rendering a figure gave: its files (name -> bytes) or the problem that stopped it."""

    name: str
    files: dict[str, bytes] = field(default_factory=dict)
    title: str = ""
    description: str = ""
    helpers: tuple[Path, ...] = ()
    warnings: tuple[str, ...] = ()
    output: str = ""
    problem: Problem | None = None
    seconds: float = 0.0
    fetches: tuple[Fetch, ...] = ()  # what the script downloaded while it built
    # What the figure lint found (as JSON-ready dicts) and the sizes readability is judged by.
    findings: tuple[dict[str, object], ...] = ()
    sizes: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Variant:
    """One theme's rendering of a figure: its SVG, its PNG, and what the run learnt."""

    stem: str
    svg: bytes
    captured: CapturedFigure
    warnings: tuple[str, ...]
    output: str
    png: bytes | None = None
    reading: FigureReading | None = None


@dataclass(frozen=True)
class LightDrawing:
    """A figure's light SVG, drawn first so that it can be shown while the rest is made."""

    name: str
    svg: bytes
    captured: CapturedFigure
    warnings: tuple[str, ...]
    output: str
    seconds: float
    # Where the script's downloads lie (its graph points at them): `finish_figure` paints the
    # PNG from that graph and then removes the folder; whoever drops the drawing removes it.
    scratch: Path
    # Graphviz's JSON layout, which the lint reads; drawn here only when no PNG is wanted,
    # else with the PNG, from the graph laid out again.
    layout: dict[str, Any] | None = None


def render_figure(task: FigureTask) -> FigureOutcome:
    """Render every file of a figure in one go: its light SVG, then the rest."""
    light = render_light(task)
    if isinstance(light, FigureOutcome):
        return light
    return finish_figure(task, light)


def render_light(task: FigureTask) -> LightDrawing | FigureOutcome:
    """Run the script in an isolated child that lays its graph out; return its light SVG.

    This is what an author looks at first, so it does nothing else: no PNG, no dark variant,
    no lint (`finish_figure` makes those). A failure is the outcome, with its problem.
    """
    import shutil
    import tempfile

    from course_assets.render import downloads
    from course_assets.render.capture import preload_library_modules
    from course_assets.render.theme import LIGHT

    started = time.perf_counter()
    try:
        _prepare_worker(task.course_root)
    except FigureError as exc:
        return FigureOutcome(task.name, problem=Problem(task.script, None, exc.message))
    preload_library_modules(task.script)
    # The script's own downloaded icons are kept here: the SVG embeds them after the child has
    # ended, and the second stage paints the PNG from the same graph.
    scratch = Path(tempfile.mkdtemp(prefix="course-assets-"))
    try:
        downloads.keep_files_in(scratch)
        # Without a PNG to paint, the second stage need not lay the graph out again: the
        # layout the lint reads comes with the SVG (a few milliseconds more).
        with_layout = _png_max_side(task) is None
        captured, drawing, output = _drawn_in_child(task, LIGHT, None, None,
                                                    layout=with_layout)
        svg = _postprocessed(task, LIGHT, captured, drawing.svg)
    except Exception as exc:  # noqa: BLE001 - every failure is this figure's, not the worker's
        shutil.rmtree(scratch, ignore_errors=True)
        return _failed(task, exc, None, (), started)
    return LightDrawing(task.name, svg, captured, drawing.messages, output,
                        time.perf_counter() - started, scratch,
                        drawing.layout if with_layout else None)


def finish_figure(task: FigureTask, light: LightDrawing) -> FigureOutcome:
    """Make the rest of a figure whose light SVG is drawn: PNGs, dark variant, lint, outline.

    The light PNG is painted from the light graph laid out again: Graphviz lays the same graph
    out the same way, so it shows what the SVG shows. With the "dark" format the script runs a
    second time, in the dark theme.
    """
    import shutil

    from course_assets.render import downloads
    from course_assets.render.capture import preload_library_modules
    from course_assets.render.theme import DARK, IconTiles

    started = time.perf_counter()
    variants: list[Variant] = []
    try:
        _prepare_worker(task.course_root)
        preload_library_modules(task.script)
        downloads.keep_files_in(light.scratch)
        variants.append(_light_variant(task, light))
        if "dark" in task.formats:
            variants.append(_render_variant(task, DARK, IconTiles(light.scratch)))
        files: dict[str, bytes] = {}
        for variant in variants:
            files[f"{variant.stem}.svg"] = variant.svg
            if variant.png is not None:
                files[f"{variant.stem}.png"] = variant.png
        findings, sizes, outline = _lint_outcome(task, variants)
    except Exception as exc:  # noqa: BLE001 - every failure is this figure's, not the worker's
        return _failed(task, exc, light.captured.line, [light.output, *(v.output for v in
                                                                        variants[1:])],
                       started, light.seconds)
    finally:
        shutil.rmtree(light.scratch, ignore_errors=True)
    files[f"{task.name}.outline.md"] = outline
    captured = light.captured
    return FigureOutcome(
        task.name,
        files=files,
        title=captured.title,
        description=captured.description,
        helpers=tuple(sorted({h for v in variants for h in v.captured.helpers})),
        warnings=tuple(dict.fromkeys(w for v in variants for w in v.warnings)),
        output="\n".join(v.output for v in variants if v.output.strip()),
        seconds=light.seconds + time.perf_counter() - started,
        fetches=captured.fetches,
        findings=findings,
        sizes=sizes,
    )


def _failed(task: FigureTask, exc: Exception, line: int | None, outputs: Iterable[str],
            started: float, earlier: float = 0.0) -> FigureOutcome:
    """Return the outcome of a figure stopped by `exc`, located at its script."""
    if not isinstance(exc, FigureError):
        exc = limits.figure_error(exc, task.script, line)
    located = exc.problem()
    if located.path is None:
        located = Problem(task.script, None, located.message)
    output = "\n".join(o for o in outputs if o.strip())
    return FigureOutcome(task.name, output=output or exc.output, problem=located,
                         seconds=earlier + time.perf_counter() - started)


def _lint_outcome(task: FigureTask, variants: list[Variant],
                  ) -> tuple[tuple[dict[str, object], ...], dict[str, float], bytes]:
    """Gather the variants' lint findings (less those the script allows) and the outline."""
    from course_assets.figlint.findings import Finding, allowances, silenced

    source = task.script.read_text(encoding="utf-8", errors="replace")
    findings = [f for v in variants if v.reading is not None for f in v.reading.findings]
    findings = silenced(findings, source)
    findings += [Finding("lint-marker", p.message, (p.line,) if p.line else ())
                 for p in allowances(source)[1]]
    light = variants[0].reading
    assert light is not None
    sizes = {"width": round(light.width, 1), "height": round(light.height, 1),
             "smallest_text": round(light.smallest_text, 2), "clusters": light.clusters}
    unique = sorted(dict.fromkeys(findings))
    return tuple(f.to_json() for f in unique), sizes, light.outline.encode("utf-8")


def _png_max_side(task: FigureTask) -> int | None:
    return task.png_max_side if "png" in task.formats else None


def _drawn_in_child(task: FigureTask, theme: str, icon_filter: IconTiles | None,
                    png_max_side: int | None, layout: bool = True,
                    ) -> tuple[CapturedFigure, Drawing, str]:
    """Capture the script in `theme` and lay its graph out, both in one isolated child."""
    from course_assets.render import capture, graphviz, isolate
    from course_assets.render.theme import applied, paint_tiles

    def job() -> tuple[CapturedFigure, graphviz.Drawing]:
        with applied(theme):
            captured = capture.capture_script(task.script, task.course_root, task.padding,
                                              icon_filter=icon_filter)
        too_long = limits.long_string_problem(captured.dot_source)
        if too_long is not None:  # Graphviz would name a line of DOT the author never saw
            raise FigureError(too_long, task.script, captured.line)
        # The script has ended; its graph is laid out here, so that a Graphviz crash or a
        # runaway layout ends this child and stays this figure's error.
        with limits.located_at(task.script, captured.line):
            paint_tiles(captured.icon_copies)
        isolate.announce("graphviz", captured.line)
        with limits.located_at(task.script, captured.line):
            drawing = graphviz.draw(captured.dot_source, png_max_side, captured.node_lines(),
                                    layout=layout)
        return captured, drawing

    try:
        # A Graphviz crash or timeout is told at the Diagram's line the child announced.
        with limits.located_at(task.script, None):
            (captured, drawing), output = isolate.run_isolated(job, task.timeout)
    except FigureError as exc:
        _name_theme(exc, theme)
        raise
    return captured, drawing, output


def _name_theme(exc: FigureError, theme: str) -> None:
    from course_assets.render.theme import LIGHT

    if theme != LIGHT:
        exc.message = f"in the {theme} theme: {exc.message}"
        exc.args = (exc.message,)


def _postprocessed(task: FigureTask, theme: str, captured: CapturedFigure, raw: bytes) -> bytes:
    """Return Graphviz's SVG made self-contained, titled and described."""
    from course_assets.render import icons, svg
    from course_assets.render.theme import LIGHT

    with limits.located_at(task.script, captured.line):
        # Its own id prefix, so the light and dark SVG can sit inlined on one page.
        return svg.postprocess(
            raw, name=task.name if theme == LIGHT else f"{task.name}-{theme}",
            title=captured.title, description=captured.description, load_icon=icons.load_icon,
        )


def _finished_variant(task: FigureTask, theme: str, captured: CapturedFigure,
                      drawing: Drawing, svg: bytes, messages: tuple[str, ...],
                      output: str) -> Variant:
    """Return a theme's variant: its SVG, its PNG painted with it, and the lint's reading."""
    from course_assets.figlint import read_figure
    from course_assets.render import raster
    from course_assets.render.theme import LIGHT

    png_max_side = _png_max_side(task)
    png = None
    if drawing.png is not None and png_max_side is not None:
        with limits.located_at(task.script, captured.line):
            png = raster.normalized_png(drawing.png,
                                        raster.png_size(raster.svg_size(svg), png_max_side))
    # The lint reads the same layout the SVG was drawn from.
    reading = read_figure(drawing.layout, svg, dict(captured.lines), theme, captured.title,
                          captured.description)
    stem = task.name if theme == LIGHT else f"{task.name}.{theme}"
    return Variant(stem, svg, captured, messages, output, png, reading)


def _light_variant(task: FigureTask, light: LightDrawing) -> Variant:
    """Lay the light graph out again in a child, for its PNG and for the lint to read."""
    from course_assets.render import graphviz, isolate
    from course_assets.render.theme import LIGHT

    captured = light.captured
    if light.layout is not None:  # no PNG wanted: the first stage's layout is all it takes
        drawing = graphviz.Drawing(light.svg, None, light.warnings, light.layout)
        return _finished_variant(task, LIGHT, captured, drawing, light.svg, light.warnings,
                                 light.output)

    def job() -> graphviz.Drawing:
        isolate.announce("graphviz", captured.line)
        with limits.located_at(task.script, captured.line):
            return graphviz.draw(captured.dot_source, _png_max_side(task),
                                 captured.node_lines())

    with limits.located_at(task.script, None):
        drawing, _ = isolate.run_isolated(job, task.timeout)
    return _finished_variant(task, LIGHT, captured, drawing, light.svg, light.warnings,
                             light.output)


def _render_variant(task: FigureTask, theme: str, icon_filter: IconTiles | None) -> Variant:
    """Capture the script in `theme` and lay it out in a child; post-process what it drew."""
    captured, drawing, output = _drawn_in_child(task, theme, icon_filter, _png_max_side(task))
    svg = _postprocessed(task, theme, captured, drawing.svg)
    return _finished_variant(task, theme, captured, drawing, svg, drawing.messages, output)


def prepare_worker_quietly(course_root: Path) -> None:
    """Load the diagrams library, Graphviz and the fonts now, before this worker's first figure."""
    # A failure is left to that figure, which prepares again and reports it at its script.
    try:
        _prepare_worker(course_root)
    except Exception:  # noqa: BLE001, S110 - reported by the figure that meets it
        pass


def _prepare_worker(course_root: Path) -> None:
    # The diagrams library and Graphviz are loaded once per worker (here, on its first
    # figure), not once per figure: every forked child inherits them.
    from course_assets.render import capture, downloads, graphviz

    _return_freed_pictures()
    capture.check_library(course_root)
    graphviz.warm_up()
    downloads.preload()


def _return_freed_pictures() -> None:
    """Have the C library give every large buffer back to the system as soon as it is freed.

    A PNG is decoded and encoded in tens of megabytes. By default glibc raises its threshold
    for mapping large blocks after one is freed, so the next picture's buffers come from the
    heap and stay held by the worker (and half-shared with the child it forks next): with
    the default formats, that was 40 to 60 MB of a build's peak memory.
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return
    mmap_threshold = -3  # M_MMAP_THRESHOLD in glibc's malloc.h
    try:
        ctypes.CDLL(None).mallopt(mmap_threshold, 128 * 1024)
    except (OSError, AttributeError):  # another C library: its own policy stands
        pass


def warning_problems(outcome: FigureOutcome, script: Path,
                     course_root: Path | None = None) -> list[Problem]:
    """Return a figure's warnings: what it downloaded, then Graphviz's, each once."""
    found = [Problem(script, fetch.line,
                     f"the script downloaded {fetch.url} while building, so the figure depends "
                     f"on that server; {fetch.fix(script, course_root or script.parent)}",
                     Severity.WARNING)
             for fetch in dict.fromkeys(outcome.fetches)]
    found += [Problem(script, None, f"Graphviz: {w}", Severity.WARNING) for w in outcome.warnings]
    return found
