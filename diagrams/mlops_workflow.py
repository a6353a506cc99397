"""The end-to-end MLOps workflow: data feeds experiments tracked in MLflow, an Airflow training
pipeline registers the best model in the MLflow model registry, it is packaged with Docker and
served on Kubernetes, Prometheus and Grafana monitor it, and what monitoring finds loops back to
the data for the next round of training."""

from diagrams import Cluster, Diagram, Edge
from diagrams.k8s.compute import Deploy
from diagrams.onprem.container import Docker
from diagrams.onprem.database import Postgresql
from diagrams.onprem.monitoring import Grafana, Prometheus
from diagrams.onprem.workflow import Airflow

from _style import PALETTE, cluster_attr, edge_attr, graph_attr, mlflow, node_attr

with Diagram(
    "The MLOps workflow",
    show=False,
    direction="LR",
    graph_attr=graph_attr(ranksep="0.5", splines="ortho"),
    node_attr=node_attr(),
    edge_attr=edge_attr(),
):
    data = Postgresql("Data")
    with Cluster("Train", graph_attr=cluster_attr(labelloc="b")):
        experiments = mlflow("Experiment\ntracking")
        pipeline = Airflow("Training\npipeline")
        registry = mlflow("Model\nregistry")
    with Cluster("Operate", graph_attr=cluster_attr(labelloc="b")):
        image = Docker("Model\nimage")
        service = Deploy("Deployment")
        with Cluster("Monitoring", graph_attr=cluster_attr(labelloc="b")):
            metrics = Prometheus("Metrics")
            dashboards = Grafana("Dashboards")

    data >> experiments >> pipeline >> registry >> image >> service >> metrics >> dashboards
    dashboards >> Edge(xlabel="drift: collect new data, retrain", style="dashed",
                       color=PALETTE["accent"], fontcolor=PALETTE["text"], fontsize="17",
                       constraint="false", tailport="n", headport="n") >> data
