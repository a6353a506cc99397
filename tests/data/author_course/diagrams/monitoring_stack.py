"""The on-premises monitoring stack: Prometheus scrapes the node exporters of three servers,
sends alerts to Alertmanager and feeds Grafana's dashboards; Loki collects the logs."""

from diagrams import Cluster, Diagram, Edge
from diagrams.onprem.compute import Server
from diagrams.onprem.logging import Loki
from diagrams.onprem.monitoring import Grafana, Prometheus

from _style import PALETTE, cluster_attr, edge_attr, graph_attr, node_attr

with Diagram("Monitoring", show=False, direction="TB",
             graph_attr=graph_attr(splines="spline"), node_attr=node_attr(),
             edge_attr=edge_attr()):
    with Cluster("Servers", graph_attr=cluster_attr()):
        servers = [Server("app-1"), Server("app-2"), Server("db-1")]
    with Cluster("Monitoring", graph_attr=cluster_attr()):
        prometheus = Prometheus("Prometheus")
        grafana = Grafana("Grafana")
        alerts = Prometheus("Alertmanager")
        logs = Loki("Loki")
    for server in servers:
        server >> Edge(label="scrape :9100", style="dotted", color="#C0392B",
                       fontcolor="#C0392B") >> prometheus
    servers[0] >> Edge(label="logs", style="dotted", color="#2471A3") >> logs
    prometheus >> grafana
    prometheus >> Edge(label="alerts", color="#C0392B") >> alerts
    logs >> grafana
