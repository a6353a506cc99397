"""A course author's first hour: real upstream examples, through the real commands."""

from __future__ import annotations

import contextlib
import functools
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

from conftest import library_icon

# The diagrams documentation's "RabbitMQ Consumers with Custom Nodes", as written there but for
# the icon's URL, which points at a server of the test's own.
RABBITMQ = '''\
from urllib.request import urlretrieve

from diagrams import Cluster, Diagram
from diagrams.aws.database import Aurora
from diagrams.custom import Custom
from diagrams.k8s.compute import Pod

# Download an image to be used into a Custom Node class
rabbitmq_url = "{url}"
rabbitmq_icon = "rabbitmq.png"
urlretrieve(rabbitmq_url, rabbitmq_icon)

with Diagram("Broker Consumers", show=False):
    with Cluster("Consumers"):
        consumers = [
            Pod("worker"),
            Pod("worker"),
            Pod("worker")]

    queue = Custom("Message queue", rabbitmq_icon)

    queue >> consumers >> Aurora("Database")
'''

# The diagrams documentation's "Advanced Web Service with On-Premise", as written there.
ADVANCED_WEB_SERVICE = '''\
from diagrams import Cluster, Diagram
from diagrams.onprem.analytics import Spark
from diagrams.onprem.compute import Server
from diagrams.onprem.database import PostgreSQL
from diagrams.onprem.inmemory import Redis
from diagrams.onprem.logging import Fluentd
from diagrams.onprem.monitoring import Grafana, Prometheus
from diagrams.onprem.network import Nginx
from diagrams.onprem.queue import Kafka

with Diagram("Advanced Web Service with On-Premise", show=False):
    ingress = Nginx("ingress")

    metrics = Prometheus("metric")
    metrics << Grafana("monitoring")

    with Cluster("Service Cluster"):
        grpcsvc = [
            Server("grpc1"),
            Server("grpc2"),
            Server("grpc3")]

    with Cluster("Sessions HA"):
        primary = Redis("session")
        primary - Redis("replica") << metrics
        grpcsvc >> primary

    with Cluster("Database HA"):
        primary = PostgreSQL("users")
        primary - PostgreSQL("replica") << metrics
        grpcsvc >> primary

    aggregator = Fluentd("logging")
    aggregator >> Kafka("stream") >> Spark("analytics")

    ingress >> grpcsvc >> aggregator
'''


@contextlib.contextmanager
def icon_server(folder: Path) -> Iterator[str]:
    """Serve `folder` over HTTP on 127.0.0.1; yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def closed_port() -> int:
    """Return a local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- 1. scripts that download their own icons ------------------------------------------------------

