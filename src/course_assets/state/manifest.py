"""Read and write build/manifest.json: what each output was built from, and its bytes' hash."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course_assets.errors import ConfigError
from course_assets.outputs import OutputPaths

FORMAT = 1


@dataclass(frozen=True)
class FigureRecord:
    """A figure as last built: its sources, the hash of them, and what it wrote."""

    script: str
    helpers: tuple[str, ...]  # helper modules and the course's own icons it read
    inputs: str
    title: str
    description: str
    outputs: dict[str, str]
    # What the figure lint found (rule, message, script lines, theme), kept for `check`, and
    # the sizes (CSS px) the readable-size check judges each place the figure is shown by.
    findings: tuple[dict[str, Any], ...] = ()
    sizes: dict[str, float] = field(default_factory=dict)
    # Fitting: the layout the chapter and the slides show, whether the slides have their own
    # files (`slide_file`), and the views a deck shows (see layout.views). Empty: fitting off.
    fit: dict[str, Any] = field(default_factory=dict)

    @property
    def slide_file(self) -> bool:
        """Say whether the figure has its own files for slides (`name.slide.svg`, ...)."""
        return bool(self.fit.get("slide_file"))


@dataclass(frozen=True)
class ChapterRecord:
    """A chapter as last built: its source, the figures it embeds, and what it wrote."""

    source: str
    figures: tuple[str, ...]
    inputs: str
    outputs: dict[str, str]


@dataclass(frozen=True)
class DerivedRecord:
    """An output made from other outputs (the figure gallery, a chapter's slides): its inputs'
    hash and what it wrote."""

    inputs: str
    outputs: dict[str, str]


# Every record says what its outputs were built from (`inputs`) and what it wrote (`outputs`).
OutputRecord = FigureRecord | ChapterRecord | DerivedRecord


@dataclass(frozen=True)
class Manifest:
    """Everything the last build wrote; paths are relative to the course root, with slashes."""

    environment: dict[str, str] = field(default_factory=dict)
    figures: dict[str, FigureRecord] = field(default_factory=dict)
    chapters: dict[str, ChapterRecord] = field(default_factory=dict)
    # Outputs a build was about to write when it stopped: these hashes are ours, not hand edits.
    pending: dict[str, str] = field(default_factory=dict)
    # The figure gallery (None until a course has a figure) and each chapter's slide decks.
    gallery: DerivedRecord | None = None
    slides: dict[str, DerivedRecord] = field(default_factory=dict)
    # Figures whose last build failed, with the error, so that `check` can say why.
    failures: dict[str, str] = field(default_factory=dict)

    def owned_outputs(self) -> dict[str, str]:
        """Return every output path the manifest says this tool wrote, with its hash."""
        owned: dict[str, str] = {}
        records: list[OutputRecord] = [*self.figures.values(), *self.chapters.values()]
        if self.gallery is not None:
            records.append(self.gallery)
        records += self.slides.values()
        for record in records:
            owned.update(record.outputs)
        return owned

    def to_json(self) -> bytes:
        """Return the manifest file's bytes."""
        return joined_json({key: encoded_section(value) for key, value in self.sections().items()})

    def sections(self) -> dict[str, Any]:
        """Return the manifest's top-level JSON fields (`to_json` encodes them)."""
        data: dict[str, Any] = {
            "format": FORMAT,
            "environment": dict(sorted(self.environment.items())),
            "figures": {name: _record_dict(r) for name, r in sorted(self.figures.items())},
            "chapters": {name: _record_dict(r) for name, r in sorted(self.chapters.items())},
        }
        data.update(self.pending_section())
        if self.gallery is not None:
            data["gallery"] = _record_dict(self.gallery)
        if self.slides:
            data["slides"] = {name: _record_dict(r) for name, r in sorted(self.slides.items())}
        if self.failures:
            data["failures"] = dict(sorted(self.failures.items()))
        return data

    def pending_section(self) -> dict[str, Any]:
        """Return the "pending" field of `sections`, or nothing where no file is pending."""
        return {"pending": dict(sorted(self.pending.items()))} if self.pending else {}


def encoded_section(value: Any) -> str:
    """Return one top-level field's value as `to_json` writes it, indented under the top level."""
    # JSON strings hold no raw newline (it is escaped): every newline starts a line to indent.
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).replace("\n", "\n  ")


def joined_json(encoded: dict[str, str]) -> bytes:
    """Return the manifest file from its top-level fields' `encoded_section` texts.

    The same bytes as `json.dumps` of the whole (indented, keys sorted), built from parts: a
    build that announces one pending file after another encodes only what changed.
    """
    fields = ",\n".join(f"  {json.dumps(key)}: {text}" for key, text in sorted(encoded.items()))
    return ("{\n" + fields + "\n}\n").encode()


def _record_dict(record: OutputRecord) -> dict[str, object]:
    # vars(), not dataclasses.asdict: the records hold only plain values, and asdict's deep
    # copy is most of a no-change build's time on a large course.
    data = dict(vars(record))
    data["outputs"] = dict(sorted(record.outputs.items()))
    if isinstance(record, FigureRecord):
        data["findings"] = [dict(f) for f in record.findings]
        data["sizes"] = dict(sorted(record.sizes.items()))
        if not record.fit:
            del data["fit"]  # fitting off: the record as before fitting existed
    return data


