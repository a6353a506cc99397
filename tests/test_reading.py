"""Reading a source: the whole of a regular file, up to its size limit, whatever stat says."""

from __future__ import annotations

from pathlib import Path

import pytest

from course_assets.reading import NotASourceFile, read_source

# procfs files are regular files that stat as empty, yet have text: the read must not stop
# at the size stat gave.
PROC_STATUS = Path("/proc/self/status")


def test_a_source_at_the_limit_is_read_and_one_byte_more_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "figure.py"
    source.write_bytes(b"x" * 10)
    assert read_source(source, limit=10) == b"x" * 10
    source.write_bytes(b"x" * 11)
    with pytest.raises(NotASourceFile, match="is 11 bytes, more than the 10"):
        read_source(source, limit=10)


@pytest.mark.skipif(not PROC_STATUS.is_file(), reason="needs Linux's /proc")
def test_a_file_larger_than_stat_says_is_read_to_its_end_and_to_the_limit_only() -> None:
    assert PROC_STATUS.stat().st_size == 0
    text = read_source(PROC_STATUS)
    assert text.startswith(b"Name:") and b"\nPid:" in text and text.endswith(b"\n")
    with pytest.raises(NotASourceFile, match="grew past the 20 bytes"):
        read_source(PROC_STATUS, limit=20)
