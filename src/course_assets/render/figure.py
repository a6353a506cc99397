"""Render one figure: run its script and lay out its graph in a child, then finish SVG and PNG."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from course_assets.errors import FigureError, Problem, Severity
from course_assets.render import limits

if TYPE_CHECKING:
    from course_assets.figlint import FigureReading
    from course_assets.layout.fitting import Fit
    from course_assets.render.capture import CapturedFigure
    from course_assets.render.downloads import Fetch
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
    # Lay the figure out anew where the author's layout is unreadable (the `fit` setting).
    fit: bool = True


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
    # Which layout each place shows and the slides the figure is shown on (see layout.views).
    fit: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Fits:
    """The layouts a figure is drawn in: the chapter's, and the slides' when it differs."""

    chapter: Fit
    slide: Fit | None
    enabled: bool = True  # False: the course or the script turned fitting off
    # Whether the slides' layout is readable whole; if not, it is shown zoomed too, and the
    # crops are worked out from its layout.
    slide_readable: bool = True


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
    fits: Fits | None = None
    slide_svg: bytes | None = None
    slide_png: bytes | None = None
    # The layout the slides show (the slide drawing's, else the chapter's), for the zoomed views.
    slide_layout: dict[str, Any] = field(default_factory=dict)


def render_figure(task: FigureTask) -> FigureOutcome:
    """Run the script in an isolated child that also lays its graph out; finish the files here.

    With the "dark" format the script runs a second time in the dark theme; with "png" each
    variant is also painted to PNG from the same layout as its SVG.
    """
    started = time.perf_counter()
    try:
        _prepare_worker(task.course_root)
    except FigureError as exc:
        return FigureOutcome(task.name, problem=Problem(task.script, None, exc.message))
    # Each variant's script and layout have `timeout` in their child; the whole figure,
    # icons, lint and PNG included, has that much per variant.
    variants_wanted = 2 if "dark" in task.formats else 1
    with limits.time_limit(task.timeout * variants_wanted) as clock:
        outcome = _render_within(task, started)
    if clock.expired and outcome.problem is None:  # the alarm's error was swallowed on the way
        return FigureOutcome(task.name, problem=Problem(task.script, None, clock.message()),
                             seconds=time.perf_counter() - started)
    return outcome


def _render_within(task: FigureTask, started: float) -> FigureOutcome:
    import tempfile

    from course_assets.render import downloads
    from course_assets.render.capture import preload_library_modules
    from course_assets.render.theme import DARK, LIGHT, IconTiles

    preload_library_modules(task.script)
    variants: list[Variant] = []
    try:
        # The dark graph points at tiled icon copies, and a script's own icons are copied here:
        # the SVG embeds them after the child has ended.
        with tempfile.TemporaryDirectory(prefix="course-assets-") as scratch:
            downloads.keep_files_in(Path(scratch))
            variants.append(_render_variant(task, LIGHT, None, None))
            if "dark" in task.formats:
                variants.append(_render_variant(task, DARK, IconTiles(Path(scratch)),
                                                variants[0].fits))
            files: dict[str, bytes] = {}
            for variant in variants:
                files[f"{variant.stem}.svg"] = variant.svg
                if variant.png is not None:
                    files[f"{variant.stem}.png"] = variant.png
            for variant in variants:  # after the chapter's files: the order the build says them
                slide_stem = variant.stem.replace(task.name, f"{task.name}.slide", 1)
                if variant.slide_svg is not None:
                    files[f"{slide_stem}.svg"] = variant.slide_svg
                if variant.slide_png is not None:
                    files[f"{slide_stem}.png"] = variant.slide_png
            findings, sizes, outline = _lint_outcome(task, variants)
            fit = _fit_record(variants[0])
    except Exception as exc:  # noqa: BLE001 - every failure is this figure's, not the worker's
        if not isinstance(exc, FigureError):
            line = variants[0].captured.line if variants else None
            exc = limits.figure_error(exc, task.script, line)
        located = exc.problem()
        if located.path is None:
            located = Problem(task.script, None, located.message)
        output = "\n".join(v.output for v in variants if v.output.strip())
        return FigureOutcome(task.name, output=output or exc.output, problem=located,
                             seconds=time.perf_counter() - started)
    files[f"{task.name}.outline.md"] = outline
    light = variants[0].captured
    return FigureOutcome(
        task.name,
        files=files,
        title=light.title,
        description=light.description,
        helpers=tuple(sorted({h for v in variants for h in v.captured.helpers})),
        warnings=tuple(dict.fromkeys(w for v in variants for w in v.warnings)),
        output="\n".join(v.output for v in variants if v.output.strip()),
        seconds=time.perf_counter() - started,
        fetches=light.fetches,
        findings=findings,
        sizes=sizes,
        fit=fit,
    )


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
             "smallest_text": round(light.smallest_text, 2), "clusters": light.clusters,
             "left_to_right": float(light.left_to_right)}
    unique = sorted(dict.fromkeys(findings))
    return tuple(f.to_json() for f in unique), sizes, light.outline.encode("utf-8")


def _render_variant(task: FigureTask, theme: str, icon_filter: IconTiles | None,
                    chosen: Fits | None) -> Variant:
    """Capture the script in `theme` and lay it out in a child; post-process what it drew.

    The light variant chooses the layouts (`Fits`); the dark one is given them (`chosen`).
    """
    from course_assets.figlint import read_figure
    from course_assets.render import capture, graphviz, icons, isolate, raster, svg
    from course_assets.render.theme import LIGHT, applied, paint_tiles

    png_max_side = task.png_max_side if "png" in task.formats else None

    def job() -> tuple[CapturedFigure, graphviz.Drawing, Fits, graphviz.Drawing | None]:
        with applied(theme):
            captured = capture.capture_script(task.script, task.course_root, task.padding,
                                              icon_filter=icon_filter)
        too_long = limits.long_string_problem(captured.dot_source)
        if too_long is not None:  # Graphviz would name a line of DOT the author never saw
            raise FigureError(too_long, task.script, captured.line)
        _check_control_characters(task.script, captured)
        for node, problem in limits.image_problems(captured.dot_source)[:1]:
            raise FigureError(problem, task.script,
                              captured.node_lines().get(node) or captured.line)
        # The script has ended; its graph is laid out here, so that a Graphviz crash or a
        # runaway layout ends this child and stays this figure's error.
        with limits.located_at(task.script, captured.line):
            paint_tiles(captured.icon_copies)
        isolate.announce("graphviz", captured.line)
        with limits.located_at(task.script, captured.line):
            if chosen is not None:  # the light variant's layouts, drawn in this theme
                drawing = graphviz.draw(captured.dot_source, png_max_side,
                                        captured.node_lines(), chosen.chapter.apply)
                slide = None
                if chosen.slide is not None:  # its layout is the light one's, read there
                    slide = graphviz.draw(captured.dot_source, png_max_side,
                                          captured.node_lines(), chosen.slide.apply,
                                          with_layout=False)
                return captured, drawing, chosen, slide
            drawing = graphviz.draw(captured.dot_source, png_max_side, captured.node_lines())
            fits, drawing, slide = _fitted(task, captured, drawing, png_max_side)
        return captured, drawing, fits, slide

    try:
        # A Graphviz crash or timeout is told at the Diagram's line the child announced.
        with limits.located_at(task.script, None):
            (captured, drawing, fits, slide), output = isolate.run_isolated(job, task.timeout)
    except FigureError as exc:
        if theme != LIGHT:
            exc.message = f"in the {theme} theme: {exc.message}"
            exc.args = (exc.message,)
        raise
    stem = task.name if theme == LIGHT else f"{task.name}.{theme}"
    with limits.located_at(task.script, captured.line):
        # Its own id prefix, so the light and dark SVG can sit inlined on one page.
        data = svg.postprocess(
            drawing.svg, name=task.name, theme="" if theme == LIGHT else theme,
            title=captured.title, description=captured.description, load_icon=icons.load_icon,
        )
        png = None
        if drawing.png is not None and png_max_side is not None:
            png = raster.normalized_png(drawing.png,
                                        raster.png_size(raster.svg_size(data), png_max_side))
        slide_svg = slide_png = None
        if slide is not None:
            # Its own id prefix too: a deck may show the chapter's drawing and this one.
            slide_svg = svg.postprocess(
                slide.svg, name=task.name,
                theme="slide" if theme == LIGHT else f"slide.{theme}", title=captured.title,
                description=captured.description, load_icon=icons.load_icon)
            if slide.png is not None and png_max_side is not None:
                slide_png = raster.normalized_png(
                    slide.png, raster.png_size(raster.svg_size(slide_svg), png_max_side))
    # The lint reads the same layout the SVG was drawn from.
    reading = read_figure(drawing.layout, data, dict(captured.lines), theme, captured.title,
                          captured.description)
    return Variant(stem, data, captured, drawing.messages, output, png, reading, fits,
                   slide_svg, slide_png, (slide or drawing).layout if slide is None or
                   slide.layout else {})


def _fitted(task: FigureTask, captured: CapturedFigure, drawing: Any, png_max_side: int | None,
            ) -> tuple[Fits, Any, Any]:
    """Choose and draw the chapter's and the slides' layouts (in the child, where Graphviz is).

    Return the layouts and their drawings: the chapter's (the author's `drawing` unless
    another reads better in the column) and the slides' (None: the chapter's). Each layout is
    chosen by estimate, drawn, and kept only where the drawing proves better than the one it
    would replace.
    """
    from course_assets.layout import fitting, labels
    from course_assets.render import graphviz

    source = task.script.read_text(encoding="utf-8", errors="replace")
    if not task.fit or fitting.fit_off(source) or not drawing.layout:
        return Fits(fitting.AS_DRAWN, None, enabled=False), drawing, None
    figure = fitting.read_figure(graphviz.parse(captured.dot_source), drawing.layout,
                                 graphviz.svg_points(drawing.svg))
    chapter_room, slide_room = fitting.rooms()
    lines = captured.node_lines()

    def shape(drawn: Any, counted: bool = False) -> fitting.Shape:
        width, height = graphviz.svg_points(drawn.svg)
        # Crossings are counted where two read layouts are compared (the chapter's drawings).
        crossings = fitting.crossings(drawn.layout) if counted and drawn.layout else 0
        return fitting.Shape(width * fitting.PX_PER_PT, height * fitting.PX_PER_PT, crossings)

    def unreadable_whole(svg: bytes) -> bool:
        # The slides' layout is read again only where it is shown zoomed.
        width, height = graphviz.svg_points(svg)
        return slide_room.text_size(width * fitting.PX_PER_PT, height * fitting.PX_PER_PT,
                                    figure.smallest_text) < slide_room.minimum

    def tried(fit: Fit, **options: Any) -> Any:
        # A layout Graphviz refuses is not kept; the figure stays as it was without it.
        try:
            return graphviz.draw(captured.dot_source, png_max_side, lines, fit.apply, **options)
        except FigureError:
            return None

    struck = labels.lines_through_text(drawing.layout)

    def kept(drawn: Any, room: fitting.Room, old: fitting.Shape, counted: bool = False) -> bool:
        # Better to read, and no line through more words than before: the build's geometry
        # promise holds for a fitted layout too.
        return (drawn is not None and fitting.improves(figure, room, shape(drawn, counted), old)
                and (not drawn.layout or labels.lines_through_text(drawn.layout) <= struck))

    chapter_fit = fitting.AS_DRAWN
    author = shape(drawing, True)
    # The best estimates in turn, a few at most: one that reads better may strike words out.
    for choice in fitting.ranked(figure, chapter_room, shape(drawing))[:fitting.TRIED]:
        fitted = tried(choice.fit)
        if kept(fitted, chapter_room, author, counted=True):
            chapter_fit, drawing = choice.fit, fitted
            break
    shown = shape(drawing)
    if slide_room.text_size(shown.width, shown.height, figure.smallest_text) >= slide_room.minimum:
        return Fits(chapter_fit, None), drawing, None
    best = fitting.choose(figure, slide_room, shown)
    slide_fit = best.fit
    now = slide_room.text_size(shown.width, shown.height, figure.smallest_text)
    if (slide_fit == chapter_fit or slide_fit.as_drawn
            or (best.text < slide_room.minimum * fitting.WORTH_A_SLIDE_LAYOUT
                and best.text < now * fitting.WORTH_A_SLIDE_LAYOUT_GROWTH)):
        return Fits(chapter_fit, None, slide_readable=False), drawing, None
    slide = tried(slide_fit, with_layout=unreadable_whole)
    if not kept(slide, slide_room, shown):
        return Fits(chapter_fit, None, slide_readable=False), drawing, None
    return Fits(chapter_fit, slide_fit, slide_readable=not slide.layout), drawing, slide


def _fit_record(light: Variant) -> dict[str, Any]:
    """Return what the manifest keeps of the fitting: the layouts chosen and the slide views."""
    from course_assets.layout import views

    fits = light.fits
    if fits is None or not fits.enabled:
        return {}
    shown = light.slide_svg if light.slide_svg is not None else light.svg
    return views.fit_record(fits.chapter, fits.slide, light.slide_layout, shown)


def _check_control_characters(script: Path, captured: CapturedFigure) -> None:
    """Raise FigureError at the line that put a character no SVG can hold into the figure."""
    # Told here, at the author's line: later it would be the SVG's line and column instead.
    problem = limits.control_character_problem("the script's docstring (the figure's "
                                               "description)", captured.description)
    if problem is not None:
        raise FigureError(problem, script, 1)
    problem = limits.control_character_problem("the Diagram's title", captured.title)
    if problem is not None:
        raise FigureError(problem, script, captured.line)
    problem = limits.control_character_problem("a label or attribute", captured.dot_source)
    if problem is not None:
        node = limits.control_character_node(captured.dot_source)
        line = captured.node_lines().get(node) if node is not None else None
        raise FigureError(problem, script, line or captured.line)


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
    from course_assets.render.syslibs import missing_library, missing_library_advice

    capture.check_library(course_root)
    try:
        graphviz.warm_up()
    except (ImportError, OSError) as exc:
        # A slim container without glib or X11: say which library, not that the worker died.
        library = missing_library(str(exc))
        if library is None:
            raise
        raise FigureError(missing_library_advice(library)) from None
    downloads.preload()


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
