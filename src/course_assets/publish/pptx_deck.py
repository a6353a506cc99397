"""Write a chapter's slides as a PowerPoint deck: editable text, and figures as native SVG.

The slides are those of the HTML deck (`sections.split_slides`). Each figure is a picture whose
PNG is the fallback and whose SVG rides in PowerPoint's SVG extension (`asvg:svgBlip`), which
PowerPoint 2019 and later and Keynote draw; other readers show the PNG. The package's bytes
depend on the chapter and figures alone: no clock, no random id, no zlib build.
"""

from __future__ import annotations

import copy
import functools
import io
import itertools
import math
import posixpath
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from markdown_it.token import Token

from course_assets.errors import Problem, Severity
from course_assets.outputs import OutputPaths
from course_assets.publish import markdown
from course_assets.publish.assets import Reader
from course_assets.publish.sections import Block, Slide
from course_assets.publish.slide_pictures import SlideView, ViewChooser, slide_views, zoomed_views
from course_assets.state.manifest import FigureRecord

if TYPE_CHECKING:
    from pptx.slide import Slide as PptxSlide
    from pptx.text.text import _Paragraph
    from pptx.util import Length

# A slide is 1280 x 720 px, as in the HTML deck; 1 px is 1/96 inch, 9525 EMU, 0.75 point.
SLIDE_PX = (1280, 720)
EMU_PER_PX = 9525
PT_PER_PX = 0.75
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 72, 44, 28
GAP = 14
BODY_PX, BODY_MIN_PX = 26, 14  # the HTML deck's body size, and the least it shrinks to
HEADING_PX, TITLE_PX, SUBHEADING_PX = 42, 56, 32
# DejaVu Sans is wide: an average character of prose is about 0.55 em.
CHAR_EM = 0.55
LINE_SPACING = 1.2
# Text takes at most this share of a slide's body when the slide shows a figure.
TEXT_SHARE_WITH_FIGURE = 0.6
# A figure is shown at most twice its own size, as the HTML deck shows it: a small one stays small.
MAX_ZOOM = 2.0

SVG_EXTENSION_URI = "{96DAC541-7B7A-43D3-8B79-37D633B846F1}"
SVG_NAMESPACE = "http://schemas.microsoft.com/office/drawing/2016/SVG/main"
DRAWING_NAMESPACE = "http://schemas.openxmlformats.org/drawingml/2006/main"
CONTENT_TYPES_NAMESPACE = "http://schemas.openxmlformats.org/package/2006/content-types"
# r:embed, by which a picture names its image's relationship, and r:id, by which others do.
EMBED_ATTRIBUTE = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}embed"
ID_ATTRIBUTE = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
EXTENSIONS_TAG = "{http://schemas.openxmlformats.org/presentationml/2006/main}extLst"
SLIDE_ID_TAG = "{http://schemas.openxmlformats.org/presentationml/2006/main}sldId"
RELATIONSHIPS_NAMESPACE = "http://schemas.openxmlformats.org/package/2006/relationships"
# Named with its PANOSE class and pitch family, so a reader without it picks a sans-serif
# (Arial, Helvetica, Calibri) and, for code, a fixed-width face.
FONT = ("DejaVu Sans", "020B0603030804020204", "34")
MONO_FONT = ("DejaVu Sans Mono", "020B0609030804020204", "49")
# Characters XML cannot hold, pasted into a chapter: a form feed or vertical tab is a space;
# the rest (escape codes, U+FFFE and U+FFFF among them) are dropped; tabs and newlines stay.
CONTROL_CHARACTERS = {code: (" " if chr(code) in "\x0b\x0c" else None)
                      for code in [*range(0x09), *range(0x0b, 0x20), 0xFFFE, 0xFFFF]}
CONTROL_PATTERN = re.compile("[%s]" % "".join(re.escape(chr(code)) for code in CONTROL_CHARACTERS))
# What an XML attribute's text cannot hold (lxml refuses it), and what lxml escapes in one.
NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
ATTRIBUTE_SPECIAL = re.compile('[&<>"\t\n\r]')
ATTRIBUTE_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                                   "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"})
NORM_AUTOFIT = f"{{{DRAWING_NAMESPACE}}}normAutofit"
# What lxml escapes in an element's text.
TEXT_SPECIAL = re.compile("[&<>]")
TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# The declaration lxml writes before a part's XML, as python-pptx serialises a part.
XML_DECLARATION = "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
# The zip epoch: every entry gets it, and the package's dates are this day too.
FIXED_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Palette:
    """A deck's colours, as the HTML deck's light and dark themes have them."""

    paper: str
    ink: str
    muted: str
    accent: str


LIGHT = Palette(paper="FFFFFF", ink="1F2328", muted="59636E", accent="0969DA")
DARK = Palette(paper="0D1117", ink="E6EDF3", muted="9198A1", accent="4493F8")


@dataclass(frozen=True)
class Run:
    """A stretch of text with one look."""

    text: str
    bold: bool = False
    italic: bool = False
    code: bool = False
    link: str | None = None
    line_break: bool = False


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of a text box: a body paragraph, list item, heading, code line or quote."""

    runs: tuple[Run, ...]
    kind: str = "body"  # body, heading (### and below), code, quote
    level: int = 0
    bullet: str | None = None  # "bullet", or an ordered list's first number as text
    continued: bool = False  # a later paragraph of the same list item: indented, no bullet

    @property
    def text(self) -> str:
        return "".join("\n" if run.line_break else run.text for run in self.runs)


@dataclass(frozen=True)
class PptxDeck:
    """A deck's bytes, and what stopped a picture from being shown."""

    data: bytes
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class _Package:
    """What one deck being written shares between its slides (its collections grow)."""

    presentation: Any
    palette: Palette
    read: Reader
    layout: Any  # the slides' layout: the blank one
    layout_placeholders: bool  # whether it has any to copy
    svg_parts: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    files: dict[str, bytes | None] = field(default_factory=dict)
    # The deck's notes master, once its first notes page is made.
    notes_master: list[Any] = field(default_factory=list)
    # Each slide's relationships to image parts, by the slide's part's and the image part's id.
    slide_images: dict[tuple[int, int], str] = field(default_factory=dict)
    # The deck's raster image parts by their size in bytes (one per content), and by the file
    # each was first made of: a figure shown zoomed is on several slides.
    image_parts: dict[int, list[Any]] = field(default_factory=dict)
    raster_parts: dict[str, Any] = field(default_factory=dict)
    # Each picture file's size in px.
    sizes: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    # The properties elements of the paragraph and run looks set so far, to copy.
    paragraph_looks: dict[tuple[object, ...], Any] = field(default_factory=dict)
    run_looks: dict[tuple[object, ...], Any] = field(default_factory=dict)
    # The first slide's background (the theme's paper) and accent rule's look (empty until
    # then): the others have copies of them.
    paper: list[Any] = field(default_factory=list)
    rule_look: list[Any] = field(default_factory=list)
    # Each figure's outline as notes.
    outlines: dict[str, list[str]] = field(default_factory=dict)
    # The numbers of its next notes page and image part, as python-pptx numbers them: no gap.
    notes_numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    image_numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def file(self, path: str) -> bytes | None:
        """Return an output's bytes, read once however often a layout asks."""
        if path not in self.files:
            self.files[path] = self.read(path)
        return self.files[path]


def preload() -> None:
    """Import what decks are made with and load the blank deck, for forked deck makers to share."""
    import pptx.enum.shapes  # noqa: F401
    import pptx.enum.text  # noqa: F401
    import pptx.opc.serialized  # noqa: F401
    import pptx.parts.image  # noqa: F401
    import pptx.parts.slide  # noqa: F401
    import pptx.util  # noqa: F401
    from PIL import Image  # noqa: F401
    from pptx import Presentation  # noqa: F401
    from pptx.dml.color import RGBColor  # noqa: F401

    _notes_page_text()
    _blank_slide_max_id()
    for kind in ("text box", "rectangle", "picture"):
        _shape_model(kind)