def test_upstream_rabbitmq_example_builds_with_its_downloaded_icon_and_a_warning(course, tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    icon = library_icon("queue/rabbitmq.png")
    (served / "icon.png").write_bytes(icon)
    course.chapter("queues", '# Queues\n\n{{ diagram("rabbitmq") }}\n')
    with icon_server(served) as base:
        url = f"{base}/icon.png"
        course.write("diagrams/rabbitmq.py", RABBITMQ.format(url=url))
        result = course.run("build")
    assert result.exit_code == 0, result.output
    svg = course.built("diagrams/rabbitmq.svg").read_text()
    import base64

    assert base64.b64encode(icon).decode()[:200] in svg  # the downloaded icon, embedded
    assert "rabbitmq.png" not in svg and "http" not in svg.replace("http://www.w3.org", "")
    assert course.built("chapters/queues.md").is_file()
    # The warning names the server, the line of the download, and the command that fixes it.
    assert (f"diagrams/rabbitmq.py:11: warning: the script downloaded {url} while building"
            in result.output)
    assert f"curl -fsSL -o diagrams/rabbitmq.png {url}" in result.output
    assert "delete the download at line 11" in result.output
    assert not list((course.root / "diagrams").rglob("*.png"))  # nothing left in the course
    assert not (course.root / "rabbitmq.png").exists()


def test_upstream_rabbitmq_example_without_a_network_says_what_it_tried(course):
    url = f"http://127.0.0.1:{closed_port()}/icon.png"
    course.write("diagrams/rabbitmq.py", RABBITMQ.format(url=url))
    result = course.run("build")
    assert result.exit_code == 1
    line = next(line for line in result.output.splitlines() if "rabbitmq.py:" in line)
    assert line.startswith("diagrams/rabbitmq.py:11: the script tried to download " + url)
    assert "a figure must build without a network" in line
    assert f"curl -fsSL -o diagrams/rabbitmq.png {url}" in line
    assert "icon file not found" not in result.output


def test_following_the_fix_builds_the_rabbitmq_example_offline(course):
    url = f"http://127.0.0.1:{closed_port()}/icon.png"
    script = RABBITMQ.format(url=url).replace("urlretrieve(rabbitmq_url, rabbitmq_icon)\n", "")
    course.write("diagrams/rabbitmq.py", script)
    (course.root / "diagrams/rabbitmq.png").write_bytes(library_icon("queue/rabbitmq.png"))
    result = course.run("build")
    assert result.exit_code == 0, result.output
    assert "download" not in result.output


# -- 2. a class that moved in the library -------------------------------------------------------

def test_upstream_advanced_web_service_example_says_where_fluentd_is_now(course):
    course.write("diagrams/web_service.py", ADVANCED_WEB_SERVICE)
    result = course.run("build")
    assert result.exit_code == 1
    assert ("diagrams/web_service.py:6: ImportError: cannot import name 'Fluentd' from "
            "'diagrams.onprem.logging': the installed diagrams ") in result.output
    assert "has it in diagrams.onprem.aggregator; write " \
        "`from diagrams.onprem.aggregator import Fluentd`" in result.output
    fixed = ADVANCED_WEB_SERVICE.replace("diagrams.onprem.logging", "diagrams.onprem.aggregator")
    course.write("diagrams/web_service.py", '"""A web service on premises."""\n' + fixed)
    assert course.run("build").exit_code == 0


def test_a_misspelt_library_class_gets_the_closest_names(course):
    course.figure("typo", 'Fluentdd("logs")').write_text(
        '"""Typo."""\nfrom diagrams import Diagram\nfrom diagrams.onprem.aggregator import Fluentdd\n'
        'with Diagram("Typo", show=False):\n    Fluentdd("logs")\n')
    result = course.run("build")
    assert result.exit_code == 1
    assert "has no class of that name; the closest are diagrams.onprem.aggregator.Fluentd" \
        in result.output


# -- 3. a failed figure does not stop its chapters -------------------------------------------------

BROKEN = 'Mlflow("tracking") >> Airflow("pipeline")\nraise RuntimeError("half-way through")'


def test_a_figure_that_never_built_leaves_a_placeholder_until_it_builds(course):
    course.figure("good")
    course.figure("broken", BROKEN)
    course.chapter("intro", '# Intro\n\n{{ diagram("good") }}\n\n{{ diagram("broken") }}\n')
    result = course.run("build")
    assert result.exit_code == 1
    chapter = course.built("chapters/intro.md").read_text()
    assert "../diagrams/good.svg" in chapter
    assert "Figure 'broken' is missing" in chapter and "diagrams/broken.py" in chapter
    # The cause (the script's error) comes before its consequence (the chapter's placeholder).
    cause = result.output.index("diagrams/broken.py:")
    consequence = result.output.index("chapters/intro.md:5: figure 'broken' has not built")
    assert cause < consequence
    assert "placeholder" in result.output
    # A second build still fails and says so; check says why the figure never built.
    again = course.run("build")
    assert again.exit_code == 1 and "shows a placeholder for figure 'broken'" in again.output
    check = course.run("check")
    assert check.exit_code != 0
    assert ("never built: its last build failed: diagrams/broken.py:8: RuntimeError: "
            "half-way through") in check.output
    assert "chapters/intro.md: shows a placeholder for figure 'broken'" in check.output
    assert check.output.index("never built") < check.output.index("shows a placeholder")
    # Fixed, the figure builds and the placeholder goes.
    course.figure("broken")
    assert course.run("build").exit_code == 0
    assert "is missing" not in course.built("chapters/intro.md").read_text()
    assert course.run("check").exit_code == 0


def test_a_figure_that_breaks_keeps_its_last_good_version_in_the_chapter(course):
    course.figure("flow")
    course.chapter("intro", '# Intro\n\n{{ diagram("flow") }}\n\nMore text.\n')
    assert course.run("build").exit_code == 0
    svg = course.built("diagrams/flow.svg").read_bytes()
    course.figure("flow", BROKEN)
    course.chapter("intro", '# Intro\n\n{{ diagram("flow") }}\n\nEdited text.\n')
    result = course.run("build")
    assert result.exit_code == 1
    chapter = course.built("chapters/intro.md").read_text()
    assert "Edited text." in chapter and "../diagrams/flow.svg" in chapter
    assert course.built("diagrams/flow.svg").read_bytes() == svg
    assert ("chapters/intro.md: warning: shows the last good version of figure 'flow', which "
            "failed to build; it stays stale until diagrams/flow.py builds") in result.output
    check = course.run("check")
    assert "build/diagrams/flow.svg: stale" in check.output
    assert "its last build failed: diagrams/flow.py:8: RuntimeError" in check.output
