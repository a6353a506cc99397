"""Figure scripts to SVG and PNG: capture the graph in an isolated child, lay it out, post-process."""
