"""Graph layout: the node geometry and label placement the build gives every figure."""
