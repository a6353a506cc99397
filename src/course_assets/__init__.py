"""Course figures as code: diagrams scripts rendered to self-contained SVG, embedded in chapters."""

__version__ = "0.1.0"
