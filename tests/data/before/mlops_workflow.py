"""The end-to-end MLOps workflow: data feeds experiments tracked in MLflow, an Airflow training
pipeline registers the best model in the MLflow model registry, it is packaged with Docker and
served on Kubernetes, Prometheus and Grafana monitor it, and what monitoring finds loops back to
the data for the next round of training."""

from diagrams import Cluster, Diagram, Edge
from diagrams.k8s.compute import Deploy
from diagrams.onprem.container import Docker
from diagrams.onprem.database import Postgresql
from diagrams.onprem.mlops import Mlflow
from diagrams.onprem.monitoring import Grafana, Prometheus
from diagrams.onprem.workflow import Airflow

from _style import PALETTE, cluster_attr, edge_attr, graph_attr, node_attr

with Diagram(
    "The MLOps workflow",
    show=False,
    direction="LR",
    graph_attr=graph_attr(ranksep="0.9"),
    node_attr=node_attr(),
    edge_attr=edge_attr(),
):
    data = Postgresql("Data")
    with Cluster("Train", graph_attr=cluster_attr()):
        experiments = Mlflow("Experiment\ntracking")
        pipeline = Airflow("Training\npipeline")
        registry = Mlflow("Model\nregistry")
    with Cluster("Operate", graph_attr=cluster_attr()):
        image = Docker("Model image")
        service = Deploy("Deployment")
        with Cluster("Monitoring", graph_attr=cluster_attr()):
            metrics = Prometheus("Metrics")
            dashboards = Grafana("Dashboards")

    data >> experiments >> pipeline >> registry >> image >> service >> metrics >> dashboards
    dashboards >> Edge(xlabel="drift: collect new data, retrain", style="dashed",
                       color=PALETTE["accent"], constraint="false") >> data
