"""Why MLOps: it brings collaboration, automation and model performance."""

from diagrams import Diagram, Edge

from _style import PALETTE, box, edge_attr, graph_attr, node_attr

with Diagram(
    "Why MLOps?",
    show=False,
    direction="TB",
    graph_attr=graph_attr(),
    node_attr=node_attr(),
    edge_attr=edge_attr(),
):
    mlops = box("MLOps")
    benefits = [box("Collaboration"), box("Automation"), box("Model Performance")]
    mlops >> Edge(color=PALETTE["accent"], penwidth="2") >> benefits
