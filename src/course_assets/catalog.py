"""Describe the course's figures from their scripts and the last build's manifest."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from course_assets.config import Settings
from course_assets.state.manifest import load_manifest
from course_assets.state.sources import discover, figure_description


@dataclass(frozen=True)
class FigureEntry:
    """One figure as an author looks it up."""

    name: str
    script: str
    title: str
    description: str
    chapters: tuple[str, ...]
    outputs: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def figure_catalog(settings: Settings) -> list[FigureEntry]:
    """Return every figure script, with what the last build learnt of it."""
    sources = discover(settings)
    manifest = load_manifest(settings.outputs.manifest, settings.outputs)
    entries = []
    for name, script in sorted(sources.figures.items()):
        record = manifest.figures.get(name)
        users = tuple(sorted(chapter for chapter, r in manifest.chapters.items()
                             if name in r.figures))
        entries.append(FigureEntry(
            name=name,
            script=settings.outputs.relative(script),
            title=record.title if record else "",
            description=" ".join((figure_description(script) or "").split()),
            chapters=users,
            outputs=tuple(sorted(record.outputs)) if record else (),
        ))
    return entries
