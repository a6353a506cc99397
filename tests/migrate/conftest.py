"""Fixtures for the migrate tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from migrate.migratetools import TmpCourse, make_course


@pytest.fixture
def tmp_course(tmp_path: Path) -> TmpCourse:
    """Return an empty course: `[tool.course-assets]`, diagrams/ and chapters/."""
    return make_course(tmp_path / "course")