@functools.cache
def _blank_presentation() -> Any:
    """Return python-pptx's default presentation, as it loads it: never changed, only copied."""
    from pptx import Presentation

    return Presentation()


def pptx_deck(slides: list[Slide], title: str, chapter_path: str, dark: bool,
              paths: OutputPaths, figures: dict[str, FigureRecord], read: Reader,
              views_of: ViewChooser = slide_views) -> PptxDeck:
    """Return the PowerPoint deck of `slides`, light or dark, as reproducible bytes.

    `views_of` says which pictures each figure block shows (see `slide_pictures`).
    """
    # A copy of python-pptx's blank presentation, which it would read and parse again.
    presentation = copy.deepcopy(_blank_presentation())
    _drop_thumbnail(presentation)
    presentation.slide_width = _emu(SLIDE_PX[0])
    presentation.slide_height = _emu(SLIDE_PX[1])
    assert not len(presentation.slides), "slides are numbered on from the blank deck's none"
    layout = presentation.slide_layouts[6]
    layout_placeholders = any(True for _ in layout.iter_cloneable_placeholders())
    package = _Package(presentation, DARK if dark else LIGHT, read, layout, layout_placeholders)
    _set_theme(presentation, package.palette)
    for slide in map(_pictures_apart, slides):
        views = {id(block): views_of(block, chapter_path, dark, paths, figures)
                 for block in slide.blocks if block.figure}
        _add_slide(package, slide, title, views)
        # A figure no layout makes readable whole is then shown zoomed, a part a slide, as the
        # HTML deck shows it.
        for block in slide.blocks:
            if not block.figure:
                continue
            for caption, view in zoomed_views(block, chapter_path, dark, paths, figures):
                zoomed = Slide(f"{slide.heading or title}: {caption}", [block])
                _add_slide(package, zoomed, title, {id(block): [view]})
    # Every notes page is numbered from one, on: the number the next would take, less one.
    _set_properties(presentation, title, next(package.notes_numbers) - 1)
    problems = tuple(Problem(paths.absolute(chapter_path), None,
                             f"the PowerPoint deck shows no picture for {path}: it is missing "
                             "or unreadable",
                             Severity.WARNING)
                     for path in dict.fromkeys(package.missing))
    return PptxDeck(_package_bytes(presentation), problems)


def _pictures_apart(slide: Slide) -> Slide:
    """Give each block's words and images their own place: text boxes hold no pictures.

    A text block that shows images (a figure in a list item) is followed by those images; an
    HTML figure with words (a caption) by those words.
    """
    blocks = []
    for block in slide.blocks:
        blocks.append(block)
        if block.figure and block.tokens[0].type == "html_block" \
                and _html_text(block.tokens[0].content):
            # An HTML figure with words of its own (a caption): they follow the picture.
            blocks.append(Block(block.tokens, False))
        # An image off the course shows nothing in a deck: it makes no figure of its own.
        if not block.figure and any(not markdown.is_external(image.target)
                                    for image in block.images):
            blocks.append(Block(block.tokens, True))
    return Slide(slide.heading, blocks)


def _add_slide(package: _Package, slide: Slide, title: str,
               views: dict[int, list[SlideView]]) -> None:
    """Add one slide: paper, its heading (and rule), its text and figures, and its notes."""
    palette = package.palette
    added = _new_slide(package)
    # Every shape is added through this slide's shapes: python-pptx may count their ids on
    # rather than search the slide for the highest at each one (`turbo_add_enabled`). A new
    # slide of the blank layout has its blank ids, which need no search either.
    shapes: Any = added.shapes
    if package.layout_placeholders:
        shapes.turbo_add_enabled = True
    else:
        shapes._cached_max_shape_id = _blank_slide_max_id()  # noqa: SLF001
    if package.paper:
        added._element.cSld.insert(0, copy.deepcopy(package.paper[0]))  # noqa: SLF001
    else:
        fill = added.background.fill
        fill.solid()
        fill.fore_color.rgb = _rgb(palette.paper)
        package.paper.append(copy.deepcopy(added._element.cSld.bg))  # noqa: SLF001
    blocks = list(slide.blocks)
    heading_px = HEADING_PX
    heading = slide.heading
    opening = blocks[0].tokens[0] if blocks else None
    if opening is not None and opening.type == "heading_open" and opening.tag in ("h1", "h2"):
        first = blocks.pop(0)
        heading_px = TITLE_PX if first.tokens[0].tag == "h1" else HEADING_PX
        heading = markdown.plain_text(first.tokens[1])
    elif heading is None:
        heading, heading_px = title, TITLE_PX
    groups = _groups(blocks)
    width = SLIDE_PX[0] - 2 * MARGIN_X
    lonely_title = slide.heading is None and not groups
    top = (SLIDE_PX[1] - heading_px * 3) // 2 if lonely_title else MARGIN_TOP
    # The slide's own heading: set at its size, not scaled as a heading inside the text is.
    heading_paragraphs = [Paragraph((Run(heading, bold=True),))]
    heading_height = _text_height(heading_paragraphs, heading_px, width)
    box = _text_box(package, added, MARGIN_X, top, width, heading_height)
    _fill_text(package, box, heading_paragraphs, heading_px)
    top += heading_height
    if slide.heading is not None:
        # The accent rule under a section's heading, as in the HTML deck.
        rule = _add_shape(added, "rectangle", MARGIN_X, top + 4, width, 3)
        properties = rule._element.spPr  # noqa: SLF001 - its look is copied, with no API
        if package.rule_look:
            properties.extend(copy.deepcopy(package.rule_look))
        else:
            shape_only = len(properties)  # its place and geometry; what follows is its look
            rule.fill.solid()
            rule.fill.fore_color.rgb = _rgb(palette.accent)
            rule.line.fill.background()
            rule.shadow.inherit = False
            package.rule_look.extend(copy.deepcopy(list(properties)[shape_only:]))
        top += 7
    top += GAP + 6
    _lay_out_body(package, added, groups, views, top)
    _write_notes(package, added, groups, views)


def _new_slide(package: _Package) -> PptxSlide:
    """Add a slide of the blank layout, as `slides.add_slide` does.

    It has no placeholder to copy: python-pptx would look for them, shape by shape, each time.
    Nor does it parse the new slide's XML, look for the next free slide id and part name, or
    search the presentation's relationships for one to this new slide: a deck's slides are
    all added here, numbered on from the template's none.
    """
    from lxml import etree
    from pptx.opc.constants import CONTENT_TYPE, RELATIONSHIP_TYPE
    from pptx.opc.packuri import PackURI
    from pptx.parts.slide import SlidePart

    presentation = package.presentation
    layout = package.layout
    if package.layout_placeholders:
        return presentation.slides.add_slide(layout)  # type: ignore[no-any-return]
    slide_ids = presentation.slides._sldIdLst  # noqa: SLF001 - add_slide's own steps, below
    number = len(slide_ids) + 1
    part = SlidePart(PackURI(f"/ppt/slides/slide{number}.xml"), CONTENT_TYPE.PML_SLIDE,
                     presentation.part.package, copy.deepcopy(_blank_slide()))
    part.relate_to(layout.part, RELATIONSHIP_TYPE.SLIDE_LAYOUT)
    rel_id = presentation.part._rels._add_relationship(  # noqa: SLF001
        RELATIONSHIP_TYPE.SLIDE, part)
    # Slide ids run from 256, one more than the highest: the template has no slide. Added last,
    # its id and then its relationship's, as `add_sldId` adds it.
    etree.SubElement(slide_ids, SLIDE_ID_TAG, {"id": str(255 + number), ID_ATTRIBUTE: rel_id})
    return part.slide  # type: ignore[no-any-return]


@functools.cache
def _blank_slide_max_id() -> int:
    """Return the highest id in a new slide, from which its shapes' ids count on."""
    return int(copy.deepcopy(_blank_slide()).cSld.spTree.max_shape_id)


