"""Render one figure: run its script and lay out its graph in a child, then finish SVG and PNG."""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from course_assets.config import DEFAULT_PNG_MAX_SIDE
from course_assets.errors import FigureError, Problem, Severity
from course_assets.render import limits

if TYPE_CHECKING:
    from course_assets.figlint.reader import FigureReading
    from course_assets.layout import fitting
    from course_assets.layout.fitting import Fit
    from course_assets.layout.labels import TextTroubles
    from course_assets.render.capture import CapturedFigure
    from course_assets.render.downloads import Fetch
    from course_assets.render.graphviz import Drawing, Positions
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
    png_max_side: int = DEFAULT_PNG_MAX_SIDE
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
    slide_layout: Mapping[str, Any] = field(default_factory=dict)
    seconds: float = 0.0  # what making it took, as a second stage's part


@dataclass(frozen=True)
class LightDrawing:
    """A figure's light SVG, drawn first so that it can be shown while the rest is made."""

    name: str
    svg: bytes
    captured: CapturedFigure
    warnings: tuple[str, ...]
    output: str
    seconds: float
    # Where the script's downloads lie (its graph points at them): the second stage paints the
    # PNG from that graph; whoever ends or drops the drawing removes the folder.
    scratch: Path
    # Graphviz's JSON layout of the chapter drawing, which the lint reads.
    layout: Mapping[str, Any]
    # The layouts fitting chose; the slides' drawing (its SVG made self-contained) where it
    # differs from the chapter's, and the layout the zoomed slide views are cut from.
    fits: Fits
    slide_svg: bytes | None = None
    slide_layout: Mapping[str, Any] = field(default_factory=dict)
    # A layout for the slides still to draw and judge (`render_slides`), if fitting named one.
    slides_to_try: SlidesToTry | None = None
    # The chapter's and the slides' drawings as laid out: their PNGs are painted from these.
    positions: Positions | None = None
    slide_positions: Positions | None = None
    # Seconds of the first stage's time limit the light SVG took: the slides' layout, drawn
    # after it, has what is left (one `timeout` for the script, layout and fitting).
    limit_used: float = 0.0


def render_figure(task: FigureTask) -> FigureOutcome:
    """Render every file of a figure in one go: its light SVG, its slides' layout, the rest."""
    light = render_light(task)
    if isinstance(light, FigureOutcome):
        return light
    light = render_slides(task, light)
    if isinstance(light, FigureOutcome):
        return light
    return finish_figure(task, light)


def render_light(task: FigureTask) -> LightDrawing | FigureOutcome:
    """Run the script in an isolated child that lays its graph out; return its light SVG.

    This is what an author looks at first, so it does nothing else: no PNG, no dark variant,
    no lint (`finish_figure` makes those). A failure is the outcome, with its problem.
    """
    import dataclasses

    from course_assets.render import isolate

    started = time.perf_counter()
    try:
        _prepare_worker(task.course_root)
    except FigureError as exc:
        return FigureOutcome(task.name, problem=Problem(task.script, None, exc.message))
    # The script and its layout have `timeout` in their child; this stage, icons included,
    # has as much.
    limited = time.perf_counter()
    with limits.time_limit(task.timeout) as clock:
        light = _light_within(task, started)
    if clock.expired and not isinstance(light, FigureOutcome):  # its alarm went unheard
        isolate.remove_scratch_folder(light.scratch)
        return FigureOutcome(task.name, problem=Problem(task.script, None, clock.message()),
                             seconds=time.perf_counter() - started)
    if isinstance(light, FigureOutcome):
        return light
    return dataclasses.replace(light, limit_used=time.perf_counter() - limited)


