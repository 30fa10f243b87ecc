"""Fixtures for dataset tests (helpers live in dataset_fixtures.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # So tests can `from dataset_fixtures import ...`.
from dataset_fixtures import awkward_files, write_files


@pytest.fixture
def awkward_dir(tmp_path) -> Path:
    return write_files(tmp_path / "awkward", awkward_files())


@pytest.fixture(autouse=True)
def _no_user_cache(tmp_path, monkeypatch):
    """Raw-folder preparation in tests must never write to the real ~/.cache."""
    monkeypatch.setenv("STYLEGAN_CACHE", str(tmp_path / "cache"))
