"""What the figure lint reports, how it is silenced, and how it becomes a Problem."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course_assets.errors import Problem, Severity

# The rules, with what each finds; a script silences one with a marker line such as
#   # course-assets: allow edge-crosses-label -- the label is read before the edge
RULES = {
    "text-overlap": "text overlapping text",
    "edge-crosses-label": "an edge or arrowhead crossing a node or cluster label",
    "edge-label-away": "an edge label placed away from its edge",
    "text-leaves-cluster": "text crossing the border of a cluster",
    "arrow-in-empty-space": "an arrow that ends away from the icon and label it points at",
    "text-contrast": "text below 4.5:1 contrast against what lies behind it",
    "edge-contrast": "an edge or arrowhead below 3:1 contrast against what lies behind it",
    "icon-contrast": "an icon that mostly vanishes into its background",
}
# Every problem the figure lint reports starts so; the preview's panel shows them.
LINT_PREFIX = "figure lint "
MARKER = re.compile(r"#\s*course-assets:\s*allow\s+([a-z-]+)(?:\s*--\s*(.*))?$")


@dataclass(frozen=True, order=True)
class Finding:
    """One defect of a figure, with the script lines that made the elements involved."""

    rule: str
    message: str
    lines: tuple[int, ...] = ()
    theme: str = ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"rule": self.rule, "message": self.message,
                                "lines": list(self.lines)}
        if self.theme:
            data["theme"] = self.theme
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        return cls(str(data["rule"]), str(data["message"]),
                   tuple(int(n) for n in data.get("lines", ())), str(data.get("theme", "")))

    def problem(self, script: Path, strict: bool) -> Problem:
        """Return the finding as a problem at its first line: an error when `strict`."""
        where = f" (lines {', '.join(map(str, self.lines))})" if len(self.lines) > 1 else ""
        theme = f" in the {self.theme} theme" if self.theme else ""
        return Problem(script, self.lines[0] if self.lines else None,
                       f"{LINT_PREFIX}[{self.rule}]: {self.message}{theme}{where}",
                       Severity.ERROR if strict else Severity.WARNING)


@dataclass(frozen=True)
class Allowance:
    """A marker in a script that silences one rule for the figure, with its reason."""

    rule: str
    reason: str
    line: int


def allowances(source: str) -> tuple[list[Allowance], list[Problem]]:
    """Return the markers of a script, and a problem for each that is malformed."""
    found, problems = [], []
    for number, text in enumerate(source.splitlines(), start=1):
        match = MARKER.search(text)
        if match is None:
            continue
        rule, reason = match.group(1), (match.group(2) or "").strip()
        if rule not in RULES:
            problems.append(Problem(None, number, f"unknown figure lint rule {rule!r} in "
                                    f"'course-assets: allow' (rules: {', '.join(RULES)})"))
        elif not reason:
            problems.append(Problem(None, number, f"'course-assets: allow {rule}' needs a "
                                    f"reason: '# course-assets: allow {rule} -- why'"))
        else:
            found.append(Allowance(rule, reason, number))
    return found, problems


def silenced(findings: list[Finding], source: str) -> list[Finding]:
    """Drop the findings whose rule the script allows."""
    allowed = {a.rule for a in allowances(source)[0]}
    return [f for f in findings if f.rule not in allowed]


def is_lint_problem(problem: Problem) -> bool:
    """Say whether a problem comes from the figure lint (findings and too-small text)."""
    return problem.message.startswith(LINT_PREFIX)