def _light_within(task: FigureTask, started: float) -> LightDrawing | FigureOutcome:
    from course_assets.render import downloads, isolate
    from course_assets.render.capture import preload_library_modules
    from course_assets.render.theme import LIGHT

    preload_library_modules(task.script)
    # The script's own downloaded icons are kept here: the SVG embeds them after the child has
    # ended, and the second stage paints the PNG from the same graph.
    scratch = Path(isolate.scratch_folder())
    try:
        downloads.keep_files_in(scratch)
        captured, drawing, fits, _, trying, output = _drawn_in_child(task, LIGHT, None, None,
                                                                     None)
        svg = _postprocessed(task, LIGHT, captured, drawing.svg)
    except Exception as exc:  # noqa: BLE001 - every failure is this figure's, not the worker's
        isolate.remove_scratch_folder(scratch)
        return _failed(task, exc, None, (), started)
    # The slides show the chapter's drawing until a layout of their own proves better.
    return LightDrawing(task.name, svg, captured, drawing.messages, output,
                        time.perf_counter() - started, scratch, drawing.layout, fits, None,
                        drawing.layout, trying, drawing.positions)


def render_slides(task: FigureTask, light: LightDrawing) -> LightDrawing | FigureOutcome:
    """Draw the slides' layout the light SVG's fitting named; return the drawing with it kept.

    It is drawn in an isolated child after the light SVG is shown: what an author looks at
    first waits for no slide. It has what the light SVG left of the first stage's time limit
    (`timeout` covers the script, its layout and fitting together, as when one stage drew
    them all). A failure is the figure's outcome, with its problem.
    """
    import dataclasses

    from course_assets.render import isolate

    if light.slides_to_try is None:
        return light
    started = time.perf_counter()
    # A moment at least: a light SVG that took all its time was told by its own clock.
    left = max(task.timeout - light.limit_used, 0.001)
    with limits.time_limit(left, told=task.timeout) as clock:
        made = _slides_within(task, light, started, left)
    if clock.expired and not isinstance(made, FigureOutcome):  # its alarm went unheard
        made = FigureOutcome(task.name, problem=Problem(task.script, None, clock.message()),
                             seconds=light.seconds + time.perf_counter() - started)
    if isinstance(made, FigureOutcome):
        isolate.remove_scratch_folder(light.scratch)
        return made
    return dataclasses.replace(made, seconds=light.seconds + time.perf_counter() - started)


def _slides_within(task: FigureTask, light: LightDrawing, started: float,
                   left: float) -> LightDrawing | FigureOutcome:
    import dataclasses

    from course_assets.render import downloads, isolate
    from course_assets.render.capture import preload_library_modules
    from course_assets.render.theme import LIGHT

    trying = light.slides_to_try
    assert trying is not None
    captured = light.captured
    try:
        _prepare_worker(task.course_root)
        preload_library_modules(task.script)
        downloads.keep_files_in(light.scratch)

        def job() -> Drawing | None:
            isolate.announce("fitting", captured.line)
            with limits.located_at(task.script, captured.line):
                return _slides_drawn(captured, None, trying, _drawn_again(task))

        try:
            with limits.located_at(task.script, None):
                slide, _ = isolate.run_isolated(job, left, told=task.timeout)
        except isolate.FittingCrashed:
            slide = None  # Graphviz crashed on this layout: the slides show the chapter's
        if slide is None:
            return dataclasses.replace(light, slides_to_try=None)
        slide_svg = _postprocessed(task, LIGHT, captured, slide.svg, "slide")
    except Exception as exc:  # noqa: BLE001 - every failure is this figure's, not the worker's
        return _failed(task, exc, captured.line, [light.output], started, light.seconds)
    fits = Fits(light.fits.chapter, trying.fit, slide_readable=not slide.layout)
    # The slides' drawing carries its layout only where it is shown zoomed (empty: whole).
    return dataclasses.replace(light, fits=fits, slide_svg=slide_svg, slide_layout=slide.layout,
                               slides_to_try=None, slide_positions=slide.positions)


