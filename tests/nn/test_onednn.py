"""Convolutions with prepacked oneDNN weights (nn/onednn.py) against F.conv2d / F.conv_transpose2d, their cache, and
the fallback to the plain ops."""

import pytest
import torch
import torch.nn.functional as F
from tiny import assert_close, tiny_generator_config

from stylegan.nn import onednn, use_impl
from stylegan.nn.impl import direct_convolutions

needs_onednn = pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="PyTorch built without oneDNN")

CASES = [  # (N, I, O, H, W, k, stride, padding, transpose, bias)
    (2, 16, 24, 6, 5, 3, 1, 1, False, True),
    (1, 8, 8, 9, 7, 3, 2, 0, False, False),
    (3, 16, 8, 5, 5, 1, 1, 0, False, True),
    (2, 16, 24, 4, 6, 3, 2, 0, True, True),  # StyleGAN2's up-sampling convolution.
    (1, 8, 16, 5, 5, 3, 2, 1, True, False),
]


@needs_onednn
def test_available_on_this_pytorch(monkeypatch):
    # The pinned PyTorch of CI has the ops; if a new version changed them, this says so (the plain ops still run).
    monkeypatch.setattr(onednn, "_available", None)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # The check itself runs outside autocast, wherever it is made.
        assert onednn.available()


@needs_onednn
@pytest.mark.parametrize("case", CASES)
def test_packed_convolution_equals_plain(case):
    N, I, O, H, W, k, stride, padding, transpose, has_bias = case
    torch.manual_seed(0)
    x = torch.randn(N, I, H, W).contiguous(memory_format=torch.channels_last)
    w = torch.randn(*((I, O) if transpose else (O, I)), k, k)
    b = torch.randn(O) if has_bias else None
    plain = F.conv_transpose2d if transpose else F.conv2d
    with torch.no_grad():
        assert onednn.applicable(x, w, 1)
        expected = plain(x, w, b, stride=stride, padding=padding)
        for _ in range(3):  # The first use packs, the second packs and keeps the packing, the third reuses it.
            y = onednn.conv2d(x, w, b, stride=stride, padding=padding, transpose=transpose)
            assert y.is_contiguous(memory_format=torch.channels_last)
            assert_close(y, expected, 1e-6)
        assert_close(onednn.conv2d(x.contiguous(), w, b, stride=stride, padding=padding, transpose=transpose),
                     expected, 1e-6)  # NCHW input too.


@needs_onednn
def test_weights_are_packed_from_their_second_use_per_value_and_input_shape(monkeypatch):
    calls = []
    pack = onednn._pack
    monkeypatch.setattr(onednn, "_pack", lambda *a: calls.append(a[-1]) or pack(*a))
    torch.manual_seed(0)
    w = torch.randn(16, 8, 3, 3)
    x1, x2 = torch.randn(2, 8, 6, 6), torch.randn(1, 8, 5, 7)

    def packings():
        return [k for k in getattr(w, "_stylegan_cache", {}) if k[0] == "onednn" and k[-1] != "seen"]

    with torch.no_grad():
        y = onednn.conv2d(x1, w, padding=1)
        assert calls == [[2, 8, 6, 6]] and packings() == []  # Used once (as each weight value in training): not kept.
        for _ in range(3):
            assert torch.equal(onednn.conv2d(x1, w, padding=1), y)  # Repeated calls: identical results.
        assert calls == [[2, 8, 6, 6]] * 2 and len(packings()) == 1  # Kept from the second use on.
        for _ in range(3):
            assert_close(onednn.conv2d(x2, w, padding=1), F.conv2d(x2, w, padding=1), 1e-6)
        assert calls[2:] == [[1, 8, 5, 7]] * 2  # Another input shape: packed again, the old packing replaced.
        assert len(packings()) == 1
        w.mul_(2)  # An in-place change (an optimizer step, load_state_dict): a new value.
        for _ in range(3):
            assert_close(onednn.conv2d(x1, w, padding=1), 2 * y, 1e-6)
        assert len(calls) == 6 and len(packings()) == 1


@needs_onednn
def test_batched_matmul_with_packed_weights(monkeypatch):
    """onednn.bmm (Winograd's 36 GEMMs) equals torch.bmm; b_of(owner) is packed once per value of the owner from its
    second use, and a change of the owner repacks."""
    torch.manual_seed(0)
    owner = torch.randn(3, 5, 7)
    a = torch.randn(3, 11, 5)
    made = []

    def b_of(w):
        made.append(1)
        return w * 2

    with torch.no_grad():
        for _ in range(3):
            assert_close(onednn.bmm(a, owner, "test", b_of), torch.bmm(a, owner * 2), 1e-6)
        assert len(made) == 2  # Packed twice (the first use keeps nothing), then reused.
        owner.add_(1)
        assert_close(onednn.bmm(a, owner, "test", b_of), torch.bmm(a, owner * 2), 1e-6)
        assert len(made) == 3


def test_only_for_float32_cpu_inference_without_groups():
    x, w = torch.randn(1, 8, 4, 4), torch.randn(8, 8, 3, 3)
    with torch.no_grad():
        assert onednn.applicable(x, w, 1) == onednn.available()
        assert not onednn.applicable(x.double(), w.double(), 1)
        assert not onednn.applicable(x, torch.randn(8, 1, 3, 3), 8)  # Depthwise FIR filters: small weights.
        with direct_convolutions():  # FLOP counting.
            assert not onednn.applicable(x, w, 1)
        with torch.autocast("cpu", dtype=torch.bfloat16):  # Autocast's convolutions run in BF16: leave them to it.
            assert not onednn.applicable(x, w, 1)
    assert not onednn.applicable(x, w, 1)  # Autograd: training and projection use the plain ops.


def test_generator_falls_back_to_plain_ops_when_the_ops_fail(monkeypatch):
    """If a PyTorch version lacks the internal ops or changed them, the probe fails and "fast" runs F.conv2d."""
    from stylegan.models import Generator

    torch.manual_seed(0)
    G = Generator(tiny_generator_config()).eval()
    z = torch.randn(2, G.z_dim)
    with torch.no_grad():
        with use_impl("ref"):
            ref = G(z, None, noise_mode="const")
        with use_impl("fast"):
            packed = G(z, None, noise_mode="const")

            def broken(*args):
                raise RuntimeError("mkldnn::_reorder_convolution_weight: no such op")

            monkeypatch.setattr(onednn, "_available", None)
            monkeypatch.setattr(onednn, "_pack", broken)
            assert not onednn.available()
            plain = G(z, None, noise_mode="const")
    assert_close(packed, ref, 1e-5)
    assert_close(plain, ref, 1e-5)
