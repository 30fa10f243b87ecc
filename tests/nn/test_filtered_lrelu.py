"""Filtered leaky ReLU: the fast path equals the plain reference (values and gradients); designed filters are the
official ones bit for bit."""

import json
import math

import pytest
import torch
from safetensors.torch import load_file

from stylegan.nn.filter_design import design_lowpass_filter, windowed_jinc
from stylegan.nn import filtered_lrelu as fl
from stylegan.nn.filtered_lrelu import (filtered_lrelu, filtered_lrelu_fast, filtered_lrelu_fast_nchw,
                                        filtered_lrelu_fast_nhwc, filtered_lrelu_ref)

# (up, down, radial down-filter, padding [x0, x1, y0, y1]) covering the StyleGAN3 cases (same rate, rate doubling,
# critically sampled crops) and a few others (odd factor, no decimation, asymmetric padding).
CASES = [
    (2, 2, False, [9, 8, 9, 8]),
    (4, 2, False, [-6, -9, -6, -9]),
    (2, 2, False, [-11, -12, -11, -12]),
    (2, 2, True, [9, 8, 5, 3]),
    (4, 2, True, [23, 22, 23, 22]),
    (3, 2, False, [0, 1, 2, 0]),
    (2, 1, False, [-3, 2, 0, 5]),
]


def filters(up, down, radial, dtype=torch.float64):
    fu = design_lowpass_filter(6 * up, cutoff=2.0, width=3.0, fs=8.0 * up)
    fd = design_lowpass_filter(6 * max(down, 2), cutoff=2.0, width=3.0, fs=8.0 * up, radial=radial)
    return fu.to(dtype), fd.to(dtype)


@pytest.mark.parametrize("up,down,radial,padding", CASES)
def test_fast_equals_ref(up, down, radial, padding):
    torch.manual_seed(0)
    fu, fd = filters(up, down, radial)
    x = torch.randn(2, 5, 29, 27, dtype=torch.float64)
    b = torch.randn(5, dtype=torch.float64)
    for kw in (dict(clamp=0.4), dict(gain=0.7, slope=0.3, flip_filter=True), dict(gain=1.0, slope=1.0)):
        ref = filtered_lrelu_ref(x, fu, fd, b, up, down, padding, **kw)
        nchw = filtered_lrelu_fast_nchw(x, fu, fd, b, up, down, padding, chunk_bytes=4000, **kw)  # Several chunks.
        nhwc = filtered_lrelu_fast_nhwc(x, fu, fd, b, up, down, padding, chunk=2, tile=8, **kw)  # 3 chunks, tiles.
        for fast in (nchw, nhwc):
            assert fast.shape == ref.shape
            assert (fast - ref).abs().max().item() < 1e-12
        assert nhwc.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("up,down,radial,padding", CASES[:2])
def test_nhwc_from_channels_last_input_float32(up, down, radial, padding):
    torch.manual_seed(3)
    fu, fd = filters(up, down, radial, torch.float32)
    x = (torch.randn(2, 19, 29, 27) * 3).contiguous(memory_format=torch.channels_last)
    b = torch.randn(19)
    ref = filtered_lrelu_ref(x, fu, fd, b, up, down, padding, clamp=2.0)
    fast = filtered_lrelu_fast_nhwc(x, fu, fd, b, up, down, padding, clamp=2.0)  # Chunks of 16 + 3 channels.
    assert (fast - ref).abs().max().item() < 1e-5


def test_nhwc_without_down_filter_decimates():
    fu, _ = filters(2, 2, False)
    x, b = torch.randn(1, 3, 10, 9, dtype=torch.float64), torch.randn(3, dtype=torch.float64)
    for down in (1, 2):
        ref = filtered_lrelu_ref(x, fu, None, b, 2, down, [5, 6, 5, 4], clamp=0.7)
        fast = filtered_lrelu_fast_nhwc(x, fu, None, b, 2, down, [5, 6, 5, 4], clamp=0.7)
        assert fast.shape == ref.shape and (fast - ref).abs().max().item() < 1e-12


