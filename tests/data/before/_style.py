"""The course style shared by every figure: fonts, colours and spacing.

Figure scripts import what they need from here, so that one edit restyles the whole course.
The generator sets COURSE_ASSETS_THEME=dark when it renders a figure's dark variant.
"""

import os

from diagrams import Node

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
    # Plain labels are centred by the viewer; HTML-like labels are placed with Graphviz's font
    # metrics, which drift when the viewer's font differs.
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
