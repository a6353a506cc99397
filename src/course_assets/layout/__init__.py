"""Graph layout: how a figure's graph is laid out, beyond what its script asks of Graphviz."""
