"""A request's path, right to left: the browser calls the API through the load balancer, the
API reads from the cache and falls back to the database."""

from diagrams import Diagram, Edge, Node
from diagrams.onprem.client import Client
from diagrams.onprem.database import Postgresql
from diagrams.onprem.inmemory import Redis
from diagrams.onprem.network import Haproxy

from _style import box, edge_attr, graph_attr, node_attr

with Diagram("A request's path", show=False, direction="RL",
             graph_attr=graph_attr(splines="spline"), node_attr=node_attr(),
             edge_attr=edge_attr()):
    browser = Client("Browser")
    balancer = Haproxy("Load balancer")
    api = box("API", "FastAPI")
    cache = Redis("Cache")
    database = Postgresql("Database")
    decision = Node("cache hit?", shape="diamond", fixedsize="false", labelloc="c")
    browser >> Edge(label="HTTPS") >> balancer >> api >> decision
    decision >> Edge(label="yes") >> cache
    decision >> Edge(label="no", style="dashed", color="#D35400") >> database