def finish_figure(task: FigureTask, light: LightDrawing) -> FigureOutcome:
    """Make the rest of a figure whose light SVG is drawn: PNGs, dark variant, lint, outline.

    The light PNG is painted from the layout the light SVG was drawn from, kept (or, where
    none was kept, from the graph laid out again: Graphviz lays the same graph out the same
    way), so it shows what the SVG shows. With the "dark" format the script runs a second
    time, in the dark theme, and is drawn in the light layout where it is the same graph.
    """
    from course_assets.render import isolate

    started = time.perf_counter()
    # The dark variant's script and layout have `timeout` in their child; the whole stage,
    # icons, lint and PNGs included, has that much per variant.
    variants_wanted = 2 if "dark" in task.formats else 1
    try:
        with limits.time_limit(task.timeout * variants_wanted) as clock:
            outcome = _finished_within(task, light, started)
    finally:
        isolate.remove_scratch_folder(light.scratch)
    if clock.expired and outcome.problem is None:  # the alarm's error was swallowed on the way
        return FigureOutcome(task.name, problem=Problem(task.script, None, clock.message()),
                             seconds=light.seconds + time.perf_counter() - started)
    return outcome


def _finished_within(task: FigureTask, light: LightDrawing, started: float) -> FigureOutcome:
    variants: list[Variant] = []
    for theme in finish_parts(task):
        made = _part_within(task, light, theme, started)
        if isinstance(made, FigureOutcome):
            return made
        variants.append(made)
    return finished(task, light, variants, time.perf_counter() - started)


def finish_parts(task: FigureTask) -> tuple[str, ...]:
    """Return the themes whose rest a figure's second stage makes: light, and dark if wanted."""
    from course_assets.render.theme import DARK, LIGHT

    return (LIGHT, DARK) if "dark" in task.formats else (LIGHT,)


def finish_part(task: FigureTask, light: LightDrawing, theme: str) -> Variant | FigureOutcome:
    """Make one theme's rest of a figure whose light SVG is drawn: its PNGs, dark SVG, lint.

    The parts of one figure can be made at once, by two workers; `finished` puts them
    together. The light SVG's scratch folder is left to the caller, who removes it after both.
    """
    import dataclasses

    started = time.perf_counter()
    with limits.time_limit(task.timeout) as clock:
        made = _part_within(task, light, theme, started)
    if clock.expired and not isinstance(made, FigureOutcome):  # its alarm's error was swallowed
        return FigureOutcome(task.name, problem=Problem(task.script, None, clock.message()),
                             seconds=light.seconds + time.perf_counter() - started)
    if isinstance(made, FigureOutcome):
        return made
    return dataclasses.replace(made, seconds=time.perf_counter() - started)


def _part_within(task: FigureTask, light: LightDrawing, theme: str,
                 started: float) -> Variant | FigureOutcome:
    from course_assets.render import downloads, isolate
    from course_assets.render.capture import preload_library_modules
    from course_assets.render.theme import LIGHT, IconTiles

    try:
        _prepare_worker(task.course_root)
        preload_library_modules(task.script)
        downloads.keep_files_in(light.scratch)
        if theme == LIGHT:
            return _light_variant(task, light)
        # The tiles outlive the figure in its pool's folder: most icons recur.
        tiles = isolate.shared_scratch("dark-tiles") or light.scratch
        return _render_variant(task, theme, IconTiles(tiles), light)
    except Exception as exc:  # noqa: BLE001 - every failure is this figure's, not the worker's
        # A later variant's own output is not the author's to read: the light one's is.
        return _failed(task, exc, light.captured.line, [light.output], started, light.seconds)


def finished(task: FigureTask, light: LightDrawing, variants: list[Variant],
             seconds: float) -> FigureOutcome:
    """Put a figure's variants (light first) together: its files, lint findings and outline."""
    started = time.perf_counter()
    try:
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
        return _failed(task, exc, light.captured.line,
                       [light.output, *(v.output for v in variants[1:])], started,
                       light.seconds + seconds)
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
        seconds=light.seconds + seconds + time.perf_counter() - started,
        fetches=captured.fetches,
        findings=findings,
        sizes=sizes,
        fit=fit,
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
             "smallest_text": round(light.smallest_text, 2), "clusters": light.clusters,
             "left_to_right": float(light.left_to_right)}
    unique = sorted(dict.fromkeys(findings))
    return tuple(f.to_json() for f in unique), sizes, light.outline.encode("utf-8")


