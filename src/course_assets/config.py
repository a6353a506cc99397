"""Find the course root and read its `[tool.course-assets]` settings."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course_assets.errors import ConfigError
from course_assets.outputs import OutputPaths

TABLE = "course-assets"

# Every setting a course may put in [tool.course-assets], with its default and type.
# A figure's PNG fits a 16:9 slide this many pixels wide: twice the 1280 x 720 slide the decks
# are laid out for, as sharp as a 1440p screen shows it. (A 4K slide, 3840, has 2.25 times the
# pixels to paint and encode for every figure larger than a slide.)
DEFAULT_PNG_MAX_SIDE = 2560

DEFAULTS: dict[str, Any] = {
    "diagrams": "diagrams",
    "chapters": "chapters",
    "build": "build",
    "templates": "templates",
    "timeout": 60.0,
    "jobs": 0,
    "padding": 0.15,
    "formats": ["svg", "png", "dark"],
    "png_max_side": DEFAULT_PNG_MAX_SIDE,
    "pptx": True,
    # Hosts (`photos.example.com`) or URL prefixes (`example.com/team/`) a chapter may show
    # images from; any other external image is a warning, and an error with --strict.
    "external_images": [],
    # Lay a figure out anew where the author's layout shows text too small to read.
    "fit": True,
}
FORMATS = ("svg", "png", "dark")
MAX_TIMEOUT = 86400
# A PNG side below this is too small to read; above the upper one, too big for any slide tool.
PNG_SIDE_RANGE = (256, 16384)


@dataclass(frozen=True)
class Settings:
    """Where a course keeps its sources and outputs, and how to build it."""

    root: Path
    pyproject: Path
    diagrams_dir: Path
    chapters_dir: Path
    build_dir: Path
    templates_dir: Path
    timeout: float = 60.0
    jobs: int = 0
    padding: float = 0.15
    formats: tuple[str, ...] = ("svg", "png", "dark")
    png_max_side: int = DEFAULT_PNG_MAX_SIDE
    # PowerPoint decks per chapter; they need the PNGs (their pictures' fallback), so a course
    # that leaves `pptx` unset and turns the PNGs off gets none (see settings_from_table).
    pptx: bool = True
    external_images: tuple[str, ...] = ()
    fit: bool = True
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @functools.cached_property
    def outputs(self) -> OutputPaths:
        """Return the table of every output path this course's builds write."""
        return OutputPaths(self.root, self.build_dir, self.formats,
                           pptx=self.pptx and "png" in self.formats)

    def worker_count(self, requested: int | None = None) -> int:
        jobs = requested or self.jobs or os.cpu_count() or 1
        return max(1, jobs)

    def fingerprint(self) -> str:
        """Hash the settings that change what a build writes (not how fast or how patiently)."""
        return self._fingerprint

    @functools.cached_property
    def _fingerprint(self) -> str:
        # Worked out once: every figure's and chapter's inputs start with it.
        # Which external images are allowed changes what is reported, never a byte written.
        relevant = {k: v for k, v in self.raw.items()
                    if k not in {"jobs", "timeout", "external_images"}}
        relevant["formats"] = sorted(relevant.get("formats", []))
        if relevant.get("pptx") is True:
            # Added after courses were built: keeping its default keeps the fingerprint they
            # had, so upgrading re-renders no figure; turning it off changes it.
            del relevant["pptx"]
        blob = json.dumps(relevant, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()


def find_course_root(start: Path) -> Path:
    """Return the nearest folder at or above `start` whose pyproject.toml has the table."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        from course_assets.reading import kind_problem

        odd = kind_problem(candidate) if candidate.exists() else None
        if odd is not None:
            raise ConfigError(f"{candidate}: {odd}")
        if candidate.is_file() and TABLE in _read_tool_table(candidate):
            return folder
    raise ConfigError(
        f"no course found: no pyproject.toml with a [tool.{TABLE}] table in {start} "
        "or any folder above it (add an empty [tool.course-assets] table to mark the course root)"
    )


def _read_tool_table(pyproject: Path) -> dict[str, Any]:
    try:
        from course_assets.reading import read_source

        data = tomllib.loads(read_source(pyproject).decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject}: invalid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{pyproject}: cannot read: {exc}") from exc
    tool = data.get("tool", {})
    return tool if isinstance(tool, dict) else {}


def load_settings(start: Path | None = None) -> Settings:
    """Read the settings of the course that contains `start` (default: the working directory)."""
    root = find_course_root(start or Path.cwd())
    pyproject = root / "pyproject.toml"
    table = _read_tool_table(pyproject).get(TABLE)
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.{TABLE}] must be a table")
    return settings_from_table(root, pyproject, table)


def settings_from_table(root: Path, pyproject: Path, table: dict[str, Any]) -> Settings:
    """Validate a `[tool.course-assets]` table and fill in the defaults."""
    root = root.resolve()
    unknown = sorted(set(table) - set(DEFAULTS))
    if unknown:
        raise ConfigError(
            f"{pyproject}: unknown setting(s) in [tool.{TABLE}]: {', '.join(unknown)} "
            f"(known: {', '.join(sorted(DEFAULTS))})"
        )
    merged = {**DEFAULTS, **table}
    for key in ("diagrams", "chapters", "build", "templates"):
        if not isinstance(merged[key], str) or not merged[key]:
            raise ConfigError(f"{pyproject}: [tool.{TABLE}] {key} must be a folder name")
    if not _is_number(merged["timeout"]) or not 0 < merged["timeout"] <= MAX_TIMEOUT:
        raise ConfigError(f"{pyproject}: [tool.{TABLE}] timeout must be a number of seconds "
                          f"above 0 and at most {MAX_TIMEOUT}")
    if not _is_number(merged["padding"]) or not 0 <= merged["padding"] <= 100:
        raise ConfigError(f"{pyproject}: [tool.{TABLE}] padding must be a number of inches "
                          "from 0 to 100")
    if isinstance(merged["jobs"], bool) or not isinstance(merged["jobs"], int) or merged["jobs"] < 0:
        raise ConfigError(f"{pyproject}: [tool.{TABLE}] jobs must be a whole number (0: one per CPU)")
    side = merged["png_max_side"]
    low, high = PNG_SIDE_RANGE
    if isinstance(side, bool) or not isinstance(side, int) or not low <= side <= high:
        raise ConfigError(f"{pyproject}: [tool.{TABLE}] png_max_side must be a whole number of "
                          f"pixels from {low} to {high}")
    if not isinstance(merged["fit"], bool):
        raise ConfigError(f"{pyproject}: [tool.{TABLE}] fit must be true or false (false: keep "
                          "every figure as its script lays it out)")
    formats = merged["formats"]
    if not isinstance(formats, list) or not all(f in FORMATS for f in formats) or "svg" not in formats:
        raise ConfigError(
            f"{pyproject}: [tool.{TABLE}] formats must be a list drawn from {list(FORMATS)} "
            "and include \"svg\""
        )
    pptx = merged["pptx"]
    if not isinstance(pptx, bool):
        raise ConfigError(f"{pyproject}: [tool.{TABLE}] pptx must be true or false")
    if table.get("pptx") is True and "png" not in formats:
        raise ConfigError(
            f"{pyproject}: [tool.{TABLE}] pptx = true needs \"png\" in formats: a PowerPoint "
            "deck shows each figure's PNG where a slide tool cannot draw its SVG (add \"png\" "
            "to formats, or set pptx = false)")
    pptx = pptx and "png" in formats
    allowed = merged["external_images"]
    if not isinstance(allowed, list) or not all(isinstance(a, str) and _names_a_host(a)
                                                for a in allowed):
        raise ConfigError(
            f"{pyproject}: [tool.{TABLE}] external_images must be a list of hosts or URL "
            "prefixes, e.g. [\"photos.example.com\", \"example.com/team/\"]")
    folders = {key: (root / merged[key]).resolve() for key in ("diagrams", "chapters", "build",
                                                               "templates")}
    for key, folder in folders.items():
        if folder == root or root not in folder.parents:
            raise ConfigError(f"{pyproject}: [tool.{TABLE}] {key} must be a folder inside the "
                              f"course, not {merged[key]!r}")
    for key in ("diagrams", "chapters", "templates"):
        source, build = folders[key], folders["build"]
        if source == build or build in source.parents or source in build.parents:
            # The build would read its own outputs as sources, and grow with every run.
            raise ConfigError(f"{pyproject}: [tool.{TABLE}] build ({merged['build']!r}) and "
                              f"{key} ({merged[key]!r}) must not contain each other")
    diagrams_dir = root / merged["diagrams"]
    if (diagrams_dir / "__init__.py").exists():
        raise ConfigError(
            f"{diagrams_dir / '__init__.py'}: remove this file: it makes the figures folder a "
            "package named 'diagrams' that shadows the diagrams library"
        )
    return Settings(
        root=root,
        pyproject=pyproject,
        diagrams_dir=diagrams_dir,
        chapters_dir=root / merged["chapters"],
        build_dir=root / merged["build"],
        templates_dir=root / merged["templates"],
        timeout=float(merged["timeout"]),
        jobs=merged["jobs"],
        padding=float(merged["padding"]),
        formats=tuple(dict.fromkeys(formats)),
        png_max_side=side,
        pptx=pptx,
        external_images=tuple(allowed),
        fit=merged["fit"],
        raw=merged,
    )


def _names_a_host(entry: str) -> bool:
    # Imported here: only a course that lists hosts pays for the Markdown linter's imports.
    from course_assets.image_hosts import entry_host

    return bool(entry_host(entry))


def _is_number(value: object) -> bool:
    # bool is an int subclass, and `timeout = true` is a mistake, not 1 second.
    return isinstance(value, (int, float)) and not isinstance(value, bool)
