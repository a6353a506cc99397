"""The last build as the preview shows it, shared by the watcher thread and the request threads."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from course_assets.errors import Problem, Severity, display_path, report_order
from course_assets.preview import pages


@dataclass(frozen=True)
class PreviewState:
    """What the last build left: its number, a hash of its outputs, and what went wrong."""

    generation: int = 0
    version: str = "none"
    problems: tuple[Problem, ...] = ()
    summary: str = ""

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)

    @property
    def ok(self) -> bool:
        return not self.errors

    def shown(self, root: Path) -> list[pages.Shown]:
        """Return the errors and figure lint warnings as the findings panel shows them."""
        from course_assets.figlint.findings import is_lint_problem

        return [pages.Shown(p.location(root), p.message if p.severity is Severity.ERROR
                            else f"warning: {p.message}", p.severity is Severity.ERROR,
                            display_path(p.path, root) if p.path is not None else "")
                for p in report_order(self.problems)
                if p.severity is Severity.ERROR or is_lint_problem(p)]

    def to_json(self, root: Path) -> str:
        """Return the state as the JSON the event stream pushes to pages."""
        from course_assets.figlint.findings import is_lint_problem

        return json.dumps({
            "generation": self.generation,
            "version": self.version,
            "ok": self.ok,
            "summary": self.summary,
            "problems": [{
                "severity": p.severity.value,
                "path": display_path(p.path, root) if p.path is not None else None,
                "line": p.line,
                "column": p.column,
                "location": p.location(root),
                "message": p.message,
                "text": p.format(root),
                "lint": is_lint_problem(p),
            } for p in report_order(self.problems)],
        })


@dataclass(frozen=True)
class _Published:
    """The state and whether the server is closing, swapped whole under the condition's lock."""

    state: PreviewState = field(default_factory=PreviewState)
    closing: bool = False


class Bulletin:
    """The last build's state: published by the watcher thread, awaited by the event streams."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._published = _Published()

    @property
    def state(self) -> PreviewState:
        return self._published.state

    def publish(self, state: PreviewState) -> None:
        """Replace the state and wake every stream waiting for a newer one."""
        with self._changed:
            self._published = _Published(state, self._published.closing)
            self._changed.notify_all()

    def close(self) -> None:
        """Tell every waiting stream that the server is closing."""
        with self._changed:
            self._published = _Published(self._published.state, closing=True)
            self._changed.notify_all()

    def next_event(self, seen: int, timeout: float) -> tuple[PreviewState | None, bool]:
        """Wait for a build newer than `seen`; return it (or None on timeout) and if closing."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._published.closing or self._published.state.generation != seen,
                timeout,
            )
            published = self._published
        fresh = published.state if published.state.generation != seen else None
        return fresh, published.closing
