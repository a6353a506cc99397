"""Clickstream analytics on AWS: events flow top to bottom from the web app through Kinesis
into S3, Glue turns them into Parquet, and Athena queries them for the dashboards."""

from diagrams import Cluster, Diagram, Edge
from diagrams.aws.analytics import Athena, Glue, KinesisDataFirehose, KinesisDataStreams, Quicksight
from diagrams.aws.compute import EC2
from diagrams.aws.storage import SimpleStorageServiceS3Bucket

with Diagram("Clickstream pipeline", show=False, direction="TB"):
    app = EC2("Web app")
    with Cluster("Ingest"):
        stream = KinesisDataStreams("Click stream")
        firehose = KinesisDataFirehose("Firehose")
    with Cluster("Lake"):
        raw = SimpleStorageServiceS3Bucket("Raw events")
        etl = Glue("Nightly ETL")
        curated = SimpleStorageServiceS3Bucket("Curated")
    with Cluster("Serve"):
        athena = Athena("Athena")
        dashboards = Quicksight("Dashboards")

    app >> Edge(label="events") >> stream >> firehose
    firehose >> Edge(label="JSON, partitioned by hour") >> raw
    raw >> etl >> Edge(label="write Parquet") >> curated
    curated >> Edge(label="scan") >> athena >> dashboards
