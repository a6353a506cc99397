"""FileHashes with and without its cache, atomic writes, and the build lock."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from course_assets.errors import BuildLockedError, OutputError
from course_assets.outputs import OutputPaths
from course_assets.state.files import (
    FileHashes,
    OutputFolder,
    Staging,
    atomic_write,
    build_lock,
    sha256_bytes,
)


def rewrite_keeping_stat(path: Path, data: bytes) -> None:
    """Change a file's bytes in place, keeping its size, inode and modification time."""
    before = path.stat()
    with path.open("r+b") as out:
        out.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_ino, after.st_mtime_ns) == (
        before.st_size, before.st_ino, before.st_mtime_ns)


def test_without_a_cache_every_call_hashes_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "a.svg"
    path.write_bytes(b"one")
    hashes = FileHashes()
    assert hashes.sha256(path) == hashlib.sha256(b"one").hexdigest()
    rewrite_keeping_stat(path, b"two")
    assert hashes.sha256(path) == sha256_bytes(b"two")
    assert not hashes.changed


def test_with_a_cache_a_file_whose_stat_matches_is_not_read_again(tmp_path: Path) -> None:
    path = tmp_path / "a.svg"
    path.write_bytes(b"one")
    hashes = FileHashes(tmp_path / "cache.json")
    assert hashes.sha256(path) == sha256_bytes(b"one")
    rewrite_keeping_stat(path, b"two")
    assert hashes.sha256(path) == sha256_bytes(b"one")  # trusted: size, mtime and inode match
    os.utime(path, ns=(0, 1_000_000_000))
    assert hashes.sha256(path) == sha256_bytes(b"two")  # the modification time moved


def test_the_cache_is_saved_only_when_it_changed_and_read_back(tmp_path: Path) -> None:
    cache, path = tmp_path / "cache.json", tmp_path / "a.svg"
    path.write_bytes(b"one")
    FileHashes(cache).save()
    assert not cache.exists()
    first = FileHashes(cache)
    first.sha256(path)
    first.save()
    assert list(json.loads(cache.read_text())) == [str(path)]
    rewrite_keeping_stat(path, b"two")
    again = FileHashes(cache)
    assert again.sha256(path) == sha256_bytes(b"one") and not again.changed


def test_remember_records_a_written_file_so_it_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "a.svg"
    path.write_bytes(b"one")
    cached = FileHashes(tmp_path / "cache.json")
    cached.remember(path, "f" * 64)
    assert cached.sha256(path) == "f" * 64
    uncached = FileHashes()
    uncached.remember(path, "f" * 64)
    assert uncached.sha256(path) == sha256_bytes(b"one")


def test_a_damaged_cache_only_costs_speed(tmp_path: Path) -> None:
    cache, path = tmp_path / "cache.json", tmp_path / "a.svg"
    cache.write_text("{not json")
    path.write_bytes(b"one")
    hashes = FileHashes(cache)
    assert hashes.sha256(path) == sha256_bytes(b"one")
    hashes.save()
    assert json.loads(cache.read_text())[str(path)][3] == sha256_bytes(b"one")


@pytest.mark.parametrize("cache", [False, True])
def test_what_is_not_a_readable_file(tmp_path: Path, cache: bool) -> None:
    hashes = FileHashes(tmp_path / "cache.json" if cache else None)
    assert hashes.sha256(tmp_path / "missing.svg") is None
    (tmp_path / "folder.svg").mkdir()
    assert hashes.sha256(tmp_path / "folder.svg") == "directory"
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match=r"file/below\.svg: cannot read"):
        hashes.sha256(tmp_path / "file" / "below.svg")


