"""Every importer draws our SVGs alike: Chromium, librsvg and LibreOffice (Impress and Draw)."""

from __future__ import annotations

import pytest
from PIL import Image

from importers import (
    ICON_TOLERANCE, icon_boxes, icon_difference, with_chromium, with_libreoffice, with_rsvg,
)

pytestmark = pytest.mark.browser

CROWDED = '''
    """A crowded figure: twenty-odd icons of many shapes in nested clusters, one of them huge."""
    from diagrams import Cluster, Diagram, Edge
    from diagrams.custom import Custom
    from diagrams.onprem.database import Postgresql
    from diagrams.onprem.mlops import Mlflow
    from diagrams.onprem.monitoring import Grafana, Prometheus
    from diagrams.onprem.workflow import Airflow
    from diagrams.k8s.compute import Deploy, Pod

    with Diagram("Crowded", show=False, direction="TB"):
        with Cluster("Sources"):
            stores = [Postgresql(f"db {i}") for i in range(4)]
        with Cluster("Train"):
            with Cluster("Tracking"):
                runs = [Mlflow(f"run {i}") for i in range(3)]
            pipeline = Airflow("pipeline")
            wide = Custom("a wide logo", "icons/wide.png")
        with Cluster("Serve"):
            pods = [Pod(f"pod {i}") for i in range(5)]
            deploy = Deploy("deploy")
        with Cluster("Watch"):
            metrics, boards = Prometheus("metrics"), Grafana("boards")
        stores >> pipeline >> runs
        runs >> Edge(label="best") >> wide >> deploy >> pods
        pods >> metrics >> Edge(label="alerts") >> boards
'''


def wide_logo() -> bytes:
    """Return a 1600x400 PNG: far larger than it is shown, and not square."""
    import io

    image = Image.new("RGBA", (1600, 400), (0, 0, 0, 0))
    for x in range(0, 1600, 200):
        image.paste((200, 40 + x // 10, 90, 255), (x, 0, x + 120, 400))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def built_svgs(repo_course, tmp_path):
    repo_course.write("icons/wide.png", "")
    (repo_course.root / "icons/wide.png").write_bytes(wide_logo())
    repo_course.write("diagrams/crowded.py", CROWDED)
    result = repo_course.run("build", "-q")
    assert result.exit_code == 0, result.output
    return sorted((repo_course.root / "build/diagrams").glob("*.svg"))


def test_every_icon_is_drawn_in_its_place_and_size_by_every_importer(built_svgs, page,
                                                                       tmp_path):
    names = {svg.stem for svg in built_svgs}
    assert {"crowded", "mlops_workflow", "mlops_workflow.dark"} <= names
    drawn_by_libreoffice = with_libreoffice(built_svgs, tmp_path / "scratch")
    compared = 0
    for svg in built_svgs:
        chromium = with_chromium(page, svg)
        others = {"librsvg": with_rsvg(svg), "LibreOffice": drawn_by_libreoffice[svg]}
        for box in icon_boxes(svg):
            for renderer, drawn in others.items():
                difference = icon_difference(chromium, drawn, box)
                assert difference <= ICON_TOLERANCE, (
                    f"{svg.name}: the icon at {box} differs by {difference:.3f} between "
                    f"Chromium and {renderer}")
            compared += 1
    assert compared >= 2 * 8 + 20


def test_a_large_icon_is_embedded_at_the_size_it_is_shown(built_svgs):
    from svgtools import decode_png, parse, placed_icons

    root = parse(next(svg for svg in built_svgs if svg.stem == "crowded"))
    scale = float(root.get("width")) / float(root.get("viewBox").split()[2])
    sizes = []
    for icon in placed_icons(root):
        png = decode_png(icon.uri)
        shown = icon.width * scale, icon.height * scale
        # At most twice the CSS pixels it is shown at, never more than its source has.
        assert png.size[0] <= 2 * shown[0] + 1 and png.size[1] <= 2 * shown[1] + 1
        sizes.append(png.size)
    assert any(w > 2 * h for w, h in sizes)  # the wide logo, scaled down from 1600x400
    assert max(w for w, _ in sizes) < 1600