def load_manifest(path: Path, paths: OutputPaths | None = None) -> Manifest:
    """Return the manifest at `path`, or an empty one when there is none yet.

    With `paths`, every output it lists must lie inside the build folder: a manifest that
    names any other file was tampered with, and is refused before anything is written.
    """
    shown = _shown(path, paths)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Manifest()
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot read the manifest: {exc.strerror}") from None
    try:
        manifest = _parse(raw)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ConfigError(
            f"{shown}: the manifest is damaged ({reason}); delete it and run "
            "`course-assets build --force` to rebuild everything"
        ) from None
    if paths is not None:
        _refuse_foreign_outputs(shown, manifest, paths)
    return manifest


def _shown(path: Path, paths: OutputPaths | None) -> str:
    """Return the manifest's path as messages show it: relative to the course when it can be."""
    if paths is not None:
        try:
            return paths.relative(path)
        except ValueError:  # the build folder is a link out of the course
            pass
    return str(path)


def _refuse_foreign_outputs(shown: str, manifest: Manifest, paths: OutputPaths) -> None:
    """Raise ConfigError when an output the manifest lists is not a file inside the build folder.

    The names must lie inside it, and so must the files they reach: a link committed into
    build/ (build/src -> ../diagrams) would otherwise carry a removal out of it.
    """
    build = paths.relative(paths.build_dir)
    real_build = os.path.realpath(paths.build_dir)
    inside_build = real_build + os.sep
    root = str(paths.root)
    inside: dict[str, bool] = {}  # whether each folder really lies inside the build folder
    links: dict[str, frozenset[str]] = {}  # the names of the links in each folder
    # Strings, not Paths: a build with nothing to do checks every output of the course here.
    for output in sorted({*manifest.owned_outputs(), *manifest.pending}):
        if not paths.owns(output):
            raise ConfigError(
                f"{shown}: the manifest was tampered with: it lists {output!r} as an output, "
                f"but outputs lie only inside {build}/; nothing was written or removed. Restore "
                "the manifest from version control (`git checkout` it) or delete it, and review "
                "the change that edited it"
            )
        folder, _, file_name = output.rpartition("/")
        if folder not in links:  # one listing and one resolve per folder, not a stat per file
            links[folder] = _links_in(os.path.join(root, folder))
            real = os.path.realpath(os.path.join(root, folder))
            inside[folder] = real == real_build or real.startswith(inside_build)
        if file_name in links[folder]:
            if os.path.realpath(os.path.join(root, output)).startswith(inside_build):
                continue
        elif inside[folder]:
            continue
        file = paths.absolute(output)
        link = _first_link(paths.build_dir, file)
        raise ConfigError(
            f"{paths.relative(link)}: is a link to {link.resolve()}, outside the build folder, "
            f"and the manifest lists {output!r} through it; nothing was written or removed. "
            "Replace the link with a folder (or delete it), and review the change that made it"
        )


def _links_in(folder: str) -> frozenset[str]:
    """Return the names of the symbolic links in `folder`; none where it cannot be listed."""
    try:
        with os.scandir(folder) as entries:
            return frozenset(entry.name for entry in entries if entry.is_symlink())
    except OSError:
        return frozenset()


def _first_link(build: Path, file: Path) -> Path:
    """Return the first link on the way from the build folder down to `file`."""
    step = build
    for part in file.relative_to(build).parts:
        step = step / part
        if step.is_symlink():
            return step
    return file


def _parse(raw: bytes) -> Manifest:
    """Return the manifest in `raw`; raise ValueError (and the like) when it is malformed."""
    data = json.loads(raw)
    if data.get("format") != FORMAT:
        raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
    return Manifest(
        environment=dict(data.get("environment", {})),
        figures={
            name: FigureRecord(
                script=r["script"], helpers=tuple(r["helpers"]), inputs=r["inputs"],
                title=r["title"], description=r["description"], outputs=dict(r["outputs"]),
                findings=tuple(dict(f) for f in r.get("findings", ())),
                sizes=dict(r.get("sizes", {})),
                fit=dict(r.get("fit", {})),
            )
            for name, r in data.get("figures", {}).items()
        },
        chapters={
            name: ChapterRecord(
                source=r["source"], figures=tuple(r["figures"]), inputs=r["inputs"],
                outputs=dict(r["outputs"]),
            )
            for name, r in data.get("chapters", {}).items()
        },
        pending=dict(data.get("pending", {})),
        gallery=_derived(data["gallery"]) if data.get("gallery") is not None else None,
        slides={name: _derived(r) for name, r in data.get("slides", {}).items()},
        failures={str(k): str(v) for k, v in data.get("failures", {}).items()},
    )


def _derived(raw: dict[str, Any]) -> DerivedRecord:
    return DerivedRecord(inputs=raw["inputs"], outputs=dict(raw["outputs"]))