def test_atomic_write_makes_folders_and_replaces_whole_files(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "out.md"
    atomic_write(path, b"first")
    atomic_write(path, b"second")
    assert path.read_bytes() == b"second"
    assert path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["out.md"]


def test_a_failed_atomic_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    (tmp_path / "out.md").mkdir()  # os.replace cannot put a file over a folder
    (tmp_path / "kept.md").write_bytes(b"old")
    with pytest.raises(OutputError, match=r"out\.md: cannot write"):
        atomic_write(tmp_path / "out.md", b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.md", "out.md"]
    with pytest.raises(OutputError, match=r"cannot write"):
        atomic_write(tmp_path / "kept.md" / "below.md", b"new")  # a file where a folder goes
    assert (tmp_path / "kept.md").read_bytes() == b"old"


def test_a_reader_sees_the_old_file_or_the_new_one_never_a_part(tmp_path: Path) -> None:
    path = tmp_path / "big.svg"
    versions = [bytes([letter]) * 1_000_000 for letter in b"ab"]
    atomic_write(path, versions[0])
    seen: set[bytes] = set()
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.add(path.read_bytes())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for round_ in range(40):
            atomic_write(path, versions[round_ % 2])
    finally:
        done.set()
        reader.join()
    assert seen <= set(versions)


def test_stale_temporaries_are_removed_and_nothing_else(tmp_path: Path) -> None:
    build = tmp_path / "build"
    (build / "sub").mkdir(parents=True)
    for name in (".a.svg.x1.tmp", "sub/.b.md.x2.tmp", "keep.tmp", ".keep.svg", "keep.svg"):
        (build / name).write_text("x")
    OutputFolder(OutputPaths(tmp_path, build)).remove_stale_temporaries()
    OutputFolder(OutputPaths(tmp_path, tmp_path / "no such folder")).remove_stale_temporaries()
    left = sorted(p.relative_to(build).as_posix() for p in build.rglob("*") if p.is_file())
    assert left == [".keep.svg", "keep.svg", "keep.tmp"]


def test_a_second_lock_on_the_build_folder_waits_then_gives_up(tmp_path: Path) -> None:
    told: list[str] = []
    with (build_lock(tmp_path / "build"),
          pytest.raises(BuildLockedError, match="another course-assets build"),
          build_lock(tmp_path / "build", wait=0.3, on_wait=told.append)):
        pass  # pragma: no cover - never reached: the lock is held
    assert len(told) == 1 and "waiting for another build" in told[0]
    with build_lock(tmp_path / "build", wait=0):
        pass  # released: taken at once


def files_in(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_staged_outputs_wait_beside_their_targets_until_published(tmp_path: Path) -> None:
    build = tmp_path / "build"
    staging = Staging(tmp_path, OutputFolder(OutputPaths(tmp_path, build)))
    digest = staging.put("build/diagrams/a.svg", b"<svg/>")
    assert digest == sha256_bytes(b"<svg/>") == staging.digest("build/diagrams/a.svg")
    assert "build/diagrams/a.svg" in staging and staging.read("build/diagrams/a.svg") == b"<svg/>"
    # Held as a hidden temporary: not yet the file, and cleaned like any other temporary.
    held = files_in(build)
    assert len(held) == 1 and held[0].startswith("diagrams/.a.svg.") and held[0].endswith(".tmp")
    staging.publish("build/diagrams/a.svg")
    assert files_in(build) == ["diagrams/a.svg"]
    assert (build / "diagrams/a.svg").read_bytes() == b"<svg/>"


def test_what_a_stopped_build_staged_is_removed(tmp_path: Path) -> None:
    build = tmp_path / "build"
    (build / "diagrams").mkdir(parents=True)
    (build / "diagrams/a.svg").write_bytes(b"old")
    staging = Staging(tmp_path, OutputFolder(OutputPaths(tmp_path, build)))
    staging.put("build/diagrams/a.svg", b"new")
    staging.put("build/diagrams/b.svg", b"new")
    staging.put("build/diagrams/b.svg", b"newer")  # the second put replaces the first
    assert len(files_in(build)) == 3
    staging.close()
    assert files_in(build) == ["diagrams/a.svg"]
    assert (build / "diagrams/a.svg").read_bytes() == b"old"
    assert not staging.paths()


def test_staging_in_memory_touches_no_disk(tmp_path: Path) -> None:
    staging = Staging(tmp_path, None)
    staging.put("build/diagrams/a.svg", b"<svg/>")
    assert staging.in_memory() == {"build/diagrams/a.svg": b"<svg/>"}
    assert not (tmp_path / "build").exists()
    with pytest.raises(OutputError, match="writes nothing"):
        staging.publish("build/diagrams/a.svg")


def test_staging_refuses_a_target_through_a_link_out_of_the_build(tmp_path: Path) -> None:
    build, elsewhere = tmp_path / "build", tmp_path / "elsewhere"
    build.mkdir()
    elsewhere.mkdir()
    (build / "diagrams").symlink_to(elsewhere)
    staging = Staging(tmp_path, OutputFolder(OutputPaths(tmp_path, build)))
    with pytest.raises(OutputError, match="outside the build folder"):
        staging.put("build/diagrams/a.svg", b"<svg/>")
    assert not list(elsewhere.iterdir())


@pytest.mark.skipif(sys.platform != "linux" or os.geteuid() != 0,
                    reason="needs root to bind-mount a file")
def test_a_staged_output_that_cannot_be_renamed_into_place_leaves_no_temporary(
        tmp_path: Path) -> None:
    build = tmp_path / "build"
    (build / "diagrams").mkdir(parents=True)
    target = build / "diagrams/a.svg"
    target.write_bytes(b"old")
    (tmp_path / "other.svg").write_bytes(b"other")
    staging = Staging(tmp_path, OutputFolder(OutputPaths(tmp_path, build)))
    staging.put("build/diagrams/a.svg", b"new")
    # A file mounted over the target: still a regular file inside the build folder, but no
    # rename may replace it (EBUSY).
    subprocess.run(["mount", "--bind", str(tmp_path / "other.svg"), str(target)], check=True)
    try:
        with pytest.raises(OutputError, match="cannot write"):
            staging.publish("build/diagrams/a.svg")
        assert files_in(build) == ["diagrams/a.svg"]
    finally:
        subprocess.run(["umount", str(target)], check=True)
    staging.close()
    assert files_in(build) == ["diagrams/a.svg"]
    assert target.read_bytes() == b"old"


def test_staging_never_removes_through_a_folder_that_became_a_link(tmp_path: Path) -> None:
    build, elsewhere = tmp_path / "build", tmp_path / "elsewhere"
    (build / "diagrams").mkdir(parents=True)
    staging = Staging(tmp_path, OutputFolder(OutputPaths(tmp_path, build)))
    staging.put("build/diagrams/a.svg", b"<svg/>")
    [held] = (build / "diagrams").iterdir()
    # Mid-build, the folder is moved away and a link out of the build takes its place, to a
    # folder holding a file of the very name the temporary has.
    (build / "diagrams").rename(build / "moved")
    elsewhere.mkdir()
    (elsewhere / held.name).write_bytes(b"not ours")
    (build / "diagrams").symlink_to(elsewhere)
    staging.close()
    assert (elsewhere / held.name).read_bytes() == b"not ours"
    OutputFolder(OutputPaths(tmp_path, build)).remove_stale_temporaries()
    assert not list((build / "moved").iterdir())  # the next build's clean-up finds it
    assert (elsewhere / held.name).exists()


def test_a_derived_value_is_worked_out_once_and_kept_only_while_asked_for(tmp_path: Path) -> None:
    cache = tmp_path / "cache.json"
    made: list[str] = []

    def make(value: str) -> list[str]:
        made.append(value)
        return [value]

    first = FileHashes(cache)
    assert first.derived("a", lambda: make("A")) == ["A"]
    assert first.derived("b", lambda: make("B")) == ["B"]
    first.save()
    second = FileHashes(cache)
    assert second.derived("a", lambda: make("again")) == ["A"] and made == ["A", "B"]
    second.save()  # asked only for "a": "b" is dropped
    third = FileHashes(cache)
    assert third.derived("b", lambda: make("B2")) == ["B2"]
    assert FileHashes().derived("a", lambda: make("no cache")) == ["no cache"]
