"""Which figures and chapters a build of named figures makes, and which it leaves alone."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from course_assets.config import Settings
from course_assets.errors import ConfigError
from course_assets.state.manifest import Manifest
from course_assets.state.plan import Kind, OutputPlan, Status
from course_assets.state.sources import DIAGRAM_CALL, unknown_figure


@dataclass(frozen=True)
class Selection:
    """The figures a build was asked for and the chapters that embed them (None: everything)."""

    names: frozenset[str] | None = None
    chapters: frozenset[str] = frozenset()

    @classmethod
    def of(cls, settings: Settings, asked: tuple[str, ...], figures: dict[str, Path],
           chapters: dict[str, Path], manifest: Manifest) -> Selection:
        """Resolve the names given on the command line; an unknown one is a usage error."""
        if not asked:
            return cls()
        names = set()
        for given in asked:
            name = Path(given).stem if given.endswith(".py") else given
            if name not in figures:
                raise ConfigError(unknown_figure(name, figures, given))
            names.add(name)
        embedding = {chapter for chapter, record in manifest.chapters.items()
                     if chapter in chapters and names & set(record.figures)}
        # The sources too, not only the records: a chapter new since the last build, or
        # edited since to embed one of these figures, embeds it now.
        for chapter, source in chapters.items():
            if chapter not in embedding and _mentions(source, names):
                embedding.add(chapter)
        return cls(frozenset(names), frozenset(embedding))

    def wants(self, plan: OutputPlan) -> bool:
        """Say whether this build makes `plan`'s outputs."""
        if self.names is None:
            return True
        if plan.kind is Kind.FIGURE:
            return plan.name in self.names
        if plan.kind is Kind.GALLERY:
            return True  # it shows the figures being built
        return plan.name in self.chapters

    def plans(self, plans: list[OutputPlan]) -> list[OutputPlan]:
        """Return `plans`, with those this build leaves alone marked as needing nothing."""
        if self.names is None:
            return plans
        return [plan if self.wants(plan) else _left_alone(plan) for plan in plans]


def _left_alone(plan: OutputPlan) -> OutputPlan:
    outputs = tuple(replace(output, status=Status.UNCHANGED) for output in plan.outputs)
    return replace(plan, status=Status.UNCHANGED, outputs=outputs)


def _mentions(source: Path, names: set[str]) -> bool:
    try:
        text = source.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    # A diagram("name") call, not the name quoted in the prose around it.
    return any(call.group("name") in names for call in DIAGRAM_CALL.finditer(text))
