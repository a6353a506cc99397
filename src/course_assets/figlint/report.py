"""Turn what the figure lint recorded into problems: findings, and text too small where shown.

Works from the manifest's figure records alone, so `check` reports the same as `build` without
rendering anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from course_assets.config import Settings
from course_assets.errors import Problem, Severity
from course_assets.figlint.findings import LINT_PREFIX, Finding
from course_assets.state.manifest import ChapterRecord, FigureRecord, Manifest
from course_assets.state.sources import DIAGRAM_CALL

# Where figures are shown, in CSS px. GitHub shows a chapter's Markdown in a column about
# 880 px wide (its 1012 px page less padding); an image is never wider than its column.
CHAPTER_COLUMN = 880
# A deck slide is 1280 x 720; below a `##` heading a figure has 1136 x 534 px to itself...
SLIDE_ROOM = (1136, 534)
# ...less what the section's text takes: at 26 px, about 75 characters a line of 35 px, and a
# 14 px gap after each paragraph or list item; the figure keeps at least 214 px (35 %).
# (Measured against the HTML deck in Chromium to within about 25 px.)
SLIDE_TEXT_LINE = (75, 35.0)
SLIDE_TEXT_GAP = 14.0
SLIDE_FIGURE_MINIMUM = 214
# The deck grows a small figure to at most twice its size.
SLIDE_GROWTH = 2.0
# The smallest text a reader can read, in CSS px, in a chapter and on a projected slide.
CHAPTER_MINIMUM = 9.0
SLIDE_MINIMUM = 14.0

WIDTH = re.compile(r"""width\s*=\s*["']?(?P<number>[0-9]+)(?P<unit>px|%)?""")


@dataclass(frozen=True)
class Placement:
    """One place a chapter shows a figure: its line, width= argument and slide."""

    name: str
    line: int
    width: str | None
    heading: str | None
    section_has_text: bool
    # The height (CSS px) the section's text takes on its slide, estimated.
    text_height: float = 0.0

    @property
    def slide_room(self) -> tuple[int, int]:
        """Return the room the figure has on its slide, in CSS px."""
        left = SLIDE_ROOM[1] - self.text_height
        return (SLIDE_ROOM[0], int(max(SLIDE_FIGURE_MINIMUM, left)))


def readability_problems(settings: Settings, figures: Mapping[str, FigureRecord],
                         chapters: Mapping[str, ChapterRecord], strict: bool) -> list[Problem]:
    """Return each figure's lint findings and each place a figure's text is too small."""
    problems: list[Problem] = []
    for name, record in sorted(figures.items()):
        script = settings.root / record.script
        problems += [Finding.from_json(f).problem(script, strict) for f in record.findings]
    for name, chapter in sorted(chapters.items()):
        source = settings.root / chapter.source
        try:
            text = source.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            continue
        for placement in placements(text):
            shown = figures.get(placement.name)
            if shown is None or not shown.sizes.get("width"):
                continue
            problems += _size_problems(source, placement, shown, strict)
    return problems


def on_what_changed(settings: Settings, problems: list[Problem], old: Manifest,
                    figures: dict[str, FigureRecord], chapters: dict[str, ChapterRecord],
                    made_figures: set[str], made_chapters: set[str]) -> list[Problem]:
    """Keep the lint warnings of the figures and chapters this build made; count the rest.

    An author who edits one figure reads about that figure, not again about every other one.
    What this build made counts as changed even when it came out as before (`build --force`).
    """
    changed = {settings.root / r.script for n, r in figures.items()
               if n in made_figures or old.figures.get(n) != r}
    changed |= {settings.root / r.source for n, r in chapters.items()
                if n in made_chapters or old.chapters.get(n) != r}
    shown = [p for p in problems if p.path in changed]
    left = len(problems) - len(shown)
    if left:
        shown.append(Problem(None, None, f"{left} more figure lint warning"
                             f"{'' if left == 1 else 's'} on figures and chapters this build "
                             "left as they were: `course-assets check` lists them",
                             Severity.WARNING))
    return shown


def placements(text: str) -> Iterator[Placement]:
    """Return every `diagram()` call of a chapter source, with its `##` section."""
    heading: str | None = None
    sections: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in text.splitlines():
        if line.startswith("## "):
            heading = line[3:].strip()
            sections.append((heading, []))
        sections[-1][1].append(line)
    number = 0
    for heading, lines in sections:
        prose = [line for line in lines if line.strip() and not line.startswith("#")
                 and not DIAGRAM_CALL.search(line)]
        height = _text_height(prose)
        for line in lines:
            number += 1
            for call in DIAGRAM_CALL.finditer(line):
                width = WIDTH.search(call.group("rest"))
                yield Placement(call.group("name"), number,
                                (width.group("number") + (width.group("unit") or ""))
                                if width else None, heading, bool(prose), height)


