"""Commit a build: write its outputs, then the manifest that records them, so that a build
killed at any point is repaired by the next one."""

from __future__ import annotations

from dataclasses import replace

from course_assets.state.files import FileHashes, OutputFolder, Staging, sha256_bytes
from course_assets.state.manifest import Manifest, encoded_section, joined_json


def commit_outputs(folder: OutputFolder, old: Manifest, final: Manifest,
                   files: dict[str, bytes], staged: Staging, removable: list[str],
                   hashes: FileHashes) -> list[str]:
    """Write the outputs that changed, remove `removable`, record it all; return what changed.

    The outputs are `files` and what is `staged`. First the old manifest is written again with
    the new outputs as pending, then each output atomically, then `final`: a build killed in
    between is repaired by the next one, which knows the pending files as its own.
    """
    root, manifest_path = folder.outputs.root, folder.outputs.manifest
    # The new manifest already holds the digest of each output it records; hash the rest.
    recorded = final.owned_outputs()
    digests = {path: recorded.get(path) or sha256_bytes(data)
               for path, data in files.items()}
    digests.update({path: staged.digest(path) for path in staged.paths()})
    changed = sorted(path for path, digest in digests.items()
                     if hashes.sha256(root / path) != digest)
    # What an interrupted build left and this one did not redo (a figure that fails now, say)
    # stays known as ours, so the next build replaces it instead of calling it a hand edit.
    leftover = {path: digest for path, digest in old.pending.items()
                if path not in digests and path not in removable}
    final = replace(final, pending=leftover)
    for path in [*changed, *removable]:  # every target refused before anything is written
        folder.target(root / path)
    if not changed and not removable:
        # Nothing to write: the manifest too, when it records what it recorded before.
        if final != old or not manifest_path.is_file():
            folder.write(manifest_path, final.to_json())
        return []
    final_bytes = final.to_json()
    pending = {path: digests[path] for path in changed}
    folder.write(manifest_path, replace(old, pending={**old.pending, **pending}).to_json())
    for path in changed:
        if path in staged:
            staged.publish(path)
        else:
            folder.write(root / path, files[path])
        hashes.remember(root / path, pending[path])
    for path in removable:
        folder.remove(root / path)
    folder.write(manifest_path, final_bytes)
    return changed


class AheadOfCommit:
    """Write a few outputs before the build's commit (a figure's light SVG, to show it at once).

    Each is announced as pending in the manifest first, as `commit_outputs` does: a build
    stopped before its commit leaves those files known as ours, and the figures they belong
    to still out of date, so `check` says so and the next build finishes them.
    """

    def __init__(self, folder: OutputFolder, manifest: Manifest, hashes: FileHashes) -> None:
        self.folder = folder
        self.hashes = hashes
        # The manifest on disk: the one loaded, plus what this has announced since.
        self.manifest = manifest
        # What each written path held before (None: no file) and its pending digest then,
        # put back by `undo` when the figure then fails: it keeps its last good version.
        self._before: dict[str, tuple[bytes | None, str | None]] = {}
        # The manifest's fields but "pending", encoded once: announcing a file changes only it.
        self._encoded: dict[str, str] | None = None

    def write(self, path: str, data: bytes) -> bool:
        """Write `data` to `path` (relative to the course) now; say whether the file changed."""
        root = self.folder.outputs.root
        digest = sha256_bytes(data)
        if self.hashes.sha256(root / path) == digest:
            return False
        self.folder.target(root / path)  # refused before the manifest names it
        if path not in self._before:
            try:
                held: bytes | None = (root / path).read_bytes()
            except FileNotFoundError:
                held = None
            self._before[path] = (held, self.manifest.pending.get(path))
        self.manifest = replace(self.manifest, pending={**self.manifest.pending, path: digest})
        self._write_manifest()
        self.folder.write(root / path, data)
        self.hashes.remember(root / path, digest)
        return True

    def undo(self, path: str) -> None:
        """Put back what `write` replaced at `path`, if it wrote there: its figure failed."""
        if path not in self._before:
            return
        held, pending = self._before.pop(path)
        target = self.folder.outputs.root / path
        if held is None:
            self.folder.remove(target)
        else:
            self.folder.write(target, held)
            self.hashes.remember(target, sha256_bytes(held))
        still = {p: d for p, d in self.manifest.pending.items() if p != path}
        if pending is not None:
            still[path] = pending
        self.manifest = replace(self.manifest, pending=still)
        self._write_manifest()

    def _write_manifest(self) -> None:
        """Write the manifest with its pending files as they are now (only they change here)."""
        if self._encoded is None:
            self._encoded = {key: encoded_section(value)
                             for key, value in self.manifest.sections().items()
                             if key != "pending"}
        encoded = dict(self._encoded)
        encoded.update((key, encoded_section(value))
                       for key, value in self.manifest.pending_section().items())
        self.folder.write(self.folder.outputs.manifest, joined_json(encoded))
