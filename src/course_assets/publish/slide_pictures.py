"""Which picture(s) a figure of a built chapter shows on a PowerPoint slide.

One function decides it, `slide_views`; today it gives one view per image (the whole figure),
in the deck's theme. Zoomed views of one figure (a crop box each) slot in here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from course_assets.outputs import OutputPaths
from course_assets.publish.assets import resolve
from course_assets.publish.deck_figures import SlideView as FittedView
from course_assets.publish.deck_figures import slide_views as fitted_views
from course_assets.publish.markdown import Reference
from course_assets.publish.sections import Block
from course_assets.state.manifest import FigureRecord

RASTER_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif")


@dataclass(frozen=True)
class Crop:
    """The part of a picture a view shows: what it cuts off each side, as fractions of it."""

    left: float = 0.0
    top: float = 0.0
    right: float = 0.0
    bottom: float = 0.0


@dataclass(frozen=True)
class SlideView:
    """One picture on a slide: its files (course-relative), what part of it, and its words."""

    raster: str  # the PNG (a built figure's fallback) or the chapter's own raster image
    svg: str | None  # the built figure's SVG, drawn where the slide tool can
    crop: Crop | None
    description: str  # alt text
    figure: str | None  # the built figure's name, when it is one
    outline: str | None  # the figure's text outline, for the speaker notes


# The signature of `slide_views`, for a deck told to choose its pictures another way.
ViewChooser = Callable[[Block, str, bool, OutputPaths, dict[str, FigureRecord]], list[SlideView]]


def slide_views(block: Block, chapter_path: str, dark: bool, paths: OutputPaths,
                figures: dict[str, FigureRecord]) -> list[SlideView]:
    """Return the pictures a figure block shows on a slide of the light or dark deck.

    A built figure shows its SVG with its PNG as the fallback; a raster image of the chapter
    shows itself; another SVG shows with the PNG of its name beside it as the fallback; an
    image off the course shows none.
    """
    views = []
    for image, path in _resolved(block, chapter_path):
        pure = PurePosixPath(path)
        name = _built_figure(pure, paths, figures)
        if name is not None:
            # The figure whole, in the layout fitted to slides where it has one.
            whole = fitted_views(paths, name, figures[name])[0]
            views.append(_figure_view(whole, None, dark, paths, name, figures[name], image.alt))
        elif pure.suffix.lower() in RASTER_SUFFIXES:
            views.append(SlideView(path, None, None, image.alt, None, None))
        elif pure.suffix.lower() == ".svg":
            # The chapter's own SVG, drawn where the slide tool can, over the PNG kept beside
            # it (the deck warns when there is none).
            views.append(SlideView(pure.with_suffix(".png").as_posix(), path, None, image.alt,
                                   None, None))
    return views


def zoomed_views(block: Block, chapter_path: str, dark: bool, paths: OutputPaths,
                 figures: dict[str, FigureRecord]) -> list[tuple[str, SlideView]]:
    """Return the zoomed slides of a figure block's figures, after their overview: caption, view.

    They are the HTML deck's zoomed slides, cropped from the same picture by the same box.
    """
    found = []
    for image, path in _resolved(block, chapter_path):
        name = _built_figure(PurePosixPath(path), paths, figures)
        if name is None:
            continue
        for view in fitted_views(paths, name, figures[name])[1:]:
            fractions = view.crop_fractions()
            if fractions is not None:
                found.append((view.caption, _figure_view(view, Crop(*fractions), dark, paths,
                                                         name, figures[name], image.alt)))
    return found


def _resolved(block: Block, chapter_path: str) -> Iterator[tuple[Reference, str]]:
    for image in block.images:
        path = resolve(image.target, chapter_path)
        if path is not None:
            yield image, path


def _built_figure(pure: PurePosixPath, paths: OutputPaths,
                  figures: dict[str, FigureRecord]) -> str | None:
    """Return the name of the built figure an image shows, if it shows one."""
    name = pure.name.removesuffix(".svg").removesuffix(".dark")
    figures_dir = PurePosixPath(paths.relative(paths.figures_dir))
    if pure.parent == figures_dir and pure.suffix == ".svg" and name in figures:
        return name
    return None


def _figure_view(fitted: FittedView, crop: Crop | None, dark: bool, paths: OutputPaths,
                 name: str, record: FigureRecord, alt: str) -> SlideView:
    use_dark = dark and "dark" in paths.formats
    svg = (fitted.dark_svg if use_dark else None) or fitted.svg
    png = (fitted.dark_png if use_dark else fitted.png) or svg.removesuffix(".svg") + ".png"
    return SlideView(png, svg, crop, record.description or alt, name, paths.figure_outline(name))