def _text_height(prose: list[str]) -> float:
    """Estimate the height a section's text takes on a slide: lines and paragraph gaps."""
    blocks, current = [], ""
    for line in prose:
        starts_item = re.match(r"\s*([-*+]|[0-9]+[.)])\s", line) is not None
        if starts_item and current:
            blocks.append(current)
            current = ""
        current += " " + line.strip()
    if current:
        blocks.append(current)
    per_line, line_height = SLIDE_TEXT_LINE
    lines = sum(-(-len(block.strip()) // per_line) for block in blocks)
    return lines * line_height + len(blocks) * SLIDE_TEXT_GAP


def chapter_text_size(sizes: Mapping[str, float], width: str | None) -> float:
    """Return the smallest text of a figure, in CSS px, as a chapter shows it."""
    own = float(sizes["width"])
    if width is None:
        shown = min(own, CHAPTER_COLUMN)
    elif width.endswith("%"):
        shown = CHAPTER_COLUMN * float(width[:-1]) / 100
    else:
        shown = min(float(width.removesuffix("px")), CHAPTER_COLUMN)
    return float(sizes["smallest_text"]) * shown / own


def slide_text_size(sizes: Mapping[str, float], room: tuple[int, int]) -> float:
    """Return the smallest text of a figure, in CSS px, as a slide with `room` shows it."""
    width, height = float(sizes["width"]), float(sizes["height"])
    scale = min(room[0] / width, room[1] / height, SLIDE_GROWTH)
    return float(sizes["smallest_text"]) * scale


def slide_fix(sizes: Mapping[str, float], room: tuple[int, int]) -> str:
    """Return the documented fix for a figure whose text is too small on its slide.

    A figure on a slide with text gets its own slide when that alone makes its text readable;
    otherwise it is turned (to the direction it does not have) when its box turned round would
    be readable; otherwise a figure with two or more top-level clusters that is too big to fit,
    longer at a readable size than the slide is wide, is split into one figure per cluster;
    otherwise its text must grow or the figure shrink.
    """
    if room != SLIDE_ROOM and slide_text_size(sizes, SLIDE_ROOM) >= SLIDE_MINIMUM:
        return ("give it a slide of its own: move it into a `##` section with no other text "
                f"(its text would be {slide_text_size(sizes, SLIDE_ROOM):.0f} px)")
    # Turning the rank direction roughly swaps a figure's width and height.
    turned = {**sizes, "width": sizes["height"], "height": sizes["width"]}
    if slide_text_size(turned, room) >= SLIDE_MINIMUM:
        across = sizes.get("left_to_right")
        if across is None:  # recorded before the direction was: judge by its shape
            across = float(float(sizes["width"]) >= float(sizes["height"]))
        other = "TB" if across else "LR"
        return (f'turn it: direction="{other}" (its text would be about '
                f"{slide_text_size(turned, room):.0f} px)")
    clusters = int(sizes.get("clusters", 0))
    readable_scale = SLIDE_MINIMUM / float(sizes["smallest_text"])
    longest = max(float(sizes["width"]), float(sizes["height"])) * readable_scale
    if clusters >= 2 and longest > SLIDE_ROOM[0]:
        return (f"split it by cluster: at a readable size it is {longest:.0f} px long, longer "
                f"than a slide is wide, so draw each of its {clusters} top-level clusters as a "
                "figure of its own, one per slide")
    return ("make its smallest text larger (fontsize), its labels shorter, or the figure "
            'more compact (graph_attr "nodesep" and "ranksep")')


def _size_problems(source: Path, placement: Placement, record: FigureRecord,
                   strict: bool) -> list[Problem]:
    severity = Severity.ERROR if strict else Severity.WARNING
    found = []
    shown = chapter_text_size(record.sizes, placement.width)
    if shown < CHAPTER_MINIMUM:
        how = f"at width={placement.width}" if placement.width else "in the chapter column"
        found.append(Problem(source, placement.line,
            f"{LINT_PREFIX}[text-size]: figure {placement.name!r} {how} shows its smallest text at {shown:.1f} px "
            f"(at least {CHAPTER_MINIMUM:g} px): give it a larger width, or make its text larger",
            severity))
    room = placement.slide_room
    sizes = _slide_sizes(record)
    on_slide = slide_text_size(sizes, room)
    if len(record.fit.get("views", ())) > 1:
        # Shown on zoomed slides too: judged by the text each shows best.
        on_slide = float(record.fit.get("slide_text", on_slide))
    if on_slide < SLIDE_MINIMUM:
        slide = f"slide {placement.heading!r}" if placement.heading else "the title slide"
        found.append(Problem(source, placement.line,
            f"{LINT_PREFIX}[text-size]: figure {placement.name!r} on {slide} of the HTML deck shows its smallest text "
            f"at {on_slide:.1f} px (at least {SLIDE_MINIMUM:g} px): "
            f"{slide_fix(sizes, room)}", severity))
    return found


def _slide_sizes(record: FigureRecord) -> dict[str, float]:
    """Return the sizes a slide shows the figure at: its slide layout's, where it has one."""
    size = record.fit.get("size")
    if not size:
        return dict(record.sizes)
    return {**record.sizes, "width": float(size[0]), "height": float(size[1])}
