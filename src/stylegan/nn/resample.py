"""FIR resampling (upfirdn2d) and resampled convolution, pure PyTorch.

upfirdn2d = upsample by zero insertion, pad, convolve with a 2D FIR filter, downsample by decimation
(the operation StyleGAN2 uses for its [1,3,3,1] "blur" resampling, Karras et al. 2020, Appendix B).

Two implementations behind `impl` (see impl.py): "ref" is op for op the official pure-PyTorch path (zero insertion,
full-resolution filtering, decimation); "fast" computes the same samples as transposed / strided depthwise
convolutions in channels-last layout, so upsampling never multiplies inserted zeros and downsampling computes only
the samples it keeps (each does about 1/4 of the work of "ref" for 2x resampling).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from . import onednn, weight_cache, winograd
from .impl import resolve

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
    impl: str | None = None,  # "ref" | "fast"; None = the current default (impl.py).
) -> torch.Tensor:
    """Upsample (zero insertion), pad, FIR filter, downsample (decimation). Returns [N, C, H', W']."""
    fn = upfirdn2d_fast if resolve(impl) == "fast" else upfirdn2d_ref
    return fn(x, f, up=up, down=down, padding=padding, flip_filter=flip_filter, gain=gain)


def upfirdn2d_ref(
    x: torch.Tensor,  # [N, C, H, W]
    f: torch.Tensor | None,  # FIR filter, 1D [taps] (separable) or 2D [fh, fw]; None = identity.
    up: int | Sequence[int] = 1,
    down: int | Sequence[int] = 1,
    padding: Padding = 0,  # Padding (negative = crop) after upsampling, before filtering.
    flip_filter: bool = False,  # False = true convolution, True = correlation.
    gain: float = 1.0,
) -> torch.Tensor:
    """Reference: the definition pass by pass, as the official `_upfirdn2d_ref`."""
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


# ---------------------------------------------------------------------------------------------------------------------
# Fast path: the same samples as upfirdn2d_ref, per filter axis (2D filter: both at once; 1D: x then y), as
#   up > 1:   a depthwise transposed convolution with stride `up` (zero insertion + filter in one op, no products with
#             inserted zeros), cropped to the reference's window;
#   down > 1: a depthwise convolution with stride `down` (only the kept samples are computed);
# in channels-last layout, where oneDNN's depthwise kernels are several times faster than in NCHW on CPU.

CHANNELS_LAST = torch.channels_last


def to_channels_last(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=CHANNELS_LAST) if x.ndim == 4 else x


def _crop_or_pad(x: torch.Tensor, dim: int, start: int, length: int) -> torch.Tensor:
    """x[start : start + length] along dim (3 = x, 2 = y), with zeros where that leaves the tensor."""
    n = x.shape[dim]
    if start == 0 and length == n:
        return x  # Not even a view: its backward would copy the gradient into a fresh NCHW tensor.
    lo, hi = max(-start, 0), max(start + length - n, 0)
    if lo or hi:
        x = F.pad(x, [lo, hi, 0, 0] if dim == 3 else [0, 0, lo, hi])
        start += lo
    return x.narrow(dim, start, length)


class _DepthwiseFIR(torch.autograd.Function):
    """Depthwise (transposed) convolution with a constant filter whose backward is its adjoint, computed by this same
    Function: derivatives of any order are single depthwise ops. (Autograd's generic double backward of a grouped
    convolution loops over the C groups, which made R1 through D several times slower than the forward.)"""

    @staticmethod
    def forward(ctx, x, w, stride, padding, transpose, output_padding):
        ctx.save_for_backward(w)
        ctx.args = (stride, padding, transpose, x.shape[2:])
        if transpose:
            return F.conv_transpose2d(x, w, stride=stride, padding=padding, output_padding=output_padding,
                                      groups=w.shape[0])
        return F.conv2d(x, w, stride=stride, padding=padding, groups=w.shape[0])

    @staticmethod
    def backward(ctx, g):
        (w,) = ctx.saved_tensors
        w = w.to(g.dtype)  # Under autocast the forward ran in BF16/FP16 and so does its gradient.
        stride, padding, transpose, in_size = ctx.args
        if transpose:  # Adjoint of a transposed convolution: the convolution.
            return _DepthwiseFIR.apply(g, w, stride, padding, False, (0, 0)), None, None, None, None, None
        # Adjoint of a strided convolution: the transposed one, sized back to the input.
        kh, kw = w.shape[2:]
        op = tuple(n - ((m - 1) * s - 2 * p + k) for n, m, s, p, k in
                   zip(in_size, g.shape[2:], stride, padding, (kh, kw)))
        return _DepthwiseFIR.apply(g, w, stride, padding, True, op), None, None, None, None, None


def _depthwise(x, w, stride, padding, transpose, output_padding):
    if w.requires_grad:  # A learned filter: let autograd differentiate it too.
        if transpose:
            return F.conv_transpose2d(x, w, stride=stride, padding=padding, output_padding=output_padding,
                                      groups=w.shape[0])
        return F.conv2d(x, w, stride=stride, padding=padding, groups=w.shape[0])
    return _DepthwiseFIR.apply(x, w, stride, padding, transpose, output_padding)


def _fir(x: torch.Tensor, k: torch.Tensor, up: tuple[int, int], down: tuple[int, int], pad: tuple[int, int, int, int]):
    """One depthwise FIR stage. k: correlation kernel [kh, kw]; up/down: (y, x); pad: (x0, x1, y0, y1) as in the ref."""
    C, H, W = x.shape[1:]
    kh, kw = k.shape
    (uy, ux), (dy, dx) = up, down
    x0, x1, y0, y1 = pad
    out_h, out_w = H * uy + y0 + y1 - kh + 1, W * ux + x0 + x1 - kw + 1  # Before decimation (the ref's size).
    if uy == 1 and ux == 1:
        # Symmetric non-negative padding goes into the convolution; the rest is padded or cropped explicitly.
        py, px = max(min(y0, y1), 0), max(min(x0, x1), 0)
        x = _crop_or_pad(_crop_or_pad(x, 3, px - x0, W + x0 + x1 - 2 * px), 2, py - y0, H + y0 + y1 - 2 * py)
        w = to_channels_last(k.to(x.dtype)[None, None].expand(C, 1, kh, kw))
        return _depthwise(x, w, (dy, dx), (py, px), False, (0, 0))
    # Transposed convolution: full[s] = sum_i x[i] k'[s - u i] with k' = flip(k); ref[r] = full[r + kh - 1 - y0].
    w = to_channels_last(k.flip([0, 1]).to(x.dtype)[None, None].expand(C, 1, kh, kw))
    full_h, full_w = (H - 1) * uy + kh, (W - 1) * ux + kw
    sy, sx = kh - 1 - y0, kw - 1 - x0  # Window start in the full output.
    py = max(min(sy, full_h - sy - out_h), 0)  # Symmetric part of the crop: done by the op's `padding`.
    px = max(min(sx, full_w - sx - out_w), 0)
    x = _depthwise(x, w, (uy, ux), (py, px), True, (0, 0))
    x = _crop_or_pad(_crop_or_pad(x, 3, sx - px, out_w), 2, sy - py, out_h)
    if dy > 1 or dx > 1:
        x = x[:, :, ::dy, ::dx]
    return x


def upfirdn2d_fast(x, f, up=1, down=1, padding=0, flip_filter=False, gain=1.0) -> torch.Tensor:
    """upfirdn2d_ref as transposed / strided depthwise convolutions (see above); channels-last output."""
    if f is None:
        f = torch.ones([1, 1], dtype=torch.float32, device=x.device)
    upx, upy = _pair(up)
    downx, downy = _pair(down)
    px0, px1, py0, py1 = _pad4(padding)
    f = f * (gain ** (f.ndim / 2))
    if not flip_filter:
        f = f.flip(list(range(f.ndim)))  # Correlation kernel, as the ref passes to conv2d.
    x = to_channels_last(x)
    if f.ndim == 2:
        return _fir(x, f, (upy, upx), (downy, downx), (px0, px1, py0, py1))
    x = _fir(x, f[None, :], (1, upx), (1, downx), (px0, px1, 0, 0))
    return _fir(x, f[:, None], (upy, 1), (downy, 1), (0, 0, py0, py1))


def filter2d(x: torch.Tensor, f: torch.Tensor, padding: Padding = 0, flip_filter: bool = False, gain: float = 1.0,
             impl: str | None = None):
    """Filter keeping the size ('same' padding plus `padding`)."""
    fw, fh = filter_size(f)
    px0, px1, py0, py1 = _pad4(padding)
    p = [px0 + fw // 2, px1 + (fw - 1) // 2, py0 + fh // 2, py1 + (fh - 1) // 2]
    return upfirdn2d(x, f, padding=p, flip_filter=flip_filter, gain=gain, impl=impl)


def upsample2d(x: torch.Tensor, f: torch.Tensor, up: int = 2, padding: Padding = 0, flip_filter=False, gain=1.0,
               impl: str | None = None):
    """Upsample by `up` with FIR filter f (output size H*up, W*up when padding=0)."""
    upx, upy = _pair(up)
    fw, fh = filter_size(f)
    px0, px1, py0, py1 = _pad4(padding)
    p = [px0 + (fw + upx - 1) // 2, px1 + (fw - upx) // 2, py0 + (fh + upy - 1) // 2, py1 + (fh - upy) // 2]
    return upfirdn2d(x, f, up=up, padding=p, flip_filter=flip_filter, gain=gain * upx * upy, impl=impl)


def downsample2d(x: torch.Tensor, f: torch.Tensor, down: int = 2, padding: Padding = 0, flip_filter=False, gain=1.0,
                 impl: str | None = None):
    """Downsample by `down` after FIR filtering (output size H/down, W/down when padding=0)."""
    downx, downy = _pair(down)
    fw, fh = filter_size(f)
    px0, px1, py0, py1 = _pad4(padding)
    p = [px0 + (fw - downx + 1) // 2, px1 + (fw - downx) // 2, py0 + (fh - downy + 1) // 2, py1 + (fh - downy) // 2]
    return upfirdn2d(x, f, down=down, padding=p, flip_filter=flip_filter, gain=gain, impl=impl)


def _flip(w: torch.Tensor, flip_weight: bool) -> torch.Tensor:
    # conv2d correlates; flip_weight=False asks for a true convolution.
    return w.flip([2, 3]) if not flip_weight and (w.shape[2] > 1 or w.shape[3] > 1) else w


def _transposed_weight(w: torch.Tensor, groups: int) -> torch.Tensor:
    """[O, I / groups, kh, kw] -> the [I, O / groups, kh, kw] weight of the equivalent conv_transpose2d."""
    if groups == 1:
        return w.transpose(0, 1)
    out_channels, in_per_group, kh, kw = w.shape
    w = w.reshape(groups, out_channels // groups, in_per_group, kh, kw).transpose(1, 2)
    return w.reshape(groups * in_per_group, out_channels // groups, kh, kw)


def _conv(x, w, stride=1, padding=0, groups=1, transpose=False, flip_weight=True, bias=None, fast=False):
    if fast and winograd.applicable(x, w, stride, groups, transpose):  # CPU inference, wide layers.
        y = winograd.conv2d_winograd(x, _flip(w, flip_weight), padding)
        return y if bias is None else y + bias.reshape(1, -1, 1, 1)
    if fast:  # Channels-last activations and weights: oneDNN's fastest CPU layout, and Tensor Core friendly on CUDA.
        # (The weight's flipped channels-last copy is made once per weight value: weight_cache.py.)
        x = to_channels_last(x)
        w = weight_cache.derived(w, ("conv", flip_weight), lambda w: to_channels_last(_flip(w, flip_weight)))
        if onednn.applicable(x, w, groups):  # CPU inference: the weights packed for oneDNN once, not on every call.
            return onednn.conv2d(x, w, bias, stride=stride, padding=padding, transpose=transpose)
    else:
        w = _flip(w, flip_weight)
    if transpose:
        return F.conv_transpose2d(x, w, bias, stride=stride, padding=padding, groups=groups)
    return F.conv2d(x, w, bias, stride=stride, padding=padding, groups=groups)


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
    bias: torch.Tensor | None = None,  # [C_out] added to the output; None = none (the official op has no bias).
    impl: str | None = None,  # "ref" | "fast" (channels-last, fast resampling, bias inside the conv); None = default.
) -> torch.Tensor:
    """2D convolution with optional FIR up/downsampling, choosing the cheapest equivalent order of operations."""
    impl = resolve(impl)
    fast = impl == "fast"
    kh, kw = w.shape[2:]
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
    # The bias goes into the convolution when nothing follows it (fast), else it is added at the end.
    b_conv = bias if fast and up == 1 else None
    b_end = bias if b_conv is None else None

    def end(x):
        return x if b_end is None else x + b_end.reshape(1, -1, 1, 1)

    # 1x1 conv with downsampling only: downsample first (fewer pixels to convolve).
    if kw == 1 and kh == 1 and down > 1 and up == 1:
        x = upfirdn2d(x, f, down=down, padding=[px0, px1, py0, py1], flip_filter=flip_filter, impl=impl)
        return end(_conv(x, w, groups=groups, flip_weight=flip_weight, bias=b_conv, fast=fast))
    # 1x1 conv with upsampling only: convolve first.
    if kw == 1 and kh == 1 and up > 1 and down == 1:
        x = _conv(x, w, groups=groups, flip_weight=flip_weight, fast=fast)
        return end(upfirdn2d(x, f, up=up, padding=[px0, px1, py0, py1], gain=up**2, flip_filter=flip_filter,
                             impl=impl))
    # Downsampling only: filter, then strided convolution.
    if down > 1 and up == 1:
        x = upfirdn2d(x, f, padding=[px0, px1, py0, py1], flip_filter=flip_filter, impl=impl)
        return end(_conv(x, w, stride=down, groups=groups, flip_weight=flip_weight, bias=b_conv, fast=fast))
    # Upsampling: transposed strided convolution, then filter.
    if up > 1:
        if fast:  # The transposed, flipped, channels-last weight, made once per weight value (weight_cache.py).
            w = weight_cache.derived(w, ("up", groups, flip_weight), lambda w: to_channels_last(
                _flip(_transposed_weight(w, groups), not flip_weight)))
            flip_weight = False  # (Done.)
        else:
            w = _transposed_weight(w, groups)
        px0 -= kw - 1
        px1 -= kw - up
        py0 -= kh - 1
        py1 -= kh - up
        pxt = max(min(-px0, -px1), 0)
        pyt = max(min(-py0, -py1), 0)
        x = _conv(x, w, stride=up, padding=[pyt, pxt], groups=groups, transpose=True, flip_weight=not flip_weight,
                  fast=fast)
        x = upfirdn2d(x, f, padding=[px0 + pxt, px1 + pxt, py0 + pyt, py1 + pyt], gain=up**2,
                      flip_filter=flip_filter, impl=impl)
        if down > 1:
            x = upfirdn2d(x, f, down=down, flip_filter=flip_filter, impl=impl)
        return end(x)
    # No resampling and symmetric padding: a plain convolution.
    if up == 1 and down == 1 and px0 == px1 and py0 == py1 and px0 >= 0 and py0 >= 0:
        return end(_conv(x, w, padding=[py0, px0], groups=groups, flip_weight=flip_weight, bias=b_conv, fast=fast))
    # General case (here: no resampling, asymmetric or negative padding).
    x = upfirdn2d(x, f if up > 1 else None, up=up, padding=[px0, px1, py0, py1], gain=up**2, flip_filter=flip_filter,
                  impl=impl)
    x = _conv(x, w, groups=groups, flip_weight=flip_weight, bias=b_conv, fast=fast)
    if down > 1:
        x = upfirdn2d(x, f, down=down, flip_filter=flip_filter, impl=impl)
    return end(x)
