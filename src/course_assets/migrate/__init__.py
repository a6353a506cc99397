"""Migrate an existing course: turn diagram-service images and Mermaid blocks into figure scripts.

`migrate(paths, settings, write)` finds every image of the chapters at `paths`, decodes Kroki,
mermaid.ink and PlantUML links offline, converts Mermaid flowcharts and Graphviz DOT into plain
diagrams scripts in `diagrams/`, and replaces each converted image with `{{ diagram("name") }}`.
Sources it cannot convert are saved under `diagrams/_migrated/`; images it cannot decode at all
are reported so the author can redraw them.
"""

from course_assets.migrate.apply import MigratePathError, collect_chapters, convert, migrate, slugify
from course_assets.migrate.report import ChapterReport, ImageReport, MigrationReport, Outcome

__all__ = [
    "ChapterReport",
    "ImageReport",
    "MigratePathError",
    "MigrationReport",
    "Outcome",
    "collect_chapters",
    "convert",
    "migrate",
    "slugify",
]
