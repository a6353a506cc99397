"""Nightly batch scoring, top to bottom: the scheduler starts a job that reads yesterday's
orders, scores them with the model, and writes the scores where the CRM and the reports find them."""

from diagrams import Cluster, Diagram, Edge
from diagrams.onprem.database import Postgresql
from diagrams.onprem.workflow import Airflow
from diagrams.programming.language import Python
from diagrams.onprem.analytics import Spark

from _style import cluster_attr, edge_attr, graph_attr, node_attr

with Diagram("Nightly batch scoring", show=False, direction="TB",
             graph_attr=graph_attr(), node_attr=node_attr(), edge_attr=edge_attr()):
    scheduler = Airflow("Scheduler")
    with Cluster("Scoring job", graph_attr=cluster_attr()):
        reader = Spark("Read orders")
        scorer = Python("Score")
        writer = Spark("Write scores")
    orders = Postgresql("Orders")
    scores = Postgresql("Scores")
    scheduler >> Edge(label="02:00 daily") >> reader
    orders >> Edge(label="yesterday") >> reader
    reader >> scorer >> writer
    writer >> Edge(label="upsert", color="#1A5276") >> scores
