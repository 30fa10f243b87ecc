"""Modulated convolution: fused == non-fused, and demodulation restores unit output scale (StyleGAN2 Eq. 3)."""

import pytest
import torch

from stylegan.nn import modulated_conv2d, setup_filter


@pytest.mark.parametrize("up", [1, 2])
@pytest.mark.parametrize("demodulate", [True, False])
def test_fused_equals_nonfused(up, demodulate):
    torch.manual_seed(0)
    x = torch.randn(3, 8, 8, 8)
    weight = torch.randn(6, 8, 3, 3)
    styles = torch.randn(3, 8) + 1
    noise = torch.randn(3, 1, 8 * up, 8 * up)
    kw = dict(noise=noise, up=up, padding=1, resample_filter=setup_filter([1, 3, 3, 1]), demodulate=demodulate,
              flip_weight=(up == 1))
    a = modulated_conv2d(x, weight, styles, fused_modconv=True, **kw)
    b = modulated_conv2d(x, weight, styles, fused_modconv=False, **kw)
    assert a.shape == (3, 6, 8 * up, 8 * up)
    assert torch.allclose(a, b, atol=1e-4)


def test_demodulation_normalizes_output_scale():
    """With unit-variance input, demodulated outputs have ~unit std whatever the style magnitude."""
    torch.manual_seed(0)
    x = torch.randn(4, 64, 16, 16)
    weight = torch.randn(64, 64, 3, 3)
    for scale in (0.01, 1.0, 100.0):
        styles = torch.rand(4, 64) * scale
        y = modulated_conv2d(x, weight, styles, padding=1, demodulate=True)
        assert 0.8 < y[:, :, 1:-1, 1:-1].std().item() < 1.2, scale
    y = modulated_conv2d(x, weight, torch.full([4, 64], 100.0), padding=1, demodulate=False)
    assert y.std().item() > 100  # Without demodulation the style scale passes straight through.