def _drawn_again(task: FigureTask) -> bool:
    """Say whether the light SVG's layout is drawn again: as PNG, or in the dark theme."""
    return "png" in task.formats or "dark" in task.formats


def _png_max_side(task: FigureTask) -> int | None:
    return task.png_max_side if "png" in task.formats else None


def _drawn_in_child(task: FigureTask, theme: str, icon_filter: IconTiles | None,
                    png_max_side: int | None, chosen: Fits | None,
                    model: LightDrawing | None = None,
                    ) -> tuple[CapturedFigure, Drawing, Fits, Drawing | None,
                               SlidesToTry | None, str]:
    """Capture the script in `theme` and lay its graph out, both in one isolated child.

    Without `chosen` (the light theme's first stage) the child also chooses the chapter's
    layout (fitting), and names the slides' layout to try next; a later variant is drawn in
    the layouts `chosen` names, where the same graph in the light theme (`model`) was laid
    out if it is that graph in other colours.
    """
    import dataclasses

    from course_assets.render import capture, graphviz, isolate
    from course_assets.render.theme import applied, paint_tiles

    def job() -> tuple[CapturedFigure, graphviz.Drawing, Fits, graphviz.Drawing | None,
                       SlidesToTry | None]:
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
            if chosen is not None:
                drawn, slide = _drawn_as_chosen(task, captured, png_max_side, chosen,
                                                model=model)
                return captured, drawn, chosen, slide, None
            # The light SVG's drawings keep their layout where the PNG and dark variant are
            # drawn from it.
            drawing = graphviz.draw(captured.dot_source, png_max_side, captured.node_lines(),
                                    keep_positions=_drawn_again(task))
            if task.fit:
                isolate.announce("fitting", captured.line)
            fits, drawing, trying = _fitted(task, captured, drawing, png_max_side)
        return captured, drawing, fits, None, trying

    try:
        # A Graphviz crash or timeout is told at the Diagram's line the child announced.
        with limits.located_at(task.script, None):
            try:
                (captured, drawing, fits, slide, trying), output = isolate.run_isolated(
                    job, task.timeout)
            except isolate.FittingCrashed:
                # The author's layout was drawn; one the build tried instead took Graphviz
                # down with it. The figure is drawn again as its script lays it out.
                task = dataclasses.replace(task, fit=False)
                (captured, drawing, fits, slide, trying), output = isolate.run_isolated(
                    job, task.timeout)
    except FigureError as exc:
        _name_theme(exc, theme)
        raise
    return captured, drawing, fits, slide, trying, output


def _drawn_as_chosen(task: FigureTask, captured: CapturedFigure, png_max_side: int | None,
                     chosen: Fits, with_layout: bool = True,
                     model: LightDrawing | None = None) -> tuple[Drawing, Drawing | None]:
    """Draw the graph in the layouts the light variant chose: the chapter's and the slides'.

    The PNG is painted for the layout the slides show: the chapter's has none where the
    slides have a layout of their own. Where `model` (the light variant) kept its layouts and
    this is its graph in other colours, they are drawn as the model was laid out, not laid
    out again.
    """
    chapter_png = png_max_side if chosen.slide is None else None
    drawing = _drawn_like(captured, model, model.positions if model else None, chapter_png,
                          chosen.chapter, with_layout)
    return drawing, _drawn_for_slides(captured, png_max_side, chosen, model)


def _drawn_for_slides(captured: CapturedFigure, png_max_side: int | None,
                      chosen: Fits, model: LightDrawing | None = None) -> Drawing | None:
    """Draw the graph in the slides' own layout, with its PNG; None where they have none.

    As the light variant (`model`) laid it out, where it can be (see `_drawn_as_chosen`).
    """
    if chosen.slide is None:
        return None
    # Its layout is the light one's, read in the first stage.
    return _drawn_like(captured, model, model.slide_positions if model else None, png_max_side,
                       chosen.slide, with_layout=False)


