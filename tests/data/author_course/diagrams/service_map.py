"""The service map: forty services in eight domains, each calling the next domain's services,
with every domain behind the gateway."""

from diagrams import Cluster, Diagram
from diagrams.onprem.compute import Server
from diagrams.onprem.network import Nginx

DOMAINS = ["Accounts", "Catalog", "Cart", "Orders", "Payments", "Shipping", "Search", "Reviews"]

with Diagram("Service map", show=False):
    gateway = Nginx("gateway")
    previous = None
    for domain in DOMAINS:
        with Cluster(domain):
            services = [Server(f"{domain.lower()}-{n}") for n in range(1, 6)]
        gateway >> services[0]
        if previous is not None:
            previous[-1] >> services[0]
        for first, second in zip(services, services[1:]):
            first >> second
        previous = services
