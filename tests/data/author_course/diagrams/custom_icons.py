"""The feature platform, drawn with the team's own icons: producers write to the feature log,
the materialiser fills the online and offline stores, and models read from them."""

from diagrams import Cluster, Diagram, Edge
from diagrams.custom import Custom

from _style import cluster_attr, edge_attr, graph_attr, node_attr

with Diagram("The feature platform", show=False, direction="LR",
             graph_attr=graph_attr(), node_attr=node_attr(), edge_attr=edge_attr()):
    producers = Custom("Producers", "diagrams/icons/producer.png")
    log = Custom("Feature log", "diagrams/icons/log.png")
    with Cluster("Stores", graph_attr=cluster_attr()):
        online = Custom("Online store", "diagrams/icons/store.png")
        offline = Custom("Offline store", "diagrams/icons/store.png")
    model = Custom("Model", "diagrams/icons/model.png")
    producers >> Edge(label="append") >> log
    log >> Edge(label="materialise") >> online
    log >> offline
    online >> Edge(label="lookup", style="dashed") >> model
    offline >> Edge(label="training set", style="dashed") >> model
