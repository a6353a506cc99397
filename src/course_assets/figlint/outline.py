"""Write a figure's text outline: its clusters, their nodes, and its edges, in reading order."""

from __future__ import annotations

from pathlib import PurePosixPath

from course_assets.figlint.geometry import Edge, Geometry, Node

# Positions closer than this (points) across the flow count as one row (or column).
ROW = 36.0


def outline_markdown(geometry: Geometry, title: str, description: str) -> str:
    """Return the outline as Markdown: parts as nested lists, then every connection."""
    lines = [f"# {title}: outline", ""]
    if description:
        lines += [description, ""]
    lines += ["## Parts", ""]
    lines += _parts(geometry, None, 0)
    edges = _ordered_edges(geometry)
    if edges:
        lines += ["", "## Connections", ""]
        for edge in edges:
            tail, head = geometry.node(edge.tail), geometry.node(edge.head)
            text = f"- {_name(tail, edge.tail)} → {_name(head, edge.head)}"
            if edge.label:
                text += f': "{_escape(edge.label)}"'
            if "dashed" in edge.style or "dotted" in edge.style:
                text += " (dashed)" if "dashed" in edge.style else " (dotted)"
            lines.append(text)
    return "\n".join(lines) + "\n"


def reading_key(geometry: Geometry, point: tuple[float, float]) -> tuple[float, float]:
    """Order points as a reader meets them: along the figure's flow, then across it."""
    x, y = point
    if geometry.direction in ("LR", "RL"):
        along = x if geometry.direction == "LR" else -x
        return (round(along / ROW), -y)
    along = -y if geometry.direction != "BT" else y
    return (round(along / ROW), x)


def _parts(geometry: Geometry, parent: str | None, depth: int) -> list[str]:
    indent = "  " * depth
    items: list[tuple[tuple[float, float], list[str]]] = []
    for node in geometry.nodes:
        if node.cluster == parent:
            items.append((reading_key(geometry, node.box.centre),
                          [f"{indent}- {_name(node, node.key)}"]))
    for cluster in geometry.clusters:
        if cluster.parent == parent:
            head = f"{indent}- **{_escape(cluster.label) or 'Group'}** (group)"
            corner = (cluster.box.x0, cluster.box.y1)
            items.append((reading_key(geometry, corner),
                          [head, *_parts(geometry, cluster.key, depth + 1)]))
    return [line for _, block in sorted(items, key=lambda item: item[0]) for line in block]


def _ordered_edges(geometry: Geometry) -> list[Edge]:
    def key(edge: Edge) -> tuple[float, float]:
        tail = geometry.node(edge.tail)
        return reading_key(geometry, tail.box.centre) if tail else (0.0, 0.0)

    # An edge that shows nothing (an author's spacer, or the build's that stack a fitted
    # layout's rows) holds the layout together: a reader meets no connection there.
    return sorted((e for e in geometry.edges if e.shown), key=key)


def _name(node: Node | None, fallback: str) -> str:
    if node is None:
        return _escape(fallback)
    if node.label:
        return _escape(node.label)
    return f"(unlabelled {PurePosixPath(fallback).name})"


def _escape(text: str) -> str:
    # Labels are plain text: nothing in them may become Markdown or HTML.
    for char in "\\`*_[]<>#|":
        text = text.replace(char, "\\" + char)
    return text
