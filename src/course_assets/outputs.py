"""Where every output goes: the one table of output paths, and of paths relative to the course."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# Files the build keeps for this machine only (git ignores them through build/.gitignore).
LOCK = ".lock"
HASH_CACHE = ".hash-cache.json"
MACHINE_FILES = (LOCK, HASH_CACHE)
# What earlier versions kept there and a build now removes.
RETIRED_MACHINE_FILES = (".graphviz-version",)


@dataclass(frozen=True)
class OutputPaths:
    """Name every file a build writes, as a path relative to the course root, with slashes.

    Paths in the manifest, in problems and in the plans are all of this form; `absolute` turns
    one back into a file on disk.
    """

    root: Path
    build_dir: Path
    formats: tuple[str, ...] = ("svg",)
    # Whether each chapter also gets PowerPoint decks (config.Settings.pptx_decks says when).
    pptx: bool = False

    @property
    def figures_dir(self) -> Path:
        return self.build_dir / "diagrams"

    @property
    def chapters_dir(self) -> Path:
        return self.build_dir / "chapters"

    @property
    def slides_dir(self) -> Path:
        return self.build_dir / "slides"

    @property
    def manifest(self) -> Path:
        return self.build_dir / "manifest.json"

    @property
    def lock(self) -> Path:
        return self.build_dir / LOCK

    @property
    def hash_cache(self) -> Path:
        return self.build_dir / HASH_CACHE

    @property
    def gitignore(self) -> Path:
        return self.build_dir / ".gitignore"

    def relative(self, path: Path) -> str:
        """Return `path` relative to the course root, with slashes."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:  # reached through a link or a relative path: compare real locations
            return path.resolve().relative_to(self.root.resolve()).as_posix()

    def owns(self, path: str) -> bool:
        """Say whether a course-relative path names a file inside the build folder.

        Absolute paths, `..`, backslashes and the build folder itself are never ours.
        """
        if not path or "\\" in path or "\0" in path or path.startswith("/"):
            return False
        # Strings, not PurePosixPath: asked of every output of every build. Only a path in its
        # plain form counts: no empty, `.` or `..` segment (a trailing slash is let be).
        parts = path.rstrip("/").split("/")
        if any(part in ("", ".", "..") for part in parts):
            return False
        build = self._build_folder.parts
        return len(parts) > len(build) and tuple(parts[:len(build)]) == build

    @functools.cached_property
    def _build_folder(self) -> PurePosixPath:
        # Asked for every output of every build: worked out once.
        return PurePosixPath(self.relative(self.build_dir))

    @functools.cached_property
    def _folders(self) -> dict[str, str]:
        # Every output path is one of these folders and a file name; worked out once, as a
        # build with nothing to do names each of a hundred figures' files several times.
        return {"figures_dir": self.relative(self.figures_dir),
                "chapters_dir": self.relative(self.chapters_dir),
                "slides_dir": self.relative(self.slides_dir)}

    def _inside(self, folder: str, file_name: str) -> str:
        """Return `folder / file_name` relative to the course root, with slashes."""
        relative = self._folders[folder]
        return file_name if relative == "." else f"{relative}/{file_name}"

    def absolute(self, path: str) -> Path:
        """Return the file on disk for a course-relative output path."""
        return self.root / path

    def figure_variants(self, name: str) -> tuple[str, ...]:
        """Return the stems a figure is written as: light, and dark when that format is on."""
        return (name, f"{name}.dark") if "dark" in self.formats else (name,)

    def figure_outputs(self, name: str, slide_file: bool = False) -> tuple[str, ...]:
        """Return the outputs a figure has with the course's formats.

        With `slide_file` (the figure's manifest record says so), also the files of the layout
        fitted to slides: `name.slide.svg`, `name.slide.dark.svg`, and the PNGs are theirs
        (see `png_variants`).
        """
        stems = self.figure_variants(name)
        if slide_file:
            stems += self.slide_variants(name)
        with_png = self.png_variants(name, slide_file)
        return (*(self._inside("figures_dir", f"{stem}.{suffix}")
                  for stem in stems for suffix in ("svg", "png")
                  if suffix == "svg" or stem in with_png),
                self.figure_outline(name))

    def png_variants(self, name: str, slide_file: bool = False) -> tuple[str, ...]:
        """Return the stems a figure's PNGs are written as (none without the "png" format).

        A PNG serves slides, so it is of the layout the slides show: the slides' own where the
        figure has one (`slide_file`), else the chapter's.
        """
        if "png" not in self.formats:
            return ()
        return self.slide_variants(name) if slide_file else self.figure_variants(name)

    def figure_png(self, name: str, dark: bool = False, slide_file: bool = False) -> str | None:
        """Return where a figure's light or dark PNG goes; None where the formats make none."""
        stems = self.png_variants(name, slide_file)
        wanted = 1 if dark else 0
        if len(stems) <= wanted:
            return None
        return self._inside("figures_dir", f"{stems[wanted]}.png")

    def slide_variants(self, name: str) -> tuple[str, ...]:
        """Return the stems of a figure's slide layout: light, and dark when that format is on."""
        return tuple(stem.replace(name, f"{name}.slide", 1) for stem in self.figure_variants(name))

    def slide_figure(self, name: str, dark: bool = False, suffix: str = "svg") -> str:
        """Return where a figure's slide layout (`name.slide[.dark].svg|png`) goes."""
        stem = f"{name}.slide.dark" if dark else f"{name}.slide"
        return self._inside("figures_dir", f"{stem}.{suffix}")

    def figure_outline(self, name: str) -> str:
        """Return where a figure's text outline (Markdown, for screen readers) goes."""
        return self._inside("figures_dir", f"{name}.outline.md")

    def figure_file(self, file_name: str) -> str:
        """Return where a rendered figure file (e.g. `name.dark.png`) goes."""
        return self._inside("figures_dir", file_name)

    def chapter_output(self, name: str) -> str:
        """Return where a chapter's built Markdown goes."""
        return self._inside("chapters_dir", f"{name}.md")

    def slide_outputs(self, chapter: str) -> tuple[str, ...]:
        """Return a chapter's slide decks: self-contained HTML, Marp Markdown, then PowerPoint."""
        return (self._inside("slides_dir", f"{chapter}.html"),
                self._inside("slides_dir", f"{chapter}.marp.md"),
                *self.pptx_outputs(chapter))

    def pptx_outputs(self, chapter: str) -> tuple[str, ...]:
        """Return a chapter's PowerPoint decks: light, and dark when that format is on."""
        if not self.pptx:
            return ()
        return tuple(self._inside("slides_dir", f"{stem}.pptx")
                     for stem in ((chapter, f"{chapter}.dark") if "dark" in self.formats
                                  else (chapter,)))

    def gallery_output(self) -> str:
        """Return where the gallery of every figure goes."""
        return self.relative(self.figures_dir / "README.md")

    def manifest_output(self) -> str:
        return self.relative(self.manifest)
