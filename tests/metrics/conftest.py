"""Fixtures for the metric tests: isolated caches, and small TorchScript stand-ins with the detectors' interfaces."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))  # For `fakes`.


class PlainFeatures(nn.Module):
    """A plain extractor (299x299 input in [-1, 1)): 4x4 average colours -> 48-d features."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[2] == 299 and x.shape[3] == 299
        return F.adaptive_avg_pool2d(x, 4).flatten(1)


class OfficialVGGStandIn(nn.Module):
    """The official vgg16.pt calling convention with a cheap body: uint8/float [0, 255] NCHW in."""

    def __init__(self, lpips_scale: float = 1.0):
        super().__init__()
        self.lpips_scale = lpips_scale

    def forward(self, img: torch.Tensor, resize_images: bool = True, return_lpips: bool = False,
                return_features: bool = False) -> torch.Tensor:
        x = img.to(torch.float32) / 255
        f = F.adaptive_avg_pool2d(x, 4).flatten(1)
        if return_lpips:
            return f * self.lpips_scale
        return f


class OfficialInceptionStandIn(nn.Module):
    """The official inception-2015-12-05.pt calling convention: uint8 NCHW of any size in; pool features, or class
    probabilities (here: a softmax over 10 "classes" of the mean colour)."""

    def forward(self, img: torch.Tensor, return_features: bool = False, use_fp16: bool = False,
                no_output_bias: bool = False) -> torch.Tensor:
        x = img.to(torch.float32) / 128 - 1
        f = F.adaptive_avg_pool2d(x, 4).flatten(1)
        if return_features:
            return f
        logits = f[:, :10] * 20
        return torch.softmax(logits, dim=1)


def script(module: nn.Module, path: Path) -> Path:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(module).save(str(path))
    return path


@pytest.fixture(scope="session")
def standins(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("detectors")
    return {"plain": script(PlainFeatures(), d / "plain.pt"),
            "vgg": script(OfficialVGGStandIn(), d / "vgg.pt"),
            "vgg2": script(OfficialVGGStandIn(2.0), d / "vgg2.pt"),
            "inception": script(OfficialInceptionStandIn(), d / "inception.pt")}


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """Every test gets its own cache root and no detector environment variables; downloads are refused."""
    root = tmp_path / "cache"
    monkeypatch.setenv("STYLEGAN_CACHE", str(root))
    monkeypatch.delenv("STYLEGAN_INCEPTION", raising=False)
    monkeypatch.delenv("STYLEGAN_VGG16", raising=False)

    def no_network(url, timeout=60):
        import urllib.error

        raise urllib.error.URLError("network disabled in tests")

    from stylegan.metrics import detectors

    monkeypatch.setattr(detectors, "_open_url", no_network)
    return root
