"""Shared test fixtures: tiny network configs, the ../shared reference folder (skipped with a message if absent)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STYLEGAN_SHARED", REPO.parent / "shared"))
OFFICIAL = SHARED / "reference" / "official"
INCEPTION = SHARED / "detectors" / "inception-2015-12-05-torchscript.pt"

sys.path.insert(0, str(Path(__file__).resolve().parent))  # So tests can import tiny, trainutil.


def official_dir() -> Path:
    if not OFFICIAL.is_dir():
        pytest.skip(f"official reference fixtures not found at {OFFICIAL} (set STYLEGAN_SHARED to the shared folder)")
    return OFFICIAL


@pytest.fixture
def official() -> Path:
    return official_dir()


@pytest.fixture
def inception_path() -> Path:
    if not INCEPTION.is_file():
        pytest.skip(f"Inception detector not found at {INCEPTION} (set STYLEGAN_SHARED to the shared folder)")
    return INCEPTION


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny networks run fastest on one thread (and several threads crawl on a busy 2-core machine)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def tiny_G():
    from tiny import tiny_generator_config

    from stylegan.models import Generator

    torch.manual_seed(0)
    return Generator(tiny_generator_config()).eval()


def pytest_collection_modifyitems(config, items):
    """Tests marked `cuda` run where a CUDA device is, and are skipped with a reason elsewhere."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (none here)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)