def _drawn_like(captured: CapturedFigure, model: LightDrawing | None,
                positions: Positions | None, png_max_side: int | None, fit: Fit,
                with_layout: bool) -> Drawing:
    """Draw the graph as `positions` (the light variant's, `model`) laid it out, where it is
    that graph in other colours; else lay it out again in `fit`."""
    from course_assets.render import graphviz

    lines = captured.node_lines()
    if model is not None and positions is not None:
        drawing = graphviz.draw_recoloured(captured.dot_source, model.captured.dot_source,
                                           positions, png_max_side, lines, with_layout)
        if drawing is not None:
            return drawing
    return graphviz.draw(captured.dot_source, png_max_side, lines, fit.apply,
                         with_layout=with_layout)


def _name_theme(exc: FigureError, theme: str) -> None:
    from course_assets.render.theme import LIGHT

    if theme != LIGHT:
        exc.message = f"in the {theme} theme: {exc.message}"
        exc.args = (exc.message,)


def _postprocessed(task: FigureTask, theme: str, captured: CapturedFigure, raw: bytes,
                   drawing: str = "") -> bytes:
    """Return Graphviz's SVG made self-contained, titled and described."""
    from course_assets.render import icons, svg
    from course_assets.render.theme import LIGHT

    # Its own id prefix per theme and drawing, so any of a course's SVGs can share a page.
    shown = ".".join(part for part in (drawing, "" if theme == LIGHT else theme) if part)
    with limits.located_at(task.script, captured.line):
        return svg.postprocess(
            raw, name=task.name, theme=shown,
            title=captured.title, description=captured.description, load_icon=icons.load_icon,
        )


def _finished_variant(task: FigureTask, theme: str, captured: CapturedFigure,
                      drawing: Drawing, svg: bytes, messages: tuple[str, ...], output: str,
                      fits: Fits, slide: Drawing | None, slide_svg: bytes | None,
                      slide_layout: Mapping[str, Any]) -> Variant:
    """Return a theme's variant: its SVGs, its PNGs painted with them, and the lint's reading."""
    from course_assets.figlint.reader import read_figure
    from course_assets.render.theme import LIGHT

    # The PNGs come finished from the child that painted them.
    png = drawing.png
    slide_png = slide.png if slide is not None and slide_svg is not None else None
    # The lint reads the same layout the SVG was drawn from.
    reading = read_figure(drawing.layout, svg, dict(captured.lines), theme, captured.title,
                          captured.description)
    stem = task.name if theme == LIGHT else f"{task.name}.{theme}"
    return Variant(stem, svg, captured, messages, output, png, reading, fits, slide_svg,
                   slide_png, slide_layout)


def _light_variant(task: FigureTask, light: LightDrawing) -> Variant:
    """Paint the light PNG in a child, from the layout the light SVG was drawn from.

    The PNG shows the slides' layout where they have one of their own, else the chapter's.
    The lint reads the light SVG's layout.
    """
    from course_assets.render import graphviz, isolate
    from course_assets.render.theme import LIGHT

    captured = light.captured
    png_max_side = _png_max_side(task)
    for_slides = light.fits.slide is not None  # only the slides' layout has a PNG
    png = None
    if png_max_side is not None:
        positions = light.slide_positions if for_slides else light.positions

        def job() -> bytes | None:
            isolate.announce("graphviz", captured.line)
            with limits.located_at(task.script, captured.line):
                painted = (graphviz.paint(positions, png_max_side)
                           if positions is not None else None)
                if painted is not None:
                    return painted
                # A drawing that kept no layout (Graphviz would not write it), or one nop2
                # would not draw as it was: laid out again, Graphviz lays the same graph out
                # the same way.
                if for_slides:
                    slide = _drawn_for_slides(captured, png_max_side, light.fits)
                    return slide.png if slide is not None else None
                return _drawn_as_chosen(task, captured, png_max_side, light.fits,
                                        with_layout=False)[0].png

        with limits.located_at(task.script, None):
            png, _ = isolate.run_isolated(job, task.timeout)
    chapter = graphviz.Drawing(light.svg, None if for_slides else png, light.warnings,
                               light.layout)
    slide = graphviz.Drawing(light.slide_svg or b"", png, ()) if for_slides else None
    return _finished_variant(task, LIGHT, captured, chapter, light.svg, light.warnings,
                             light.output, light.fits, slide, light.slide_svg, light.slide_layout)


