"""Live preview of a course in a browser: built chapters as HTML, refreshed on every save."""

from course_assets.preview.server import PreviewError, PreviewServer, PreviewState

__all__ = ["PreviewError", "PreviewServer", "PreviewState"]
