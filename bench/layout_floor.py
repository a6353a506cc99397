"""The in-process floor: lay out and draw DOT files with pygraphviz alone, as SVG (and PNG).

Usage: python layout_floor.py [--png] FILE.dot...  (the benchmark runs one per worker)
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(arguments: list[str]) -> None:
    png = arguments[:1] == ["--png"]
    files = arguments[1:] if png else arguments
    # The same fonts as the build, so that text is measured the same way.
    from course_assets.render.graphviz import use_bundled_fonts

    use_bundled_fonts()
    import pygraphviz
    from pygraphviz import graphviz as gv

    for name in files:
        graph = pygraphviz.AGraph(string=Path(name).read_text())
        context = gv.gvContextWithBuiltins()
        gv.gvLayout(context, graph.handle, b"dot")
        _, svg = gv.gvRenderData(context, graph.handle, b"svg")
        Path(name).with_suffix(".svg").write_bytes(svg)
        if png:
            graph.graph_attr["viewport"] = "0,0,2"
            _, data = gv.gvRenderData(context, graph.handle, b"png:cairo")
            Path(name).with_suffix(".png").write_bytes(data)
        gv.gvFreeLayout(context, graph.handle)
        gv.gvFreeContext(context)


if __name__ == "__main__":
    main(sys.argv[1:])
