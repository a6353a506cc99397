"""Graph layout: the node geometry, label placement and fitting the build gives every figure."""

# Nothing a reader sees: the lint and the outline skip these points, so the lint defines them.
from course_assets.figlint.geometry import CORNER_PREFIX, ROW_POINT_PREFIX

__all__ = ["CORNER_PREFIX", "ROW_POINT_PREFIX"]
