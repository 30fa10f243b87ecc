"""FIR resampling (upfirdn2d) and resampled convolution, pure PyTorch.

upfirdn2d = upsample by zero insertion, pad, convolve with a 2D FIR filter, downsample by decimation
(the operation StyleGAN2 uses for its [1,3,3,1] "blur" resampling, Karras et al. 2020, Appendix B).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

Padding = int | Sequence[int]


def _pad4(padding: Padding) -> tuple[int, int, int, int]:
    """int | [px, py] | [x0, x1, y0, y1] -> (x0, x1, y0, y1)."""
    if isinstance(padding, int):
        return padding, padding, padding, padding
    padding = [int(p) for p in padding]
    if len(padding) == 2:
        px, py = padding
        return px, px, py, py
    assert len(padding) == 4, padding
    return padding[0], padding[1], padding[2], padding[3]


def _pair(v: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(v, int):
        return v, v
    assert len(v) == 2
    return int(v[0]), int(v[1])


def filter_size(f: torch.Tensor | None) -> tuple[int, int]:
    """(width, height) of a 1D (separable) or 2D filter; (1, 1) for None."""
    if f is None:
        return 1, 1
    assert f.ndim in (1, 2)
    return f.shape[-1], f.shape[0]


def setup_filter(
    f: Sequence[float] | np.ndarray | torch.Tensor,
    normalize: bool = True,  # Scale so that the filter sums to 1.
    flip_filter: bool = False,
    gain: float = 1.0,  # Overall gain applied to the signal.
    separable: bool | None = None,  # None = separable iff 1D with >= 8 taps.
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Turn taps into the float32 filter tensor upfirdn2d expects: 1D [taps] (separable) or 2D [taps, taps]."""
    f = torch.as_tensor(np.asarray(f, dtype=np.float32) if not torch.is_tensor(f) else f, dtype=torch.float32)
    if f.ndim == 0:
        f = f[None]
    if separable is None:
        separable = f.ndim == 1 and f.numel() >= 8
    if f.ndim == 1 and not separable:
        f = torch.outer(f, f)
    assert f.ndim == (1 if separable else 2)
    if normalize:
        f = f / f.sum()
    if flip_filter:
        f = f.flip(list(range(f.ndim)))
    f = f * (gain ** (f.ndim / 2))
    return f.to(device=device)


def upfirdn2d(
    x: torch.Tensor,  # [N, C, H, W]
    f: torch.Tensor | None,  # FIR filter, 1D [taps] (separable) or 2D [fh, fw]; None = identity.
    up: int | Sequence[int] = 1,
    down: int | Sequence[int] = 1,
    padding: Padding = 0,  # Padding (negative = crop) after upsampling, before filtering.
    flip_filter: bool = False,  # False = true convolution, True = correlation.
    gain: float = 1.0,
) -> torch.Tensor:
    """Upsample (zero insertion), pad, FIR filter, downsample (decimation). Returns [N, C, H', W']."""
    if f is None:
        f = torch.ones([1, 1], dtype=torch.float32, device=x.device)
    N, C, H, W = x.shape
    upx, upy = _pair(up)
    downx, downy = _pair(down)
    px0, px1, py0, py1 = _pad4(padding)

    # Upsample by inserting zeros.
    if upx > 1 or upy > 1:
        x = x.reshape(N, C, H, 1, W, 1)
        x = F.pad(x, [0, upx - 1, 0, 0, 0, upy - 1])
        x = x.reshape(N, C, H * upy, W * upx)

    # Pad, or crop where the padding is negative.
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0) : x.shape[2] - max(-py1, 0), max(-px0, 0) : x.shape[3] - max(-px1, 0)]

    # Filter as a depthwise convolution (conv2d correlates, so flip for a true convolution).
    f = f * (gain ** (f.ndim / 2))
    f = f.to(x.dtype)
    if not flip_filter:
        f = f.flip(list(range(f.ndim)))
    if f.ndim == 2:
        x = F.conv2d(x, f[None, None].expand(C, 1, *f.shape), groups=C)
    else:
        x = F.conv2d(x, f[None, None, None, :].expand(C, 1, 1, -1), groups=C)
        x = F.conv2d(x, f[None, None, :, None].expand(C, 1, -1, 1), groups=C)

    # Downsample by throwing away pixels.
    if downx > 1 or downy > 1:
        x = x[:, :, ::downy, ::downx]
    return x