def _render_variant(task: FigureTask, theme: str, icon_filter: IconTiles | None,
                    light: LightDrawing) -> Variant:
    """Capture the script in `theme` and draw it in a child as the light variant was laid out;
    post-process what it drew."""
    captured, drawing, fits, slide, _, output = _drawn_in_child(
        task, theme, icon_filter, _png_max_side(task), light.fits, light)
    svg = _postprocessed(task, theme, captured, drawing.svg)
    slide_svg = (_postprocessed(task, theme, captured, slide.svg, "slide")
                 if slide is not None else None)
    return _finished_variant(task, theme, captured, drawing, svg, drawing.messages, output,
                             fits, slide, slide_svg, {})


def _fitted(task: FigureTask, captured: CapturedFigure, drawing: Any, png_max_side: int | None,
            ) -> tuple[Fits, Any, SlidesToTry | None]:
    """Choose and draw the chapter's layout, and say whether to draw a layout for the slides.

    Return the layouts chosen so far, the chapter's drawing (the author's `drawing` unless
    another reads better in the column), and the slide layout worth drawing, if any: it is
    drawn and judged after the light SVG is shown (`_slides_drawn`). Each layout is chosen by
    estimate, drawn, and kept only where the drawing proves better than the one it would
    replace.
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
    # Its counts are read only where another layout is drawn: most figures never need them.
    as_drawn = labels.TextTroubles(figure.layout)

    chapter_fit = fitting.AS_DRAWN
    author = _shape(drawing, True)
    # The best estimates in turn, a few at most: one that reads better may strike words out.
    for choice in fitting.ranked(figure, chapter_room, _shape(drawing))[:fitting.TRIED]:
        fitted = _tried(captured, png_max_side, lines, choice.fit,
                        keep_positions=_drawn_again(task))
        if _kept(figure, as_drawn, fitted, chapter_room, author, counted=True):
            chapter_fit, drawing = choice.fit, fitted
            break
    shown = _shape(drawing)
    if slide_room.text_size(shown.width, shown.height, figure.smallest_text) >= slide_room.minimum:
        return Fits(chapter_fit, None), drawing, None
    best = fitting.choose(figure, slide_room, shown)
    slide_fit = best.fit
    now = slide_room.text_size(shown.width, shown.height, figure.smallest_text)
    unread = Fits(chapter_fit, None, slide_readable=False)
    if (slide_fit == chapter_fit or slide_fit.as_drawn
            or (best.text < slide_room.minimum * fitting.WORTH_A_SLIDE_LAYOUT
                and best.text < now * fitting.WORTH_A_SLIDE_LAYOUT_GROWTH)):
        return unread, drawing, None
    return unread, drawing, SlidesToTry(slide_fit, figure, shown)


@dataclass(frozen=True)
class SlidesToTry:
    """A layout for the slides that fitting estimated worth drawing, and what it is judged by.

    Drawing it costs as much again as the figure: it is drawn after the light SVG is shown.
    """

    fit: Fit
    figure: fitting.Figure  # the author's laid-out graph, as fitting read it
    shown: fitting.Shape  # the chapter's drawing, which the slides show unless this is better


def _slides_drawn(captured: CapturedFigure, png_max_side: int | None,
                  trying: SlidesToTry, keep_positions: bool = False) -> Drawing | None:
    """Draw the slides' layout `trying` names; return it where it proves better, else None."""
    from course_assets.layout import fitting, labels
    from course_assets.render import graphviz

    slide_room = fitting.rooms()[1]

    def unreadable_whole(svg: bytes) -> bool:
        # The slides' layout is read again only where it is shown zoomed.
        width, height = graphviz.svg_points(svg)
        return slide_room.text_size(width * fitting.PX_PER_PT, height * fitting.PX_PER_PT,
                                    trying.figure.smallest_text) < slide_room.minimum

    slide = _tried(captured, png_max_side, captured.node_lines(), trying.fit,
                   with_layout=unreadable_whole, keep_positions=keep_positions)
    as_drawn = labels.TextTroubles(trying.figure.layout)
    return slide if _kept(trying.figure, as_drawn, slide, slide_room, trying.shown) else None


