"""How a figure reaches readers: a diagrams script in the course is built into an SVG and a PNG,
in a light and a dark version, and embedded in the chapters that name it."""

from diagrams import Cluster, Diagram
from diagrams.onprem.vcs import Git

from _style import box, cluster_attr, edge_attr, graph_attr, node_attr

with Diagram(
    "How a figure is built",
    show=False,
    direction="LR",
    graph_attr=graph_attr(),
    node_attr=node_attr(),
    edge_attr=edge_attr(),
):
    script = Git("Figure script")
    with Cluster("course-assets build", graph_attr=cluster_attr()):
        figure = box("Figure", "SVG and PNG, light and dark")
        chapter = box("Chapter", "build/chapters/")
    script >> figure >> chapter