def filter2d(x: torch.Tensor, f: torch.Tensor, padding: Padding = 0, flip_filter: bool = False, gain: float = 1.0):
    """Filter keeping the size ('same' padding plus `padding`)."""
    fw, fh = filter_size(f)
    px0, px1, py0, py1 = _pad4(padding)
    p = [px0 + fw // 2, px1 + (fw - 1) // 2, py0 + fh // 2, py1 + (fh - 1) // 2]
    return upfirdn2d(x, f, padding=p, flip_filter=flip_filter, gain=gain)


def upsample2d(x: torch.Tensor, f: torch.Tensor, up: int = 2, padding: Padding = 0, flip_filter=False, gain=1.0):
    """Upsample by `up` with FIR filter f (output size H*up, W*up when padding=0)."""
    upx, upy = _pair(up)
    fw, fh = filter_size(f)
    px0, px1, py0, py1 = _pad4(padding)
    p = [px0 + (fw + upx - 1) // 2, px1 + (fw - upx) // 2, py0 + (fh + upy - 1) // 2, py1 + (fh - upy) // 2]
    return upfirdn2d(x, f, up=up, padding=p, flip_filter=flip_filter, gain=gain * upx * upy)


def downsample2d(x: torch.Tensor, f: torch.Tensor, down: int = 2, padding: Padding = 0, flip_filter=False, gain=1.0):
    """Downsample by `down` after FIR filtering (output size H/down, W/down when padding=0)."""
    downx, downy = _pair(down)
    fw, fh = filter_size(f)
    px0, px1, py0, py1 = _pad4(padding)
    p = [px0 + (fw - downx + 1) // 2, px1 + (fw - downx) // 2, py0 + (fh - downy + 1) // 2, py1 + (fh - downy) // 2]
    return upfirdn2d(x, f, down=down, padding=p, flip_filter=flip_filter, gain=gain)


def _conv(x, w, stride=1, padding=0, groups=1, transpose=False, flip_weight=True):
    # conv2d correlates; flip_weight=False asks for a true convolution.
    if not flip_weight and (w.shape[2] > 1 or w.shape[3] > 1):
        w = w.flip([2, 3])
    if transpose:
        return F.conv_transpose2d(x, w, stride=stride, padding=padding, groups=groups)
    return F.conv2d(x, w, stride=stride, padding=padding, groups=groups)


def conv2d_resample(
    x: torch.Tensor,  # [N, C_in, H, W]
    w: torch.Tensor,  # [C_out, C_in // groups, kh, kw]
    f: torch.Tensor | None = None,  # Resampling filter (setup_filter); needed when up or down > 1.
    up: int = 1,
    down: int = 1,
    padding: Padding = 0,  # Padding relative to the (upsampled) input.
    groups: int = 1,
    flip_weight: bool = True,  # True = correlation like F.conv2d, False = true convolution.
    flip_filter: bool = False,
) -> torch.Tensor:
    """2D convolution with optional FIR up/downsampling, choosing the cheapest equivalent order of operations."""
    out_channels, in_per_group, kh, kw = w.shape
    fw, fh = filter_size(f)
    px0, px1, py0, py1 = _pad4(padding)
    if up > 1:
        px0 += (fw + up - 1) // 2
        px1 += (fw - up) // 2
        py0 += (fh + up - 1) // 2
        py1 += (fh - up) // 2
    if down > 1:
        px0 += (fw - down + 1) // 2
        px1 += (fw - down) // 2
        py0 += (fh - down + 1) // 2
        py1 += (fh - down) // 2

    # 1x1 conv with downsampling only: downsample first (fewer pixels to convolve).
    if kw == 1 and kh == 1 and down > 1 and up == 1:
        x = upfirdn2d(x, f, down=down, padding=[px0, px1, py0, py1], flip_filter=flip_filter)
        return _conv(x, w, groups=groups, flip_weight=flip_weight)
    # 1x1 conv with upsampling only: convolve first.
    if kw == 1 and kh == 1 and up > 1 and down == 1:
        x = _conv(x, w, groups=groups, flip_weight=flip_weight)
        return upfirdn2d(x, f, up=up, padding=[px0, px1, py0, py1], gain=up**2, flip_filter=flip_filter)
    # Downsampling only: filter, then strided convolution.
    if down > 1 and up == 1:
        x = upfirdn2d(x, f, padding=[px0, px1, py0, py1], flip_filter=flip_filter)
        return _conv(x, w, stride=down, groups=groups, flip_weight=flip_weight)
    # Upsampling: transposed strided convolution, then filter.
    if up > 1:
        if groups == 1:
            w = w.transpose(0, 1)
        else:
            w = w.reshape(groups, out_channels // groups, in_per_group, kh, kw).transpose(1, 2)
            w = w.reshape(groups * in_per_group, out_channels // groups, kh, kw)
        px0 -= kw - 1
        px1 -= kw - up
        py0 -= kh - 1
        py1 -= kh - up
        pxt = max(min(-px0, -px1), 0)
        pyt = max(min(-py0, -py1), 0)
        x = _conv(x, w, stride=up, padding=[pyt, pxt], groups=groups, transpose=True, flip_weight=not flip_weight)
        x = upfirdn2d(x, f, padding=[px0 + pxt, px1 + pxt, py0 + pyt, py1 + pyt], gain=up**2, flip_filter=flip_filter)
        if down > 1:
            x = upfirdn2d(x, f, down=down, flip_filter=flip_filter)
        return x
    # No resampling and symmetric padding: a plain convolution.
    if up == 1 and down == 1 and px0 == px1 and py0 == py1 and px0 >= 0 and py0 >= 0:
        return _conv(x, w, padding=[py0, px0], groups=groups, flip_weight=flip_weight)
    # General case.
    x = upfirdn2d(x, f if up > 1 else None, up=up, padding=[px0, px1, py0, py1], gain=up**2, flip_filter=flip_filter)
    x = _conv(x, w, groups=groups, flip_weight=flip_weight)
    if down > 1:
        x = upfirdn2d(x, f, down=down, flip_filter=flip_filter)
    return x