@functools.cache
def _blank_slide() -> Any:
    """Return the element python-pptx makes a new slide of: parsed once, then copied."""
    from pptx.oxml.slide import CT_Slide

    return CT_Slide.new()


def _groups(blocks: list[Block]) -> list[tuple[str, list[Block]]]:
    """Split a slide's blocks into runs of text blocks and single figures, in order."""
    groups: list[tuple[str, list[Block]]] = []
    for block in blocks:
        kind = "figure" if block.figure else "text"
        if kind == "text" and groups and groups[-1][0] == "text":
            groups[-1][1].append(block)
        else:
            groups.append((kind, [block]))
    return groups


def _lay_out_body(package: _Package, slide: PptxSlide, groups: list[tuple[str, list[Block]]],
                  views: dict[int, list[SlideView]], top: int) -> None:
    """Stack the slide's text and figures below its heading, figures taking what text leaves."""
    width = SLIDE_PX[0] - 2 * MARGIN_X
    room = SLIDE_PX[1] - MARGIN_BOTTOM - top
    texts = [paragraphs_of(block.tokens) for kind, blocks in groups if kind == "text"
             for block in [_joined(blocks)]]
    figure_groups = [views[id(blocks[0])] for kind, blocks in groups if kind == "figure"]
    shown = [group for group in figure_groups if group]
    gaps = GAP * max(0, len(groups) - 1)
    # Figures need no more height than they fill at the full width: a wide one leaves the text
    # more than its share.
    natural = [_natural_height(package, group, width) for group in shown]
    text_room = room - gaps
    if shown:
        text_room = max(int(room * TEXT_SHARE_WITH_FIGURE), room - gaps - sum(natural))
    size = _body_size(texts, width, text_room)
    heights = [_text_height(paragraphs, size, width) for paragraphs in texts]
    needed = sum(heights)
    font_scale = 1.0
    if needed > text_room > 0:
        # Too much text even at the least size: its boxes end on the slide, and readers shrink
        # it to fit them (PowerPoint by the font scale; a text's height goes as its size squared).
        heights = [height * text_room // needed for height in heights]
        font_scale = math.sqrt(text_room / needed)
    left = room - gaps - sum(heights)
    if sum(natural) <= left:
        slack = (left - sum(natural)) // max(1, len(natural))
        shares = [need + slack for need in natural]
    else:
        shares = [left * need // max(1, sum(natural)) for need in natural]
    text_index = figure_index = 0
    for kind, blocks in groups:
        if kind == "text":
            box = _text_box(package, slide, MARGIN_X, top, width, heights[text_index],
                            font_scale)
            _fill_text(package, box, texts[text_index], size)
            top += heights[text_index] + GAP
            text_index += 1
            continue
        group = views[id(blocks[0])]
        if not group:
            continue
        share = max(shares[figure_index], 40)
        _add_pictures(package, slide, group, MARGIN_X, top, width, share)
        top += share + GAP
        figure_index += 1


def _natural_height(package: _Package, views: list[SlideView], width: int) -> int:
    """Return the height a figure's pictures fill side by side at `width` (at most 2x size)."""
    sizes = [size for size in map(functools.partial(_picture_size, package), views) if size]
    if not sizes:
        return 0
    cell = (width - GAP * (len(sizes) - 1)) / len(sizes)
    return math.ceil(max(h * min(cell / w, MAX_ZOOM) for w, h in sizes))


def _joined(blocks: list[Block]) -> Block:
    return Block([token for block in blocks for token in block.tokens], False)


def _body_size(texts: list[list[Paragraph]], width: int, room: int) -> int:
    """Return the largest body size, in px, at which the slide's text fits its room."""
    for size in range(BODY_PX, BODY_MIN_PX, -1):
        if sum(_text_height(paragraphs, size, width) for paragraphs in texts) <= room:
            return size
    return BODY_MIN_PX


def _text_height(paragraphs: list[Paragraph], size: int, width: int) -> int:
    """Estimate a text box's height in px: its lines at `size`, wrapped to `width`."""
    if not paragraphs:
        return 0
    inner = width - 20  # the box's own insets, 0.1 inch each side
    lines = 0.0
    for paragraph in paragraphs:
        scale = _size_of(paragraph, size) / size
        indent = 1.3 * size * (paragraph.level + (1 if paragraph.bullet or paragraph.continued
                                                  else 0))
        per_line = max(8, int((inner - indent) / (CHAR_EM * size * scale)))
        for line in paragraph.text.split("\n"):
            lines += max(1, math.ceil(len(line) / per_line)) * scale
        lines += 0.3  # the space after a paragraph
    return int(lines * size * LINE_SPACING) + 20


def _size_of(paragraph: Paragraph, size: int) -> int:
    if paragraph.kind == "heading":
        return max(size, round(size * SUBHEADING_PX / BODY_PX))
    if paragraph.kind == "code":
        return max(BODY_MIN_PX - 2, round(size * 0.85))
    return size


def _text_box(package: _Package, slide: PptxSlide, x: int, y: int, width: int, height: int,
              font_scale: float = 1.0) -> Any:
    """Add a text box that wraps its text and shrinks it to fit (see `_shape_model`)."""
    box = _add_shape(slide, "text box", x, y, width, height)
    if font_scale < 1:
        # PowerPoint shrinks by the scale written, in thousandths of a percent, from 1%.
        fit = box._element[-1][0].find(NORM_AUTOFIT)  # noqa: SLF001 - txBody/bodyPr: no API
        fit.set("fontScale", str(max(1000, int(font_scale * 100000))))
    return box


def _fill_text(package: _Package, box: Any, paragraphs: list[Paragraph], size: int) -> None:
    """Write paragraphs into a text box: each paragraph's and run's look as python-pptx sets it.

    The paragraphs are written as XML and parsed at once, each look's properties as python-pptx
    sets them (`_paragraph_look_xml`, `_run_look_xml`): setting them through its properties
    cost a call per element. A run with a link has a relationship of its own: a text box with
    one is written through python-pptx.
    """
    from lxml import etree

    if not paragraphs:
        return
    if any(run.link for paragraph in paragraphs for run in paragraph.runs):
        _fill_linked_text(package, box, paragraphs, size)
        return
    written = []
    for paragraph in paragraphs:
        px = _size_of(paragraph, size)
        parts = [_paragraph_look_xml(size, paragraph.bullet, paragraph.continued,
                                     paragraph.level)]
        for run in _numbered_runs(paragraph):
            if run.line_break:
                parts.append("<a:br/>")
                continue
            look = _run_look_xml(px, *_run_look(package.palette, paragraph, run))
            parts.append(f"<a:r>{look}<a:t>{_element_text(_without_controls(run.text))}</a:t>"
                         "</a:r>")
        written.append(f"<a:p>{''.join(parts)}</a:p>")
    holder = etree.fromstring(f'<a:txBody xmlns:a="{DRAWING_NAMESPACE}">{"".join(written)}'
                              "</a:txBody>", _text_parser())
    body = box._element[-1]  # noqa: SLF001 - its txBody, last in a text box
    # In place of the box's one empty paragraph; moved into the slide, they take its declaration
    # of the a: namespace: the same XML.
    body.remove(body[-1])
    body.extend(list(holder))


def _numbered_runs(paragraph: Paragraph) -> tuple[Run, ...]:
    """Return a paragraph's runs, behind its number where PowerPoint cannot count it."""
    number = _literal_number(paragraph)
    return ((Run(f"{number}. "),) if number else ()) + paragraph.runs


def _run_look(palette: Palette, paragraph: Paragraph, run: Run,
              ) -> tuple[bool, bool, str, tuple[str, str, str]]:
    """Return a run's bold, italic, colour and typeface, as its paragraph's kind makes them."""
    return (run.bold or paragraph.kind == "heading", run.italic or paragraph.kind == "quote",
            palette.muted if paragraph.kind == "quote" else palette.ink,
            MONO_FONT if run.code or paragraph.kind == "code" else FONT)


def _element_text(text: str) -> str:
    """Return `text` escaped for an element's content, as lxml escapes it."""
    return text.translate(TEXT_ESCAPES) if TEXT_SPECIAL.search(text) else text


@functools.lru_cache(maxsize=256)
def _paragraph_look_xml(size: int, bullet: str | None, continued: bool, level: int) -> str:
    """Return the properties (a:pPr) python-pptx gives a paragraph of this look, as XML.

    Made once per process for each look, on a paragraph of its own.
    """
    from pptx.oxml import parse_xml
    from pptx.text.text import _Paragraph

    element = parse_xml(f'<a:p xmlns:a="{DRAWING_NAMESPACE}"/>')
    no_parent: Any = None  # the paragraph's look is its element's alone
    paragraph = _Paragraph(element, no_parent)
    _set_paragraph_look(paragraph, Paragraph((), "body", level, bullet, continued), size)
    return _without_declaration(element.pPr)


@functools.lru_cache(maxsize=256)
def _run_look_xml(px: int, bold: bool, italic: bool, colour: str,
                  face: tuple[str, str, str]) -> str:
    """Return the properties (a:rPr) python-pptx gives a run of this look, as XML.

    Made once per process for each look, on a run of its own.
    """
    from pptx.oxml import parse_xml
    from pptx.text.text import _Run

    element = parse_xml(f'<a:r xmlns:a="{DRAWING_NAMESPACE}"><a:t/></a:r>')
    no_parent: Any = None  # the run's look is its element's alone
    run = _Run(element, no_parent)
    _set_run_look(run, px, bold, italic, colour, face)
    return _without_declaration(element.rPr)


def _without_declaration(element: Any) -> str:
    """Return an a: element's XML without its a: declaration, which the text body makes."""
    from lxml import etree

    text: str = etree.tostring(element, encoding="unicode")
    declaration = f' xmlns:a="{DRAWING_NAMESPACE}"'
    assert text.count(declaration) == 1, text  # its one namespace, declared on it alone
    return text.replace(declaration, "", 1)


def _fill_linked_text(package: _Package, box: Any, paragraphs: list[Paragraph],
                      size: int) -> None:
    """Write paragraphs, some runs with links, into a text box through python-pptx.

    Setting a look through python-pptx's properties costs a call per element; a deck has few
    looks, so each is set once and its properties' element copied after that.
    """
    frame = box.text_frame
    for index, paragraph in enumerate(paragraphs):
        target = frame.paragraphs[0] if index == 0 else frame.add_paragraph()
        _paragraph_look(package, target, paragraph, size)
        px = _size_of(paragraph, size)
        for run in _numbered_runs(paragraph):
            if run.line_break:
                target.add_line_break()
                continue
            added = target.add_run()
            added.text = _without_controls(run.text)
            bold, italic, colour, face = _run_look(package.palette, paragraph, run)
            if run.link:  # its own relationship: its look is set, not copied
                _set_run_look(added, px, bold, italic, package.palette.accent, face, run.link)
                continue
            run_element = added._r  # noqa: SLF001 - the look's element has no API
            look = (px, bold, italic, colour, face)
            made = package.run_looks.get(look)
            if made is not None and run_element.rPr is None:
                run_element.insert(0, copy.deepcopy(made))  # rPr comes first in a run
                continue
            _set_run_look(added, px, bold, italic, colour, face)
            if made is None:
                package.run_looks[look] = copy.deepcopy(run_element.rPr)


def _paragraph_look(package: _Package, paragraph: _Paragraph, model: Paragraph,
                    size: int) -> None:
    """Set a paragraph's spacing and bullet, or copy them from a paragraph set the same."""
    element = paragraph._p  # noqa: SLF001 - the look's element has no API
    look = (size, model.bullet, model.continued, model.level)
    made = package.paragraph_looks.get(look)
    if made is not None and element.pPr is None:
        element.insert(0, copy.deepcopy(made))  # pPr comes first in a paragraph
        return
    fresh = element.pPr is None
    _set_paragraph_look(paragraph, model, size)
    if fresh and made is None:
        package.paragraph_looks[look] = copy.deepcopy(element.pPr)


def _set_paragraph_look(paragraph: _Paragraph, model: Paragraph, size: int) -> None:
    """Set a paragraph's spacing and bullet through python-pptx's properties."""
    from pptx.util import Pt

    paragraph.space_after = Pt(size * PT_PER_PX * 0.3)
    paragraph.line_spacing = 1.1
    _bullet(paragraph, model, size)


def _set_run_look(run: Any, px: int, bold: bool, italic: bool, colour: str,
                  face: tuple[str, str, str], link: str | None = None) -> None:
    from pptx.util import Pt

    font = run.font
    font.size = Pt(px * PT_PER_PX)
    font.bold = bold
    font.italic = italic
    if link:
        run.hyperlink.address = link
    font.color.rgb = _rgb(colour)
    _typeface(run, face)


def _bullet(paragraph: _Paragraph, model: Paragraph, size: int) -> None:
    """Make a list item a real bullet or number, indented to its level."""
    from lxml import etree
    from pptx.oxml.ns import qn

    indent = round(1.3 * size) * EMU_PER_PX
    ppr = paragraph._p.get_or_add_pPr()  # noqa: SLF001 - python-pptx has no API for bullets
    if model.bullet is None and not model.continued:
        if model.level:
            ppr.set("marL", str(indent * model.level))
        etree.SubElement(ppr, qn("a:buNone"))
        return
    ppr.set("marL", str(indent * (model.level + 1)))
    ppr.set("indent", "0" if model.continued else str(-indent))
    if model.continued or _literal_number(model):
        etree.SubElement(ppr, qn("a:buNone"))
    elif model.bullet == "bullet":
        font = etree.SubElement(ppr, qn("a:buFont"))
        font.set("typeface", "Arial")
        etree.SubElement(ppr, qn("a:buChar")).set("char", "•")
    else:
        number = etree.SubElement(ppr, qn("a:buAutoNum"))
        number.set("type", "arabicPeriod")
        number.set("startAt", model.bullet or "1")


def _literal_number(paragraph: Paragraph) -> str | None:
    """Return a list item's number when PowerPoint cannot count it (it numbers 1 to 32767)."""
    if paragraph.bullet is None or paragraph.bullet == "bullet":
        return None
    return None if 1 <= int(paragraph.bullet) <= 32767 else paragraph.bullet


def _typeface(run: Any, face: tuple[str, str, str]) -> None:
    from lxml import etree
    from pptx.oxml.ns import qn

    name, panose, pitch = face
    rpr = run._r.get_or_add_rPr()  # noqa: SLF001 - python-pptx names a font without its class
    for tag in ("latin", "cs"):
        element = rpr.find(qn(f"a:{tag}"))
        if element is None:
            element = etree.SubElement(rpr, qn(f"a:{tag}"))
        element.set("typeface", name)
        element.set("panose", panose)
        element.set("pitchFamily", pitch)
        element.set("charset", "0")
    hyperlink = rpr.find(qn("a:hlinkClick"))
    if hyperlink is not None:  # the schema puts the link after the fonts
        rpr.remove(hyperlink)
        rpr.append(hyperlink)


def _add_pictures(package: _Package, slide: PptxSlide, views: list[SlideView], x: int, y: int,
                  width: int, height: int) -> None:
    """Fit a figure's pictures side by side into a box, each keeping its aspect."""
    sized: list[tuple[SlideView, tuple[float, float]]] = []
    for view in views:
        size = _picture_size(package, view)
        if size is not None:
            sized.append((view, size))
    if not sized:
        return
    cell = (width - GAP * (len(sized) - 1)) // len(sized)
    fitted = []
    for view, (w, h) in sized:
        scale = min(cell / w, height / h, MAX_ZOOM)
        fitted.append((view, max(1, round(w * scale)), max(1, round(h * scale))))
    used = sum(w for _, w, _ in fitted) + GAP * (len(fitted) - 1)
    left = x + (width - used) // 2
    for view, w, h in fitted:
        _add_picture(package, slide, view, left, y + (height - h) // 2, w, h)
        left += w + GAP


def _picture_size(package: _Package, view: SlideView) -> tuple[float, float] | None:
    """Return the shown part's size (px of the SVG, or of the raster image alone)."""
    size = _pixel_size(package, view.svg or view.raster)
    if size is None:
        return None
    if package.file(view.raster) is None:
        package.missing.append(view.raster)
        return None
    w, h = size
    crop = view.crop
    if crop is not None:
        w *= max(0.01, 1 - crop.left - crop.right)
        h *= max(0.01, 1 - crop.top - crop.bottom)
    return w, h


def _pixel_size(package: _Package, path: str) -> tuple[float, float] | None:
    if path not in package.sizes:
        package.sizes[path] = _read_pixel_size(package, path)
    return package.sizes[path]


def _read_pixel_size(package: _Package, path: str) -> tuple[float, float] | None:
    data = package.file(path)
    if data is None:
        package.missing.append(path)
        return None
    try:
        if path.endswith(".svg"):
            from course_assets.render.raster import svg_size

            width, height = svg_size(data)
        else:
            from PIL import Image

            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
    except Exception:  # noqa: BLE001 - an image that cannot be read is reported, not shown
        package.missing.append(path)
        return None
    return (float(width), float(height)) if width and height else None


def _add_picture(package: _Package, slide: PptxSlide, view: SlideView, x: int, y: int,
                 width: int, height: int) -> None:
    from lxml import etree
    from pptx.opc.package import Part

    picture = _add_raster(package, slide, view.raster, x, y, width, height)
    # The picture's elements, by their place in python-pptx's p:pic: alt text, the crop and the
    # SVG have no API, and looking each up by name cost more than the rest of a picture.
    element = picture._element  # noqa: SLF001
    properties, fill = element[0][0], element[1]  # nvPicPr/cNvPr, blipFill
    blip = fill[0]
    if view.crop is not None:
        # As the crop_* properties set it: a:srcRect after the blip, each side in thousandths
        # of a percent, in their order, a side not cut left out.
        rect = etree.SubElement(fill, f"{{{DRAWING_NAMESPACE}}}srcRect")
        blip.addnext(rect)
        crop = view.crop
        for side, fraction in (("l", crop.left), ("t", crop.top), ("r", crop.right),
                               ("b", crop.bottom)):
            if fraction != 0.0:
                rect.set(side, str(int(round(fraction * 100000.0))))
    properties.set("name", view.figure or view.raster.rsplit("/", 1)[-1])
    properties.set("descr", _without_controls(view.description))
    svg = package.file(view.svg) if view.svg else None
    if view.svg is None or svg is None:
        return
    part = package.svg_parts.get(view.svg)
    if part is None:
        pptx_package = package.presentation.part.package
        part = Part(_next_image_name(package, "svg"), "image/svg+xml", pptx_package, svg)
        package.svg_parts[view.svg] = part
    rel = _relate_image(package, slide, part)
    extensions = etree.SubElement(blip, f"{{{DRAWING_NAMESPACE}}}extLst")
    extension = etree.SubElement(extensions, f"{{{DRAWING_NAMESPACE}}}ext")
    extension.set("uri", SVG_EXTENSION_URI)
    svg_blip = etree.SubElement(extension, f"{{{SVG_NAMESPACE}}}svgBlip",
                                nsmap={"asvg": SVG_NAMESPACE})
    svg_blip.set(EMBED_ATTRIBUTE, rel)


def _relate_image(package: _Package, slide: PptxSlide, part: Any) -> str:
    """Return the id of the slide's relationship to an image part, as `relate_to` gives it.

    relate_to searches the slide's relationships, each time, for one to the part: the slide's
    images are all related here, so the ones it has are known.
    """
    from pptx.opc.constants import RELATIONSHIP_TYPE

    key = (id(slide.part), id(part))  # both live as long as the deck: their ids are theirs
    rel = package.slide_images.get(key)
    if rel is None:
        rel = package.slide_images[key] = slide.part._rels._add_relationship(  # noqa: SLF001
            RELATIONSHIP_TYPE.IMAGE, part)
    return rel


def _add_raster(package: _Package, slide: PptxSlide, raster: str, x: int, y: int,
                width: int, height: int) -> Any:
    """Add a picture of the file `raster` as `shapes.add_picture` does, one part per image.

    python-pptx looks for the same image, and for the next free part name, by walking every
    part of the package, for each picture: a deck's time grew with the square of its slides.
    It also reads the image's size with Pillow, twice a picture, to scale a picture whose
    size is given.
    """
    from pptx.parts.image import Image, ImagePart

    part = package.raster_parts.get(raster)
    if part is None:
        blob = package.file(raster)
        assert blob is not None  # _picture_size said it is there
        # One part for each content, as python-pptx finds the same image by its SHA-1; compared
        # whole with those of its size rather than hashed: hashing every image took longer.
        same_size = package.image_parts.setdefault(len(blob), [])
        part = next((made for made in same_size if made.blob == blob), None)
        if part is None:
            image = Image.from_blob(blob)
            pptx_package = package.presentation.part.package
            part = ImagePart(_next_image_name(package, image.ext), image.content_type,
                             pptx_package, image.blob, image.filename)
            same_size.append(part)
        package.raster_parts[raster] = part
    rel = _relate_image(package, slide, part)
    # add_picture's own steps (_add_pic_from_image_part), less its scaling: the size is given.
    # Its name and description are the view's, set by the caller.
    picture = _add_shape(slide, "picture", x, y, width, height)
    picture._element[1][0].set(EMBED_ATTRIBUTE, rel)  # noqa: SLF001 - blipFill/blip
    return picture


def _add_shape(slide: PptxSlide, kind: str, x: int, y: int, width: int, height: int) -> Any:
    """Add a text box, rectangle or picture at a place in px, as `slide.shapes` adds one.

    python-pptx parses each new shape's XML from its template and then, to know what kind of
    shape it made, searches it for a placeholder: the element is copied from one parsed once
    per process, and the shape made of the kind asked for.
    """
    shapes: Any = slide.shapes
    made, name, proxy, place = _shape_model(kind)
    element = copy.deepcopy(made)
    shape_id = shapes._next_shape_id  # noqa: SLF001 - the shape tree's own count
    properties = element[0][0]  # its cNvPr, first in its non-visual properties
    properties.set("id", str(shape_id))
    properties.set("name", f"{name} {shape_id - 1}")
    transform = element[place][0]  # spPr/xfrm
    offset, extent = transform[0], transform[1]
    # As python-pptx writes a length: its whole EMU.
    offset.set("x", str(round(x * EMU_PER_PX)))
    offset.set("y", str(round(y * EMU_PER_PX)))
    extent.set("cx", str(round(width * EMU_PER_PX)))
    extent.set("cy", str(round(height * EMU_PER_PX)))
    # As add_* put it: last, before the tree's extensions if it has them (last, by the schema).
    tree = shapes._spTree  # noqa: SLF001
    if len(tree) and tree[-1].tag == EXTENSIONS_TAG:
        tree[-1].addprevious(element)
    else:
        tree.append(element)
    return proxy(element, shapes)


@functools.cache
def _shape_model(kind: str) -> tuple[Any, str, Any, int]:
    """Return a new shape's element as python-pptx makes it, its name, its proxy class, and
    where its properties (spPr) are among its children.

    A text box is the deck's: one that wraps its text and shrinks it to fit.
    """
    from pptx.enum.shapes import MSO_SHAPE
    from pptx.enum.text import MSO_AUTO_SIZE
    from pptx.oxml.shapes.autoshape import CT_Shape
    from pptx.oxml.shapes.picture import CT_Picture
    from pptx.shapes.autoshape import AutoShapeType, Shape
    from pptx.shapes.picture import Picture

    # Their makers carry no type hints.
    new_textbox: Any = CT_Shape.new_textbox_sp
    new_picture: Any = CT_Picture.new_pic
    if kind == "text box":
        box = new_textbox(0, "", 0, 0, 0, 0)
        frame = Shape(box, None).text_frame  # type: ignore[arg-type] # its element's alone
        frame.word_wrap = True
        # A reader whose fonts are wider than DejaVu Sans shrinks the text rather than overflow.
        frame.auto_size = MSO_AUTO_SIZE.TEXT_TO_FIT_SHAPE
        return box, "TextBox", Shape, 1
    if kind == "picture":
        return new_picture(0, "", "", "", 0, 0, 0, 0), "Picture", Picture, 2
    assert kind == "rectangle"
    rectangle = AutoShapeType(MSO_SHAPE.RECTANGLE)
    return (CT_Shape.new_autoshape_sp(0, "", rectangle.prst, 0, 0, 0, 0), rectangle.basename,
            Shape, 1)


def _next_image_name(package: _Package, ext: str) -> Any:
    """Return the name of the deck's next image part: /ppt/media/imageN.ext, N from 1 up."""
    from pptx.opc.packuri import PackURI

    # Every image part of a deck is added here, so the numbers run on without a gap.
    return PackURI(f"/ppt/media/image{next(package.image_numbers)}.{ext}")


def _write_notes(package: _Package, slide: PptxSlide, groups: list[tuple[str, list[Block]]],
                 views: dict[int, list[SlideView]]) -> None:
    """Put the section's prose and each figure's text outline in the speaker notes."""
    lines: list[str] = []
    for kind, blocks in groups:
        if kind == "text":
            for block in blocks:
                lines += [_note_line(p) for p in paragraphs_of(block.tokens)]
            continue
        for view in views[id(blocks[0])]:
            outline = package.file(view.outline) if view.outline else None
            if outline is not None and view.outline is not None:
                if view.outline not in package.outlines:
                    package.outlines[view.outline] = _outline_notes(
                        outline.decode("utf-8", "replace"))
                lines += ["", *package.outlines[view.outline], ""]
            elif view.description:
                lines += ["", f"Figure: {view.description}", ""]
    text = "\n".join(lines).strip()
    if text:
        _add_notes(package, slide, _without_controls(text))


def _add_notes(package: _Package, slide: PptxSlide, text: str) -> None:
    """Give `slide` its notes page of `text`: a copy of the page python-pptx makes.

    python-pptx makes each notes page afresh from the notes master (a third of a deck's time),
    and the deck's notes master and its theme from its templates; every page comes out the
    same until its text is set, and so do they: each is made once per process (`_notes_model`)
    and copied. A figure's zoomed slides have the same notes as its overview: a page is made
    once for each text.
    """
    from pptx.opc.constants import CONTENT_TYPE, RELATIONSHIP_TYPE
    from pptx.opc.package import Part, XmlPart
    from pptx.opc.packuri import PackURI
    from pptx.parts.slide import NotesMasterPart

    model = _notes_model()
    pptx_package = slide.part.package
    if not package.notes_master:
        # As NotesMasterPart.create_default makes the deck's notes master and its theme, and
        # the presentation part relates it, when the first notes page is made.
        master = NotesMasterPart(PackURI(model.master_name), CONTENT_TYPE.PML_NOTES_MASTER,
                                 pptx_package, copy.deepcopy(model.master))
        theme = XmlPart(PackURI(model.theme_name), CONTENT_TYPE.OFC_THEME, pptx_package,
                        copy.deepcopy(model.theme))
        master.relate_to(theme, RELATIONSHIP_TYPE.THEME)
        pptx_package.presentation_part.relate_to(master, RELATIONSHIP_TYPE.NOTES_MASTER)
        package.notes_master.append(master)
    # As NotesSlidePart.new and SlidePart._add_notes_slide_part relate them, in their order.
    # Numbered as python-pptx numbers them, without walking the package: from 1, no gap. The
    # page is its bytes: nothing changes it once made.
    name = PackURI(f"/ppt/notesSlides/notesSlide{next(package.notes_numbers)}.xml")
    part = Part(name, CONTENT_TYPE.PML_NOTES_SLIDE, pptx_package, _notes_page(text))
    # Added as relate_to adds them, less its search for one already there: both parts are new
    # to each other, and the page to the master.
    part._rels._add_relationship(  # noqa: SLF001
        RELATIONSHIP_TYPE.NOTES_MASTER, package.notes_master[0])
    part._rels._add_relationship(RELATIONSHIP_TYPE.SLIDE, slide.part)  # noqa: SLF001
    slide.part._rels._add_relationship(RELATIONSHIP_TYPE.NOTES_SLIDE, part)  # noqa: SLF001


@dataclass(frozen=True)
class _NotesModel:
    """What python-pptx makes a blank deck's first notes page of: to copy, never to change."""

    master_name: str
    master: Any
    theme_name: str
    theme: Any
    page: Any  # a notes page before its text, its placeholders cloned from the master


@functools.cache
def _notes_model() -> _NotesModel:
    """Return the notes master, its theme and a notes page as python-pptx makes them."""
    from pptx.opc.constants import RELATIONSHIP_TYPE

    presentation = copy.deepcopy(_blank_presentation())
    slide = presentation.slides.add_slide(presentation.slide_layouts[6])
    page = slide.notes_slide
    master = presentation.part.notes_master_part
    theme = master.part_related_by(RELATIONSHIP_TYPE.THEME)
    assert page.part.partname == "/ppt/notesSlides/notesSlide1.xml"  # numbered on from 1
    return _NotesModel(master.partname, master._element,  # noqa: SLF001 - no API
                       theme.partname, theme._element, page._element)  # noqa: SLF001


def _notes_body(page: Any) -> Any:
    """Return the text body of a notes page's body placeholder, as `notes_text_frame` finds it.

    python-pptx finds it by making an object of each placeholder; the page is ours, and its
    body placeholder is a shape of the page's own tree.
    """
    from pptx.oxml.ns import qn

    for shape in page.cSld.spTree.iterchildren(qn("p:sp")):
        placeholder = shape.find(f"{qn('p:nvSpPr')}/{qn('p:nvPr')}/{qn('p:ph')}")
        if placeholder is not None and placeholder.get("type") == "body":
            return shape.get_or_add_txBody()
    raise AssertionError("the default notes master has a body placeholder")


@functools.lru_cache(maxsize=512)
def _notes_page(text: str) -> bytes:
    """Return a notes page of `text`, as python-pptx's `TextFrame.text` sets it: a paragraph a line.

    The page's XML is written whole, as lxml would write it, its paragraphs inside the model
    page's: notes hold a figure's whole outline, and making, copying and writing their elements
    one by one was a fifth of a deck's time. A figure's zoomed slides have its overview's notes,
    and a chapter's light and dark decks the same notes: a page is written once per process.
    """
    from xml.sax.saxutils import escape

    from lxml import etree
    from pptx.oxml.text import CT_RegularTextRun

    before, after = _notes_page_text()
    # python-pptx's own escapes, for what a text run cannot hold (none is left in notes).
    lines = CT_RegularTextRun._escape_ctrl_chars(text).split("\n")  # noqa: SLF001
    # python-pptx adds no run for an empty line; escape() escapes as lxml writes a text.
    paragraphs = "".join(f"<a:p><a:r><a:t>{escape(line)}</a:t></a:r></a:p>" if line else "<a:p/>"
                         for line in lines)
    page = f"{before}{paragraphs}{after}"
    if NOT_IN_XML.search(page):  # lxml's own error, as when the page was parsed
        return etree.tostring(etree.fromstring(page, _text_parser()),  # type: ignore[no-any-return]
                              encoding="UTF-8", standalone=True)
    return (XML_DECLARATION + page).encode("utf-8")


@functools.cache
def _notes_page_text() -> tuple[str, str]:
    """Return the model notes page's XML before and after its text's paragraphs.

    That is the page with its body's paragraphs cleared, as `TextFrame.text` clears them
    before it adds its own at the body's end.
    """
    from lxml import etree

    page = copy.deepcopy(_notes_model().page)
    body = _notes_body(page)
    body.clear_content()
    mark = "course-assets: the notes' paragraphs"
    body.append(etree.Comment(mark))
    before, after = etree.tostring(page, encoding="unicode").split(f"<!--{mark}-->")
    return before, after


@functools.cache
def _text_parser() -> Any:
    """Return a parser that keeps every character of a text and makes python-pptx's elements."""
    from lxml import etree
    from pptx.oxml import element_class_lookup

    parser = etree.XMLParser(resolve_entities=False, huge_tree=True)
    parser.set_element_class_lookup(element_class_lookup)
    return parser


def _without_controls(text: str) -> str:
    """Return `text` without control characters, which python-pptx writes as `_x000C_` codes."""
    # Looked for first: translating looks up every character, and a figure's notes are long.
    return text.translate(CONTROL_CHARACTERS) if CONTROL_PATTERN.search(text) else text


def _outline_notes(outline: str) -> list[str]:
    """Return a figure's text outline as notes to read from: headings as words, no Markdown."""
    lines: list[str] = []
    for line in outline.strip().splitlines():
        if line.startswith("## "):
            lines += ([] if lines and not lines[-1] else [""]) + [f"{line[3:].strip()}:"]
        elif line.startswith("# "):
            lines.append(line[2:].strip())
        else:
            lines.append(line.replace("**", ""))
    return lines


def _note_line(paragraph: Paragraph) -> str:
    text = paragraph.text.replace("\n", " ")
    indent = "  " * paragraph.level
    if paragraph.bullet == "bullet":
        return f"{indent}- {text}"
    if paragraph.bullet:
        return f"{indent}{paragraph.bullet}. {text}"
    return f"{indent}{text}"


def paragraphs_of(tokens: list[Token]) -> list[Paragraph]:
    """Return the paragraphs of Markdown blocks: text, lists, headings, code, quotes, tables."""
    paragraphs: list[Paragraph] = []
    lists: list[list[int] | None] = []  # per open list: [next number], or None for bullets
    item_started: list[bool] = []
    quote = 0
    kind = "body"
    row: list[str] = []
    for token in tokens:
        if token.type == "bullet_list_open":
            lists.append(None)
        elif token.type == "ordered_list_open":
            lists.append([int(str(token.attrs.get("start", 1)))])
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif token.type == "list_item_open":
            item_started.append(False)
        elif token.type == "list_item_close":
            item_started.pop()
        elif token.type == "blockquote_open":
            quote += 1
        elif token.type == "blockquote_close":
            quote -= 1
        elif token.type == "heading_open":
            kind = "heading"
        elif token.type == "heading_close":
            kind = "body"
        elif token.type in ("tr_open",):
            row = []
        elif token.type == "tr_close":
            paragraphs.append(Paragraph((Run(" | ".join(row)),)))
        elif token.type == "inline" and token.children is not None and _in_cell(tokens, token):
            row.append(markdown.plain_text(token))
        elif token.type == "inline" and token.children is not None:
            runs = tuple(_runs(token.children))
            if not runs:
                continue
            bullet, continued = None, False
            if lists and item_started:
                if item_started[-1]:
                    continued = True
                else:
                    item_started[-1] = True
                    counter = lists[-1]
                    bullet = "bullet" if counter is None else str(counter[0])
                    if counter is not None:
                        counter[0] += 1
            paragraphs.append(Paragraph(runs, "quote" if quote and kind == "body" else kind,
                                        max(0, len(lists) - 1), bullet, continued))
        elif token.type in ("fence", "code_block"):
            for line in token.content.rstrip("\n").splitlines() or [""]:
                paragraphs.append(Paragraph((Run(line or " "),), "code", max(0, len(lists) - 1)))
        elif token.type == "html_block":
            text = _html_text(token.content)
            if text:
                paragraphs.append(Paragraph((Run(text),)))
    return paragraphs


def _in_cell(tokens: list[Token], inline: Token) -> bool:
    index = tokens.index(inline)
    return index > 0 and tokens[index - 1].type in ("th_open", "td_open")


def _runs(children: Iterable[Token]) -> Iterable[Run]:
    bold = italic = 0
    link: str | None = None
    for child in children:
        if child.type == "text" and child.content:
            yield Run(child.content, bold > 0, italic > 0, link=link)
        elif child.type == "code_inline":
            yield Run(child.content, bold > 0, italic > 0, code=True, link=link)
        elif child.type == "softbreak":
            yield Run(" ", bold > 0, italic > 0, link=link)
        elif child.type == "hardbreak":
            yield Run("", line_break=True)
        elif child.type == "strong_open":
            bold += 1
        elif child.type == "strong_close":
            bold -= 1
        elif child.type == "em_open":
            italic += 1
        elif child.type == "em_close":
            italic -= 1
        elif child.type == "link_open":
            href = str(child.attrs.get("href", ""))
            # A link within the course means nothing inside the deck: its words stay, plain.
            link = href if href.startswith(("https://", "http://", "mailto:")) else None
        elif child.type == "link_close":
            link = None
        elif child.type == "image" and child.content:
            yield Run(child.content, bold > 0, italic > 0)


def _html_text(fragment: str) -> str:
    from html.parser import HTMLParser

    parts: list[str] = []
    # A style sheet or script is no text a reader sees: the slide shows none of it.
    hidden = {"style", "script", "template"}
    inside: list[str] = []

    class _Text(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            href = dict(attrs).get("href") or ""
            # A figure's link to its outline leads nowhere in a deck; its notes hold the outline.
            if tag in hidden or tag == "a" and href.endswith(".outline.md"):
                inside.append(tag)

        def handle_endtag(self, tag: str) -> None:
            if tag in inside:
                del inside[inside.index(tag):]

        def handle_data(self, data: str) -> None:
            if not inside:
                parts.append(data)

    reader = _Text(convert_charrefs=True)
    reader.feed(fragment)
    reader.close()
    return " ".join(" ".join(parts).split())


def _set_theme(presentation: Any, palette: Palette) -> None:
    """Give the deck's theme our link colour and font, for the slides and for what is added."""
    from lxml import etree
    from pptx.opc.constants import RELATIONSHIP_TYPE
    from pptx.oxml.ns import qn

    # Readers draw links in the theme's link colour, whatever colour the run has.
    part = presentation.slide_master.part.part_related_by(RELATIONSHIP_TYPE.THEME)
    theme = etree.fromstring(part.blob)
    for name in ("a:hlink", "a:folHlink"):
        for colour in theme.iter(qn(name)):
            for child in list(colour):
                colour.remove(child)
            etree.SubElement(colour, qn("a:srgbClr")).set("val", palette.accent)
    for name in ("a:majorFont", "a:minorFont"):
        for font in theme.iter(qn(name)):
            latin = font.find(qn("a:latin"))
            if latin is not None:
                typeface, panose, pitch = FONT
                latin.attrib.update({"typeface": typeface, "panose": panose,
                                     "pitchFamily": pitch, "charset": "0"})
    part.blob = etree.tostring(theme, xml_declaration=True, encoding="UTF-8", standalone=True)


def _drop_thumbnail(presentation: Any) -> None:
    """Drop the template's thumbnail, a blank 4:3 slide: readers make their own when none.

    Done before the slides are added, so that finding it walks the template's few parts.
    """
    from pptx.opc.constants import RELATIONSHIP_TYPE

    package = presentation.part.package
    for rel in list(package.iter_rels()):
        if rel.reltype == RELATIONSHIP_TYPE.THUMBNAIL:
            package.drop_rel(rel.rId)


def _set_properties(presentation: Any, title: str, notes: int) -> None:
    """Fix the package's properties: no clock, no machine, no user name; `notes` pages."""
    import datetime as dt

    properties = presentation.core_properties
    properties.title = _without_controls(title)
    properties.author = "course-assets"
    properties.last_modified_by = "course-assets"
    properties.comments = ""
    properties.revision = 1
    moment = dt.datetime(*FIXED_DATE)
    properties.created = moment
    properties.modified = moment
    properties.last_printed = moment
    from pptx.opc.constants import RELATIONSHIP_TYPE

    package = presentation.part.package
    # The template's application properties describe it (a 4:3 show, no slides), not the deck.
    slides = presentation.slides
    package.part_related_by(RELATIONSHIP_TYPE.EXTENDED_PROPERTIES).blob = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
        'extended-properties"><Application>course-assets</Application>'
        "<PresentationFormat>Widescreen</PresentationFormat>"
        f"<Slides>{len(slides)}</Slides><Notes>{notes}</Notes></Properties>").encode("utf-8")


def _package_bytes(presentation: Any) -> bytes:
    """Return the package as a zip with fixed entry dates, its entries stored uncompressed.

    Stored, not deflated: zlib's output differs between its builds (zlib, zlib-ng, Apple's),
    so a deflated package would differ between machines; and deflating the PNGs again, which
    are compressed already, was half the time a deck took. The parts are laid out as
    python-pptx's PackageWriter lays them out (content types first, then the package's
    relationships, then each part and its relationships, in its order); zipfile zips them.
    """
    from pptx.opc.packuri import PACKAGE_URI

    package = presentation.part.package
    parts = tuple(package.iter_parts())
    entries = [("[Content_Types].xml", _content_types_xml(parts)),
               (PACKAGE_URI.rels_uri, _relationships_xml(package._rels))]  # noqa: SLF001
    for part in parts:
        entries.append((part.partname, part.blob))
        relationships = part._rels  # noqa: SLF001 - each part's item, as PackageWriter writes it
        if relationships:
            entries.append((_rels_name(part.partname), _relationships_xml(relationships)))
    return _stored_zip([(name.lstrip("/"), blob) for name, blob in entries])


@functools.lru_cache(maxsize=4096)
def _rels_name(partname: Any) -> str:
    """Return the name of a part's relationships item (`rels_uri`): the same few each deck."""
    return str(partname.rels_uri)


def _stored_zip(entries: list[tuple[str, bytes]]) -> bytes:
    """Return a zip of entries stored, each dated FIXED_DATE, with no file attributes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, blob in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.create_system = 0
            info.external_attr = 0
            info.compress_type = zipfile.ZIP_STORED
            archive.writestr(info, blob)
    return buffer.getvalue()


def _content_types_xml(parts: Iterable[Any]) -> bytes:
    """Return [Content_Types].xml as python-pptx's `_ContentTypesItem` writes it, as text.

    Defaults by extension (lower case), then overrides by part name, each in order.
    """
    from pptx.opc.constants import CONTENT_TYPE
    from pptx.opc.oxml import serialize_part_xml
    from pptx.opc.serialized import _ContentTypesItem
    from pptx.opc.spec import default_content_types

    defaults = {"rels": CONTENT_TYPE.OPC_RELATIONSHIPS, "xml": CONTENT_TYPE.XML}
    overrides: dict[str, str] = {}
    for part in parts:
        partname, content_type = part.partname, part.content_type
        ext = partname.ext.lower()
        if (ext, content_type) in default_content_types:
            defaults[ext] = content_type
        else:
            overrides[partname] = content_type
    values = [*defaults.items(), *overrides.items()]
    if any(NOT_IN_XML.search(value) for pair in values for value in pair):
        # lxml's own error, as before.
        return serialize_part_xml(_ContentTypesItem.xml_for(tuple(parts)))
    items = [f'<Default Extension="{_attribute_text(ext)}" '
             f'ContentType="{_attribute_text(content_type)}"/>'
             for ext, content_type in sorted(defaults.items())]
    items += [f'<Override PartName="{_attribute_text(partname)}" '
              f'ContentType="{_attribute_text(content_type)}"/>'
              for partname, content_type in sorted(overrides.items())]
    return (f'{XML_DECLARATION}<Types xmlns="{CONTENT_TYPES_NAMESPACE}">{"".join(items)}'
            "</Types>").encode("utf-8")


def _relationships_xml(relationships: Any) -> bytes:
    """Return a .rels item's bytes, as python-pptx's `_Relationships.xml` writes them.

    python-pptx parses a new element from a string for each relationship, and works out each
    target's relative path afresh: a tenth of a deck's time. The same bytes, written as text:
    its order (by number), its attributes in its order, escaped as lxml escapes them.
    """
    items = []
    for rel_id in sorted(relationships.keys(), key=_rel_number):
        rel = relationships[rel_id]
        if rel.is_external:
            item = _relationship_xml(rel.rId, rel.reltype, rel.target_ref, True)
        else:
            item = _relationship_xml(rel.rId, rel.reltype, _relative_ref(
                rel.target_part.partname, rel._base_uri), False)  # noqa: SLF001
        if item is None:
            return _relationships_element_xml(relationships)  # lxml's own error, as before
        items.append(item)
    root = f'<Relationships xmlns="{RELATIONSHIPS_NAMESPACE}"'
    return (f'{XML_DECLARATION}{root}>{"".join(items)}</Relationships>' if items
            else f"{XML_DECLARATION}{root}/>").encode("utf-8")


@functools.lru_cache(maxsize=4096)
def _relationship_xml(rel_id: str, reltype: str, target: str, external: bool) -> str | None:
    """Return one relationship's element as XML, or None if XML cannot hold its text.

    A deck's slides relate to the same layout, masters and images as the next deck's: each
    element is written once per process.
    """
    values = (rel_id, reltype, target)
    if any(NOT_IN_XML.search(value) for value in values):
        return None
    rel_id, reltype, target = map(_attribute_text, values)
    mode = ' TargetMode="External"' if external else ""
    return f'<Relationship Id="{rel_id}" Type="{reltype}" Target="{target}"{mode}/>'


def _rel_number(rel_id: str) -> tuple[int, str]:
    """Return what python-pptx orders relationships by: rId's number, then the id."""
    return (int(rel_id[3:]) if rel_id.startswith("rId") and rel_id[3:].isdigit() else 0, rel_id)


@functools.lru_cache(maxsize=4096)
def _relative_ref(partname: str, base_uri: str) -> str:
    """Return a part's name relative to a folder, as python-pptx's `PackURI.relative_ref` does.

    Each deck relates its slides to the same few names: worked out once per process.
    """
    return partname[1:] if base_uri == "/" else posixpath.relpath(partname, base_uri)


def _attribute_text(value: str) -> str:
    """Return `value` escaped for an XML attribute in double quotes, as lxml writes it."""
    return value.translate(ATTRIBUTE_ESCAPES) if ATTRIBUTE_SPECIAL.search(value) else value


def _relationships_element_xml(relationships: Any) -> bytes:
    """Return a .rels item's bytes made with lxml, which refuses what XML cannot hold."""
    from lxml import etree

    root = etree.Element(f"{{{RELATIONSHIPS_NAMESPACE}}}Relationships",
                         nsmap={None: RELATIONSHIPS_NAMESPACE})
    for rel_id in sorted(relationships.keys(), key=_rel_number):
        rel = relationships[rel_id]
        attributes = {"Id": rel.rId, "Type": rel.reltype, "Target": rel.target_ref}
        if rel.is_external:
            attributes["TargetMode"] = "External"
        etree.SubElement(root, f"{{{RELATIONSHIPS_NAMESPACE}}}Relationship", attributes)
    data: bytes = etree.tostring(root, encoding="UTF-8", standalone=True)
    return data


def _emu(px: float) -> Length:
    from pptx.util import Emu

    return Emu(round(px * EMU_PER_PX))


def _rgb(hex_colour: str) -> Any:
    from pptx.dml.color import RGBColor

    make: Any = RGBColor  # its constructor carries no type hints
    return make(*bytes.fromhex(hex_colour))

