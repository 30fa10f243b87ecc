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

torch.set_num_threads(min(2, torch.get_num_threads()))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # So tests can `from conftest import tiny_generator_config`.


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


def tiny_generator_config(**overrides):
    """A 16x16 StyleGAN2 small enough for fast CPU tests."""
    from stylegan.models import GeneratorConfig, MappingConfig, StyleGAN2SynthesisConfig

    synthesis = StyleGAN2SynthesisConfig(**{"channel_base": 256, "channel_max": 32, **overrides.pop("synthesis", {})})
    kw = dict(z_dim=32, w_dim=32, img_resolution=16, img_channels=3, mapping=MappingConfig(num_layers=2),
              synthesis=synthesis)
    kw.update(overrides)
    return GeneratorConfig(**kw)


@pytest.fixture
def tiny_G():
    from stylegan.models import Generator

    torch.manual_seed(0)
    return Generator(tiny_generator_config()).eval()
