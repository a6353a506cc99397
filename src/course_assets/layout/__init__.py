"""Graph layout: the node geometry, label placement and fitting the build gives every figure."""

# The name of the invisible points that hold a relaid figure's corners where Graphviz's own
# layout put them (layout/labels.py): nothing a reader sees, so the lint and outline skip them.
CORNER_PREFIX = "__course_assets_corner_"
