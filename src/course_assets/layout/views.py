"""What the manifest keeps of fitting: the layouts chosen, and the views a deck shows a figure in.

A view is the whole drawing, or a crop of it (a box in the SVG's user units). A figure that is
readable on one slide has one view; one that is not has an overview, then zoomed crops on which
every text reaches the slide's readable size.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from course_assets.layout.fitting import PX_PER_PT, Fit, rooms, shown_sizes, zoom_boxes

VIEW_BOX = re.compile(rb'<svg\b[^>]*\bviewBox="([0-9.\-]+) ([0-9.\-]+) ([0-9.\-]+) ([0-9.\-]+)"')
SIZE = re.compile(rb'<svg\b[^>]*\bwidth="([0-9.]+)"[^>]*\bheight="([0-9.]+)"')
# The graph's own placement in its SVG: Graphviz's points are at (x + tx, ty - y).
TRANSLATE = re.compile(rb'class="graph"[^>]*transform="[^"]*translate\(([0-9.\-]+)[ ,]([0-9.\-]+)\)')
OVERVIEW = "overview"


def fit_record(chapter: Fit, slide: Fit | None, layout: Mapping[str, Any],
               svg: bytes) -> dict[str, Any]:
    """Return the manifest's `fit` entry for a figure whose slides show `svg` (laid out as `layout`)."""
    head = svg[:4096]
    view_box, size, place = VIEW_BOX.search(head), SIZE.search(head), TRANSLATE.search(svg)
    record: dict[str, Any] = {"chapter": chapter.name, "slide": (slide or chapter).name,
                              "slide_file": slide is not None}
    if view_box is None or size is None or place is None:
        return {**record, "views": [{"caption": "", "box": None}]}
    box_width, box_height = float(view_box.group(3)), float(view_box.group(4))
    own = (float(size.group(1)), float(size.group(2)))
    tx, ty = float(place.group(1)), float(place.group(2))
    _, room = rooms()
    sizes = [float(op.get("size", 14.0)) for ops in _all_ops(layout) for op in ops
             if op.get("op") == "F"]
    smallest = (min(sizes) if sizes else 14.0) * PX_PER_PT
    record["viewbox"] = [box_width, box_height]
    record["size"] = [own[0], own[1]]  # CSS px: what the readable-size check judges slides by
    if not layout or room.text_size(own[0], own[1], smallest) >= room.minimum:
        # Readable whole (its layout was not even read, then): one slide shows it.
        record["views"] = [{"caption": "", "box": None}]
        return record
    crops = zoom_boxes(layout, own, room, smallest)
    views: list[dict[str, Any]] = [{"caption": OVERVIEW, "box": None}]
    for caption, (x0, y0, x1, y1) in crops:
        left, top = max(0.0, x0 + tx), max(0.0, ty - y1)
        right, bottom = min(box_width, x1 + tx), min(box_height, ty - y0)
        views.append({"caption": caption,
                      "box": [round(left, 2), round(top, 2), round(right - left, 2),
                              round(bottom - top, 2)]})
    record["views"] = views
    record["slide_text"] = round(shown_sizes(layout, own, room, smallest,
                                             [box for _, box in crops]), 2)
    return record


def _all_ops(layout: Mapping[str, Any]) -> list[list[Mapping[str, Any]]]:
    found = [list(layout.get("_ldraw_", []))]
    for obj in [*layout.get("objects", []), *layout.get("edges", [])]:
        for part in ("_ldraw_", "_hldraw_", "_tldraw_"):
            found.append(list(obj.get(part, [])))
    return found
