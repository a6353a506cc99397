"""The three stages of a machine learning project: Design decides whether ML is the right tool,
Train selects, tunes and evaluates the best model, and Operate deploys, manages and monitors it.
MLOps helps in all three stages."""

from diagrams import Cluster, Diagram

from _style import box, cluster_attr, edge_attr, graph_attr, node_attr

with Diagram(
    "The three-stage process of ML projects",
    show=False,
    direction="LR",
    graph_attr=graph_attr(),
    node_attr=node_attr(),
    edge_attr=edge_attr(),
):
    with Cluster("MLOps: best practices in every stage", graph_attr=cluster_attr()):
        design = box("Design", "Is ML the right tool?")
        train = box("Train", "Select, tune, evaluate the best model")
        operate = box("Operate", "Deploy, manage, monitor")
    design >> train >> operate
