"""Fixtures for the state tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from state.statetools import StateCourse, make_settings


@pytest.fixture
def state(tmp_path: Path) -> StateCourse:
    """Return an empty course with every format on (SVG, PNG, dark variants)."""
    settings = make_settings(tmp_path / "course")
    settings.diagrams_dir.mkdir()
    settings.chapters_dir.mkdir()
    return StateCourse(settings)
