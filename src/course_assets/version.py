"""The version of course-assets (the manifest records it: it shapes what a build writes)."""

__version__ = "0.6.1"
