"""The course style shared by every figure: fonts, colours and spacing.

Figure scripts import what they need from here, so that one edit restyles the whole course.
`course-assets build` sets COURSE_ASSETS_THEME=dark when it renders a figure's dark variant, so
every colour comes from PALETTE, which has a light and a dark version.

Run by hand (`python diagrams/x.py`), a script writes its PNG into STANDALONE_OUTPUT, a folder
git ignores, instead of into the course; `course-assets build` writes nothing there.
"""

import os
from pathlib import Path

from diagrams import Diagram, Node

STANDALONE_OUTPUT = Path(__file__).resolve().parent.parent / "standalone"

FONT = "Sans-Serif"

PALETTES = {
    "light": {
        "background": "white",
        "text": "#2D3436",
        "muted": "#636E72",
        "edge": "#7B8894",
        "accent": "#2ECD71",
        "box": "#F1F6FB",
        "box_border": "#4A90C2",
        "cluster": "#EEF7EE",
        "cluster_border": "#9CC9A0",
    },
    "dark": {
        "background": "#0D1117",
        "text": "#E6EDF3",
        "muted": "#A9B4BF",
        "edge": "#A9B4BF",
        "accent": "#3FDD85",
        "box": "#161B22",
        "box_border": "#58A6FF",
        "cluster": "#132217",
        "cluster_border": "#3B7A45",
    },
}

THEME = os.environ.get("COURSE_ASSETS_THEME", "light")
PALETTE = PALETTES.get(THEME, PALETTES["light"])


def graph_attr(**overrides):
    """Return the Diagram graph attributes of the course style."""
    return {
        "fontname": FONT,
        "fontsize": "18",
        "fontcolor": PALETTE["text"],
        "bgcolor": PALETTE["background"],
        "pad": "0.3",
        "nodesep": "0.5",
        "ranksep": "0.7",
        **overrides,
    }


def node_attr(**overrides):
    """Return the Diagram node attributes of the course style."""
    return {"fontname": FONT, "fontsize": "13", "fontcolor": PALETTE["text"], **overrides}


def edge_attr(**overrides):
    """Return the Diagram edge attributes of the course style."""
    return {"color": PALETTE["edge"], "fontcolor": PALETTE["muted"], "fontname": FONT,
            "fontsize": "12", "penwidth": "1.5", **overrides}


def cluster_attr(**overrides):
    """Return the Cluster attributes of the course style."""
    return {"bgcolor": PALETTE["cluster"], "pencolor": PALETTE["cluster_border"],
            "fontcolor": PALETTE["text"], "fontname": FONT, "fontsize": "14",
            "style": "rounded", "margin": "16", **overrides}


def box(title, detail="", **attrs):
    """Draw a text box: a title and, below it, one line of detail."""
    label = f"{title}\n{detail}" if detail else title
    style = {
        "shape": "box",
        "style": "rounded,filled",
        "fillcolor": PALETTE["box"],
        "color": PALETTE["box_border"],
        "penwidth": "1.5",
        "fixedsize": "false",
        "width": "1.6",
        "height": "0.8",
        "labelloc": "c",
        "margin": "0.25,0.15",
        "fontcolor": PALETTE["text"],
        **attrs,
    }
    return Node(label, **style)


def _render_standalone_into(folder):
    """Make a script run by hand write its image into `folder`, not the working directory."""
    render = Diagram.render

    def render_into_folder(self):
        folder.mkdir(exist_ok=True)
        self.dot.directory = str(folder)
        # The library removes its Graphviz source file by this name once the image is made.
        self.filename = str(folder / self.filename)
        render(self)

    Diagram.render = render_into_folder


if "COURSE_ASSETS_THEME" not in os.environ:  # run by hand, not by the build
    _render_standalone_into(STANDALONE_OUTPUT)
