"""upfirdn2d and conv2d_resample against direct definitions."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from stylegan.nn import conv2d_resample, downsample2d, filter2d, setup_filter, upfirdn2d, upsample2d


def naive_upfirdn2d(x, f, up, down, pad):
    """Definition: zero-insert, pad, true 2D convolution with f, decimate (numpy, loops)."""
    x = x.numpy()
    N, C, H, W = x.shape
    u = np.zeros([N, C, H * up, W * up])
    u[:, :, ::up, ::up] = x
    x0, x1, y0, y1 = pad
    u = np.pad(u, [(0, 0), (0, 0), (y0, y1), (x0, x1)])
    f = f.numpy()
    fh, fw = f.shape
    out = np.zeros([N, C, u.shape[2] - fh + 1, u.shape[3] - fw + 1])
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            out[:, :, i, j] = (u[:, :, i: i + fh, j: j + fw] * f[::-1, ::-1]).sum(axis=(2, 3))
    return torch.from_numpy(out[:, :, ::down, ::down]).float()


@pytest.mark.parametrize("up,down,pad", [(1, 1, (1, 2, 2, 1)), (2, 1, (2, 1, 2, 1)), (1, 2, (1, 1, 1, 1)),
                                         (2, 2, (2, 2, 1, 1))])
def test_upfirdn2d_matches_definition(up, down, pad):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 6, 7)
    f = torch.randn(4, 4)  # Asymmetric filter: catches flips.
    ours = upfirdn2d(x, f, up=up, down=down, padding=pad)
    ref = naive_upfirdn2d(x, f, up, down, pad)
    assert ours.shape == ref.shape
    assert torch.allclose(ours, ref, atol=1e-5)


def test_separable_filter_equals_outer_product():
    torch.manual_seed(0)
    x = torch.randn(1, 2, 9, 9)
    taps = torch.tensor([1.0, 2, 4, 5, 5, 4, 2, 1])
    f1 = setup_filter(taps)  # 8 taps -> separable 1D
    f2 = setup_filter(taps, separable=False)
    assert f1.ndim == 1 and f2.ndim == 2
    assert torch.allclose(upsample2d(x, f1), upsample2d(x, f2), atol=1e-6)


def test_resampling_preserves_constants_and_shapes():
    f = setup_filter([1, 3, 3, 1])
    x = torch.full([1, 1, 8, 8], 3.0)
    up = upsample2d(x, f)
    down = downsample2d(x, f)
    assert up.shape[-1] == 16 and down.shape[-1] == 4
    assert torch.allclose(up[..., 2:-2, 2:-2], torch.tensor(3.0))  # Interior (borders see zero padding).
    assert torch.allclose(down[..., 1:-1, 1:-1], torch.tensor(3.0))
    assert filter2d(x, f).shape == x.shape


def general_conv2d_resample(x, w, f, up, down, padding, flip_weight):
    """The definition: zero-insert + pad (padding relative to the upsampled input, before filtering) + FIR filter,
    valid convolution, FIR filter + decimate."""
    fw = f.shape[-1]
    p0 = p1 = padding
    if up > 1:
        p0, p1 = p0 + (fw + up - 1) // 2, p1 + (fw - up) // 2
    if down > 1:
        p0, p1 = p0 + (fw - down + 1) // 2, p1 + (fw - down) // 2
    y = upfirdn2d(x, f if up > 1 else None, up=up, padding=[p0, p1, p0, p1], gain=up**2)
    y = F.conv2d(y, w if flip_weight else w.flip([2, 3]))
    return upfirdn2d(y, f, down=down) if down > 1 else y


@pytest.mark.parametrize("up,down,k", [(1, 1, 3), (2, 1, 3), (1, 2, 3), (1, 2, 1), (2, 1, 1), (2, 2, 3)])
@pytest.mark.parametrize("flip_weight", [True, False])
def test_conv2d_resample_fast_paths_match_definition(up, down, k, flip_weight):
    torch.manual_seed(1)
    x = torch.randn(2, 4, 8, 8, dtype=torch.float64)
    w = torch.randn(5, 4, k, k, dtype=torch.float64)
    f = setup_filter([1, 3, 3, 1]).double()
    ours = conv2d_resample(x, w, f=f, up=up, down=down, padding=k // 2, flip_weight=flip_weight)
    ref = general_conv2d_resample(x, w, f, up, down, k // 2, flip_weight)
    assert ours.shape == ref.shape == (2, 5, 8 * up // down, 8 * up // down)
    assert torch.allclose(ours, ref, atol=1e-10)


def test_conv2d_resample_grouped_matches_per_group():
    torch.manual_seed(2)
    x = torch.randn(1, 6, 8, 8, dtype=torch.float64)
    w = torch.randn(4, 3, 3, 3, dtype=torch.float64)  # 2 groups: 3 in -> 2 out each
    f = setup_filter([1, 3, 3, 1]).double()
    ours = conv2d_resample(x, w, f=f, up=2, padding=1, groups=2, flip_weight=False)
    parts = [conv2d_resample(x[:, 3 * g: 3 * g + 3], w[2 * g: 2 * g + 2], f=f, up=2, padding=1, flip_weight=False)
             for g in range(2)]
    assert torch.allclose(ours, torch.cat(parts, dim=1), atol=1e-10)
