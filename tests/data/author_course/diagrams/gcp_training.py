"""Training on Google Cloud: Pub/Sub events land in BigQuery through Dataflow, Vertex AI trains
on features read from BigQuery and Cloud Storage, and the model is served on Cloud Run."""

from diagrams import Cluster, Diagram, Edge
from diagrams.gcp.analytics import Bigquery, Dataflow, Pubsub
from diagrams.gcp.compute import Run
from diagrams.gcp.ml import VertexAI
from diagrams.gcp.storage import Storage

with Diagram("Training on GCP", show=False, direction="LR"):
    events = Pubsub("Events")
    with Cluster("Data"):
        flow = Dataflow("Dataflow")
        warehouse = Bigquery("BigQuery")
        bucket = Storage("Images")
    with Cluster("Train"):
        trainer = VertexAI("Vertex AI training")
        registry = VertexAI("Model registry")
    serve = Run("Cloud Run")

    events >> flow >> Edge(label="stream inserts") >> warehouse
    warehouse >> Edge(label="features") >> trainer
    bucket >> Edge(label="images") >> trainer
    trainer >> registry >> Edge(label="deploy") >> serve
