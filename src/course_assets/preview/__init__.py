"""Live preview of a course in a browser: built chapters as HTML, refreshed on every save."""

from course_assets.preview.server import PreviewError, PreviewServer
from course_assets.preview.state import PreviewState

__all__ = ["PreviewError", "PreviewServer", "PreviewState"]
