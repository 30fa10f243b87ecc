"""Detector-free metrics: Laplacian pyramid vs scipy, SWD ordering under perturbations, MS-SSIM."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage
import torch
import torch.nn.functional as F
from fakes import ArrayDataset

from stylegan.metrics import MetricOptions, compute_metrics
from stylegan.metrics.msssim import gaussian_window, ms_ssim
from stylegan.metrics.swd import laplacian_pyramid, num_levels, pyr_down, pyr_up

GAUSS = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]).astype(np.float64) / 256


def test_pyramid_matches_scipy_mirror_convolution():
    x = np.random.RandomState(0).rand(2, 3, 16, 16)
    down = scipy.ndimage.convolve(x, GAUSS[None, None], mode="mirror")[:, :, ::2, ::2]
    np.testing.assert_allclose(pyr_down(torch.from_numpy(x)).numpy(), down, atol=1e-12)
    small = np.random.RandomState(1).rand(2, 3, 8, 8)
    z = np.zeros([2, 3, 16, 16])
    z[:, :, ::2, ::2] = small
    up = scipy.ndimage.convolve(z, GAUSS[None, None] * 4, mode="mirror")
    np.testing.assert_allclose(pyr_up(torch.from_numpy(small)).numpy(), up, atol=1e-12)
    levels = laplacian_pyramid(torch.from_numpy(x), 3)
    assert [lv.shape[-1] for lv in levels] == [16, 8, 4] and num_levels(64) == 3 and num_levels(8) == 0


def _smooth_images(seed: int, n: int = 24, res: int = 32) -> np.ndarray:
    """Random blobs: low-frequency colour fields, uint8 [n, 3, res, res]."""
    g = torch.Generator().manual_seed(seed)
    x = F.interpolate(torch.rand(n, 3, 4, 4, generator=g), size=res, mode="bicubic", align_corners=False)
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def _perturbed(images: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    noise = np.random.RandomState(seed).randn(*images.shape) * sigma
    return np.clip(images + noise, 0, 255).round().astype(np.uint8)


def test_swd_grows_with_perturbation():
    base = ArrayDataset(_smooth_images(0), "a")
    opts = MetricOptions(device="cpu", progress=False, use_cache=False)
    swd = {}
    for name, images in [("same", _smooth_images(1)), ("noise8", _perturbed(_smooth_images(1), 8, 0)),
                         ("noise32", _perturbed(_smooth_images(1), 32, 0))]:
        swd[name] = compute_metrics(["swd"], None, base, ref=ArrayDataset(images, name), options=opts)
    assert set(swd["same"]) == {"swd", "swd_32", "swd_16"}
    assert swd["same"]["swd"] < swd["noise8"]["swd"] < swd["noise32"]["swd"]
    # Fine noise shows at the finest level first.
    assert swd["noise8"]["swd_32"] > swd["same"]["swd_32"] * 2


def test_gaussian_window_is_fspecial():
    w = gaussian_window(11, 1.5).numpy()
    x = np.arange(11) - 5
    ref = np.exp(-(x[:, None] ** 2 + x[None] ** 2) / (2 * 1.5**2))
    np.testing.assert_allclose(w, ref / ref.sum(), rtol=1e-12)


def test_ms_ssim_identical_and_diversity():
    imgs = torch.from_numpy(_smooth_images(2, n=8, res=64)).double()
    assert torch.allclose(ms_ssim(imgs, imgs), torch.ones(8, dtype=torch.float64))
    noisy = torch.from_numpy(_perturbed(imgs.numpy(), 20, 1)).double()
    s = ms_ssim(imgs, noisy)
    assert (s < 0.999).all() and (s > 0.1).all()
    opts = MetricOptions(device="cpu", progress=False, batch_size=4)
    near_dupes = np.repeat(_smooth_images(3, n=4, res=64), 2, axis=0)  # Pairs (0, 1), (2, 3), ... identical.
    diverse = _smooth_images(4, n=8, res=64)
    dupes = compute_metrics(["msssim"], None, ArrayDataset(near_dupes), ref=ArrayDataset(diverse), options=opts)
    varied = compute_metrics(["msssim"], None, ArrayDataset(diverse), ref=ArrayDataset(diverse), options=opts)
    assert varied["msssim"] < dupes["msssim"] <= 1.0 + 1e-9


@pytest.mark.parametrize("name", ["swd16k", "msssim20k"])
def test_detector_free_metrics_of_a_network(tiny_G, name):
    reals = ArrayDataset(_smooth_images(5, n=16, res=16))
    out = compute_metrics([name], tiny_G, reals, num=8, options=MetricOptions(device="cpu", progress=False))
    key = name.replace("16k", "8").replace("20k", "8")
    assert np.isfinite(out[key])
