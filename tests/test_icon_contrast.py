"""The icon-contrast measure on real icons: the shares it returns, pinned to the float.

The values were computed by the measure as it was before it judged each colour once instead
of each pixel (a pixel-by-pixel flood fill, and an 11x11 scan around every rim pixel). The
faster measure must return the very same floats, so that no figure's findings change.
"""

from __future__ import annotations

import base64

import pytest

from conftest import library_icon
from course_assets.figlint.contrast import _lost_share, lost_share, parse_colour

PINNED = [
    # MLflow's white "ml" vanishes on white and on light clusters, and more on grey.
    ("mlops/mlflow.png", "#FFFFFF", 0.3139904610492846),
    ("mlops/mlflow.png", "#EEF7EE", 0.31558028616852146),
    ("mlops/mlflow.png", "#808080", 0.6319554848966613),
    ("mlops/mlflow.png", "#0D1117", 0.0),
    # Airflow's light petals meet its dark ones: almost nothing is lost on white.
    ("workflow/airflow.png", "#FFFFFF", 0.0024132730015082957),
    ("workflow/airflow.png", "#808080", 0.6517848164906989),
    # Grafana's orange gradient: more of it vanishes the closer the background comes to it.
    ("monitoring/grafana.png", "#EEF7EE", 0.04829268292682927),
    ("monitoring/grafana.png", "#E6EDF3", 0.1313821138211382),
    ("monitoring/grafana.png", "#808080", 0.49414634146341463),
    ("database/postgresql.png", "#FFFFFF", 0.0),
    ("database/postgresql.png", "#808080", 0.18010444529359318),
    # Kafka's black logo on the dark page: all of it.
    ("queue/kafka.png", "#0D1117", 1.0),
]


def icon_uri(name: str) -> str:
    return "data:image/png;base64," + base64.b64encode(library_icon(name)).decode()


@pytest.mark.parametrize(("icon", "background", "share"), PINNED)
def test_an_icons_lost_share_is_the_same_float_as_before(icon, background, share):
    assert lost_share(icon_uri(icon), parse_colour(background)) == share


@pytest.mark.parametrize(("icon", "background", "share"), PINNED)
def test_the_lost_share_is_the_same_when_colours_are_ranked_one_by_one(icon, background,
                                                                       share):
    # Pillow's integer luminances keep the exact ones' order unless two of an icon's colours
    # are within about 3/scale of each other; then each colour's rank is looked up per pixel.
    # At the real scale that happens to about one icon and background in 2,500; at 2**8 to
    # nearly all, so this takes that path.
    assert _lost_share(icon_uri(icon), parse_colour(background), scale=2**8) == share
