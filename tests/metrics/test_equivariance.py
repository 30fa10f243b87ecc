"""EQ-T / EQ-T_frac / EQ-R: the image operators, and PSNRs of an ideally equivariant fake generator."""

from __future__ import annotations

import math

import pytest
import torch
from fakes import FakeSG3
from tiny import tiny_sg3_config

from stylegan.errors import UserError
from stylegan.metrics import MetricOptions, compute_metrics
from stylegan.metrics.eq_transforms import (
    bandlimit_filter,
    fractional_pseudo_rotation,
    fractional_rotation,
    fractional_translation,
    integer_translation,
    rotation_matrix,
)
from stylegan.metrics.equivariance import equivariance_psnrs, psnr_from_sums


def _smooth(n=2, res=32) -> torch.Tensor:
    return FakeSG3(res).synthesis(torch.randn(n, 1, 4, generator=torch.Generator().manual_seed(0)))


def test_fractional_translation_by_whole_pixels_is_integer_translation():
    x = torch.randn(2, 3, 16, 16)
    for t in [(3 / 16, -2 / 16), (-5 / 16, 0.0)]:
        z_int, m_int = integer_translation(x, *t)
        z_frac, m_frac = fractional_translation(x, *t)
        assert (m_frac <= m_int).all() and m_frac.sum() > 0
        assert torch.allclose(z_frac * m_frac, z_int * m_frac, atol=1e-5)


def test_rotation_operators():
    x = _smooth()
    z, m = fractional_rotation(x, 0.0)
    assert m.sum() > 0 and torch.allclose(z * m, x * m, atol=2e-3)
    z, m = fractional_rotation(x, math.pi / 2)  # A quarter turn of a band-limited image is a pixel permutation.
    rot = torch.rot90(x, k=1, dims=(2, 3))  # z[r, s] = x[s, W-1-r], i.e. out(q) = in(R(pi/2)^-1 q).
    assert torch.allclose(z * m, rot * m, atol=2e-3)
    assert not torch.allclose(z * m, torch.rot90(x, k=-1, dims=(2, 3)) * m, atol=2e-3)
    f = bandlimit_filter(rotation_matrix(0.3)[:2, :2], up=4)
    assert f.shape == (47, 47) and torch.allclose(f, f.flip([0, 1]), atol=1e-6)  # Point-symmetric.
    for p in range(4):  # Each polyphase component sums to one.
        for q in range(4):
            assert float(f[p::4, q::4].sum()) == pytest.approx(1.0, abs=1e-5)
    y, m = fractional_pseudo_rotation(x, 0.0)
    assert torch.allclose(y * m, x * m, atol=2e-3)


def test_psnr_definition():
    assert psnr_from_sums(4.0, 1.0) == pytest.approx(0.0)  # MSE = peak^2 -> 0 dB.
    assert psnr_from_sums(0.04, 1.0) == pytest.approx(20.0)
    assert psnr_from_sums(0.0, 1.0) == float("inf")


def test_equivariant_fake_scores_high_and_ignorant_fake_low():
    good = equivariance_psnrs(FakeSG3(32), 4, kinds=("int", "frac", "rot"), device=torch.device("cpu"),
                              progress=False)
    bad = equivariance_psnrs(FakeSG3(32, follow_transform=False), 4, kinds=("int", "frac", "rot"),
                             device=torch.device("cpu"), progress=False)
    assert good["int"] > 80 and good["frac"] > 50 and good["rot"] > 50
    assert all(v < 35 for v in bad.values())


def test_eq_metrics_need_an_input_transform(tiny_G):
    with pytest.raises(UserError, match="StyleGAN3"):
        compute_metrics(["eqt50k_int"], tiny_G, None, num=4, options=MetricOptions(device="cpu", progress=False))


def test_eq_metric_names_and_original_network_untouched():
    G = FakeSG3(16)
    out = compute_metrics(["eqt50k_int", "eqt50k_frac"], G, None, num=4,
                          options=MetricOptions(device="cpu", progress=False))
    assert set(out) == {"eqt4_int", "eqt4_frac"}
    assert torch.equal(G.synthesis.input.transform, torch.eye(3))


def test_eq_on_a_stylegan3_network():
    from stylegan.models import Generator
    cfg = tiny_sg3_config()
    torch.manual_seed(0)
    G = Generator(cfg).eval()
    out = compute_metrics(["eqt50k_int"], G, None, num=4, options=MetricOptions(device="cpu", progress=False))
    assert math.isfinite(out["eqt4_int"]) and out["eqt4_int"] > 10
