"""A web shop on Kubernetes: an ingress routes to the shop's service, whose deployment runs
three pods; a stateful set keeps the database on persistent volumes, with its configuration
and secrets mounted from the namespace."""

from diagrams import Cluster, Diagram
from diagrams.k8s.compute import Deploy, Pod, STS
from diagrams.k8s.network import Ing, SVC
from diagrams.k8s.podconfig import CM, Secret
from diagrams.k8s.storage import PVC

from _style import cluster_attr, edge_attr, graph_attr, node_attr

with Diagram("The shop on Kubernetes", show=False, direction="TB",
             graph_attr=graph_attr(), node_attr=node_attr(), edge_attr=edge_attr()):
    ingress = Ing("shop.example.com")
    with Cluster("Cluster", graph_attr=cluster_attr()):
        with Cluster("Namespace shop", graph_attr=cluster_attr()):
            service = SVC("shop")
            with Cluster("Deployment", graph_attr=cluster_attr()):
                deploy = Deploy("web")
                pods = [Pod("web-1"), Pod("web-2"), Pod("web-3")]
            with Cluster("Database", graph_attr=cluster_attr()):
                database = STS("postgres")
                volume = PVC("data")
            config = CM("settings")
            secret = Secret("password")
    ingress >> service >> pods
    deploy >> pods
    pods >> database >> volume
    config >> database
    secret >> database
