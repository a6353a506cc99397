"""A fresh machine's `make test` installs every program the tests drive."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ENSURE = REPO / "scripts" / "ensure-system-package.sh"


@pytest.mark.parametrize(("package", "program"), [
    ("chromium", "chromium"), ("libreoffice", "soffice"), ("librsvg", "rsvg-convert"),
    ("impress", "loimpress"), ("poppler", "pdftoppm"),
])
def test_make_test_installs_each_program_the_browser_and_slide_tool_tests_run(
        package: str, program: str, tmp_path: Path) -> None:
    target = re.search(r"^test:(.*)$", (REPO / "Makefile").read_text(), re.MULTILINE)
    assert target is not None and package in target.group(1).split()
    # With the program on PATH the script has nothing to install and says so by succeeding.
    (tmp_path / program).write_text("#!/bin/sh\n")
    (tmp_path / program).chmod(0o755)
    result = subprocess.run(["sh", str(ENSURE), package], capture_output=True, text=True,
                            env={"PATH": f"{tmp_path}:/usr/bin:/bin"}, timeout=60)
    assert result.returncode == 0, result.stderr
