"""What a migration found and did, image by image and chapter by chapter."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from course_assets.errors import ExitCode, display_path



class Outcome(enum.Enum):
    """What migrate does with one image."""

    CONVERTED = "converted"  # a diagrams script replaces the image
    SAVED = "saved"  # decoded but not convertible: source saved, image left as it is
    UNDECODABLE = "undecodable"  # an external image with no source to recover: redraw by hand
    ERROR = "error"  # a service link whose payload is malformed
    SKIPPED = "skipped"  # convertible, but its chapter has a malformed link and stays as it is


@dataclass(frozen=True)
class ImageReport:
    """One image of a chapter and what happened to it."""

    chapter: Path
    line: int
    kind: str  # e.g. "Kroki image", "mermaid.ink image", "PlantUML image", "Mermaid block"
    url: str | None
    language: str | None
    outcome: Outcome
    message: str
    slug: str | None = None
    output: Path | None = None  # the script or saved source it wrote (or would write)
    new_file: bool = False  # False when an earlier run already wrote exactly that file
    call: str | None = None  # what replaces a converted image in the chapter

    def format(self, root: Path | None, written: bool) -> str:
        """Return this report as one `path:line: message` line."""
        where = f"{display_path(self.chapter, root)}:{self.line}"
        output = display_path(self.output, root) if self.output else ""
        if self.outcome is Outcome.CONVERTED:
            verb = "converted" if written else "would convert"
            again = "" if self.new_file else ", which an earlier run already wrote"
            call = self.call or f'{{{{ diagram("{self.slug}") }}}}'
            note = f"; warning: {self.message}" if self.message else ""
            return f"{where}: {verb} {self.kind} to {output}{again} ({call}){note}"
        if self.outcome is Outcome.SAVED:
            if not self.new_file:
                saved = f"its {self.language} source is already saved as {output}"
            else:
                verb = "saved" if written else "would save"
                saved = f"{verb} its {self.language} source as {output}"
            return f"{where}: warning: {self.message}; {saved}; the image stays as it is"
        if self.outcome is Outcome.UNDECODABLE:
            return f"{where}: warning: {self.message}"
        if self.outcome is Outcome.SKIPPED:
            return f"{where}: {self.kind}: {self.message}"
        return f"{where}: {self.message}; the image stays as it is"


@dataclass(frozen=True)
class ChapterReport:
    """One chapter: its images, and the change to its text as a unified diff."""

    path: Path
    images: tuple[ImageReport, ...]
    diff: str = ""
    error: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.diff)


@dataclass(frozen=True)
class MigrationReport:
    """Everything one `migrate` run found, and what it wrote (or would write)."""

    root: Path
    chapters: tuple[ChapterReport, ...]
    files: tuple[Path, ...]  # new scripts and saved sources
    written: bool

    @property
    def images(self) -> tuple[ImageReport, ...]:
        return tuple(image for chapter in self.chapters for image in chapter.images)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for image in self.images if image.outcome is outcome)

    @property
    def has_errors(self) -> bool:
        return self.count(Outcome.ERROR) > 0 or any(ch.error for ch in self.chapters)

    @property
    def exit_code(self) -> ExitCode:
        """0 when everything could be read (even if some images are only reported), else 1."""
        return ExitCode.FAILED if self.has_errors else ExitCode.OK

    def summary(self) -> str:
        """Return a one-line tally of the run."""
        converted = self.count(Outcome.CONVERTED)
        parts = [
            f"{converted} converted" if self.written else f"{converted} to convert",
            f"{self.count(Outcome.SAVED)} kept (source saved)",
            f"{self.count(Outcome.UNDECODABLE)} to redraw by hand",
            f"{self.count(Outcome.ERROR)} malformed",
        ]
        if self.count(Outcome.SKIPPED):
            parts.append(f"{self.count(Outcome.SKIPPED)} held back by a malformed link")
        changed = sum(1 for chapter in self.chapters if chapter.changed)
        noun = "chapter" if changed == 1 else "chapters"
        verb = "changed" if self.written else "to change"
        return (f"{len(self.images)} image(s) in {len(self.chapters)} chapter(s): "
                f"{', '.join(parts)}; {changed} {noun} {verb}, {len(self.files)} new file(s)")
