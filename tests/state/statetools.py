"""Helpers for the state tests: a course whose outputs and manifest are written by hand."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from course_assets.config import Settings, settings_from_table
from course_assets.state.files import FileHashes, sha256_bytes
from course_assets.state.inputs import chapter_inputs, figure_inputs
from course_assets.state.manifest import ChapterRecord, FigureRecord, Manifest
from course_assets.state.plan import Planner

# What a build records about the machine; any fixed values will do for planning.
ENVIRONMENT = {"course-assets": "0.1.0", "diagrams": "0.23.4", "graphviz": "9.0.0",
               "pillow": "11.0.0"}


@dataclass
class StateCourse:
    """Sources and built files on disk, and the manifest a build would have recorded for them."""

    settings: Settings
    manifest: Manifest = field(default_factory=Manifest)

    @property
    def root(self) -> Path:
        return self.settings.root

    def write(self, relative: str, data: bytes | str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    def script(self, name: str, text: str = "") -> Path:
        return self.write(f"diagrams/{name}.py", text or f'"""The {name} figure."""\n')

    def built_figure(self, name: str, helpers: tuple[str, ...] = ()) -> FigureRecord:
        """Write a figure's script and outputs, and record them as a build would."""
        script = self.settings.diagrams_dir / f"{name}.py"
        if not script.exists():
            self.script(name)
        outputs = {}
        for path in self.settings.outputs.figure_outputs(name):
            data = f"<{path} as built>".encode()
            self.write(path, data)
            outputs[path] = sha256_bytes(data)
        record = FigureRecord(
            script=self.settings.outputs.relative(script), helpers=helpers,
            inputs=figure_inputs(self.settings, script, helpers, ENVIRONMENT),
            title=name.title(), description=f"The {name} figure.", outputs=outputs)
        self.manifest = replace(self.manifest, environment=ENVIRONMENT,
                                figures={**self.manifest.figures, name: record})
        return record

    def built_chapter(self, name: str, uses: tuple[str, ...] = ()) -> ChapterRecord:
        """Write a chapter's source and built Markdown, and record them as a build would."""
        source = self.write(f"chapters/{name}.md", f"# {name}\n")
        output = self.settings.outputs.chapter_output(name)
        data = f"# {name} as built\n".encode()
        self.write(output, data)
        record = ChapterRecord(
            source=self.settings.outputs.relative(source), figures=uses,
            inputs=chapter_inputs(self.settings, source, uses, self.manifest.figures, ENVIRONMENT),
            outputs={output: sha256_bytes(data)})
        self.manifest = replace(self.manifest, environment=ENVIRONMENT,
                                chapters={**self.manifest.chapters, name: record})
        return record

    def planner(self, force: bool = False, environment: dict[str, str] | None = None) -> Planner:
        return Planner(self.settings, self.manifest, environment or ENVIRONMENT, FileHashes(),
                       force)

    def scripts(self) -> dict[str, Path]:
        return {p.stem: p for p in sorted(self.settings.diagrams_dir.glob("*.py"))
                if not p.name.startswith("_")}

    def chapters(self) -> dict[str, Path]:
        return {p.stem: p for p in sorted(self.settings.chapters_dir.glob("*.md"))}


def make_settings(root: Path, **table: object) -> Settings:
    """Return the settings of a course at `root` with `table` as its [tool.course-assets]."""
    root.mkdir(parents=True, exist_ok=True)
    pyproject = root / "pyproject.toml"
    pyproject.write_text("[tool.course-assets]\n", encoding="utf-8")
    return settings_from_table(root, pyproject, dict(table))