def _tried(captured: CapturedFigure, png_max_side: int | None,
           lines: Mapping[str, int | None], fit: Fit, **options: Any) -> Any:
    """Draw the graph in another layout; None where Graphviz refuses it (it is not kept)."""
    from course_assets.render import graphviz

    try:
        return graphviz.draw(captured.dot_source, png_max_side, lines, fit.apply, **options)
    except FigureError:
        return None


def _shape(drawn: Any, counted: bool = False) -> fitting.Shape:
    from course_assets.layout import fitting
    from course_assets.render import graphviz

    width, height = graphviz.svg_points(drawn.svg)
    # Crossings are counted where two read layouts are compared (the chapter's drawings).
    crossings = fitting.crossings(drawn.layout) if counted and drawn.layout else 0
    return fitting.Shape(width * fitting.PX_PER_PT, height * fitting.PX_PER_PT, crossings)


def _kept(figure: fitting.Figure, as_drawn: TextTroubles, drawn: Any,
          room: fitting.Room, old: fitting.Shape, counted: bool = False) -> bool:
    """Say whether a drawing in another layout is the one to show in `room` instead of `old`.

    Better to read, and no line through more words, no more texts piled up or away from their
    edges than the author's layout (rows can stack labels): the build's geometry promise holds
    for a fitted layout too.
    """
    from course_assets.layout import fitting, labels

    if drawn is None or not fitting.improves(figure, room, _shape(drawn, counted), old):
        return False
    if not drawn.layout:
        return True
    troubles = labels.TextTroubles(drawn.layout)
    return (troubles.lines_through <= as_drawn.lines_through
            and troubles.astray <= as_drawn.astray)


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

    return_freed_memory()
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
    _import_what_children_import()


@functools.cache
def _import_what_children_import() -> None:
    """Import, once per worker, the modules each figure's forked child would import anew.

    A module first imported in a child is imported again in the next figure's child: Pillow
    (for the icons' sizes), fitting and the lint's rooms cost about 30 ms a figure that way.
    """
    # Imported for their side effect alone (each is then in sys.modules), hence the noqa.
    import pkgutil  # noqa: F401 - runpy imports it when a script is run
    import runpy  # noqa: F401 - runs each script
    with contextlib.suppress(ImportError):  # not on Windows
        import resource  # noqa: F401 - each child limits its memory with it

    from PIL import Image, ImageDraw, PngImagePlugin  # noqa: F401 - icon sizes, dark tiles

    from course_assets.figlint import placement, reader  # noqa: F401 - fitting's checks, the lint
    from course_assets.layout import fitting
    from course_assets.state import files  # noqa: F401 - the dark tiles are written with it

    fitting.rooms()  # imports the lint's report, and the settings it reads


def return_freed_memory() -> None:
    """Have the C library give every large buffer back to the system as soon as it is freed.

    A PNG is painted and encoded in tens of megabytes, and the build's own process receives
    every figure's files (pickled, in the pool's result thread). By default glibc raises its
    threshold for mapping large blocks after one is freed, so later buffers come from a heap
    that keeps what it once held: in the workers (half-shared with the child each forks next)
    that was 40 to 60 MB of a build's peak memory, in the build's process about 16 MB.
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