def test_fast_picks_nhwc_for_cpu_inference_only(monkeypatch):
    calls = []
    for name in ("filtered_lrelu_fast_nchw", "filtered_lrelu_fast_nhwc"):
        monkeypatch.setattr(fl, name, lambda *a, _n=name: calls.append(_n) or filtered_lrelu_ref(*a))
    fu, fd = filters(2, 2, False, torch.float32)
    x, b = torch.randn(1, 3, 12, 12), torch.randn(3)
    filtered_lrelu_fast(x, fu, fd, b, 2, 2, [9, 8, 9, 8])
    with torch.no_grad():
        filtered_lrelu_fast(x.requires_grad_(), fu, fd, b, 2, 2, [9, 8, 9, 8])
    filtered_lrelu_fast(x, fu, fd, b, 2, 2, [9, 8, 9, 8])
    assert calls == ["filtered_lrelu_fast_nhwc", "filtered_lrelu_fast_nhwc", "filtered_lrelu_fast_nchw"]


@pytest.mark.parametrize("up,down,radial,padding", CASES[:4])
def test_fast_gradients_equal_ref(up, down, radial, padding):
    torch.manual_seed(1)
    fu, fd = filters(up, down, radial)
    x0 = torch.randn(1, 3, 27, 25, dtype=torch.float64)
    b0 = torch.randn(3, dtype=torch.float64)
    grads = []
    for fn in (filtered_lrelu_ref, filtered_lrelu_fast):
        x, b = x0.clone().requires_grad_(), b0.clone().requires_grad_()
        y = fn(x, fu, fd, b, up, down, padding, clamp=0.5)
        (y * torch.linspace(-1, 1, y.numel(), dtype=y.dtype).reshape(y.shape)).sum().backward()
        grads.append((x.grad, b.grad))
    for g_ref, g_fast in zip(*grads):
        assert (g_ref - g_fast).abs().max().item() < 1e-12


def test_float32_and_dispatch():
    torch.manual_seed(2)
    fu, fd = filters(2, 2, False, torch.float32)
    x, b = torch.randn(1, 4, 20, 20) * 3, torch.randn(4)
    ref = filtered_lrelu(x, fu, fd, b, 2, 2, [9, 8, 9, 8], clamp=2.0, impl="ref")
    fast = filtered_lrelu(x, fu, fd, b, 2, 2, [9, 8, 9, 8], clamp=2.0, impl="fast")
    assert (fast - ref).abs().max().item() < 1e-5
    assert ref.abs().max().item() <= 2.0 * 1.001  # The clamp bounds the pre-filter signal; filters have gain ~1.
    with pytest.raises(ValueError, match="impl"):
        filtered_lrelu(x, fu, fd, b, impl="cuda")


def test_identity_filters_are_bias_and_clamp():
    x, b = torch.randn(2, 3, 8, 8), torch.randn(3)
    for impl in ("ref", "fast"):
        y = filtered_lrelu(x, None, None, b, gain=1, slope=1, clamp=0.5, impl=impl)
        assert torch.allclose(y, (x + b.reshape(1, -1, 1, 1)).clamp(-0.5, 0.5))


def test_designed_filters():
    f = design_lowpass_filter(12, cutoff=8.0, width=10.0, fs=64.0)
    assert f.shape == (12,) and torch.allclose(f, f.flip(0)) and abs(f.sum().item() - 1) < 1e-6
    r = windowed_jinc(12, cutoff=8.0, width=10.0, fs=64.0)
    assert r.shape == (12, 12) and abs(r.sum() - 1) < 1e-12
    assert abs(r - r.T).max() < 1e-15 and abs(r - r[::-1]).max() < 1e-15  # Radially symmetric.
    assert design_lowpass_filter(1, 8.0, 10.0, 64.0) is None


@pytest.mark.parametrize("name", ["sg3t_G32", "sg3r_G32"])
def test_recomputed_filters_equal_official_buffers(official, name):
    from stylegan.models import Generator
    from stylegan.models.official import generator_config_from_official

    meta = json.loads((official / f"{name}.json").read_text())
    arch = "stylegan3-r" if meta["init_kwargs"].get("use_radial_filters") else "stylegan3-t"
    G = Generator(generator_config_from_official(meta["init_kwargs"], arch=arch))
    stored = {k: v for k, v in load_file(official / f"{name}.safetensors").items() if k.endswith("_filter")}
    assert len(stored) == 28  # 14 layers x (up, down); ToRGB has none (None buffers are not stored).
    for key, value in stored.items():
        module, attr = key.rsplit(".", 1)
        ours = getattr(G.get_submodule(module), attr)
        assert ours is not None and ours.dtype == value.dtype and torch.equal(ours, value), key
    radial = [k for k, v in stored.items() if v.ndim == 2]
    assert len(radial) == (12 if arch == "stylegan3-r" else 0)  # All but the 2 critically sampled layers.
    assert math.isclose(float(stored["synthesis.L0_36_64.up_filter"].sum()), 1.0, rel_tol=1e-5)
