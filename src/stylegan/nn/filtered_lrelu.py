"""Filtered leaky ReLU: bias, upsample, leaky ReLU, clamp, downsample (Karras et al. 2021, Alias-Free GANs, §3.1).

A pointwise nonlinearity creates frequencies above the Nyquist limit; applying it at a temporarily higher sampling
rate and low-pass filtering back down keeps the layer (nearly) alias free ("Filtered nonlinearities", Fig. 4).

Two implementations with one contract, chosen by `impl`:
- "ref": the plain definition as separate upfirdn2d / bias+lrelu / clamp / upfirdn2d passes;
- "fast": the same operation with upsampling as tiled GEMMs (no products with inserted zeros), strided
  downsampling (no filter outputs thrown away), gains folded into the filters, and channel chunks that keep the
  upsampled maps small. Two layouts: NCHW (`filtered_lrelu_fast_nchw`, autograd and CUDA) and, for CPU inference,
  channels-last (`filtered_lrelu_fast_nhwc`), where the strided depthwise downsampling runs 2-3x faster in oneDNN.
  tests/nn/test_filtered_lrelu.py checks both against "ref", values and gradients.
Run the comparison: pytest tests/nn/test_filtered_lrelu.py
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F

from .resample import Padding, _pad4, filter_size, upfirdn2d

Impl = Literal["ref", "fast"]
IMPLS = ("ref", "fast")


def filtered_lrelu_ref(
    x: torch.Tensor,  # [N, C, H, W]
    fu: torch.Tensor | None,  # Upsampling filter: 1D [taps] (separable) or 2D; None = identity.
    fd: torch.Tensor | None,  # Downsampling filter: 1D or 2D (radial); None = identity.
    b: torch.Tensor | None,  # Bias [C], added before upsampling.
    up: int = 1,
    down: int = 1,
    padding: Padding = 0,  # Padding of the upsampled signal before filtering: [x0, x1, y0, y1].
    gain: float = math.sqrt(2),  # Applied after the activation.
    slope: float = 0.2,  # Leaky ReLU slope; 1 = linear.
    clamp: float | None = None,  # Clamp to [-clamp, clamp] after the gain; None = off.
    flip_filter: bool = False,
) -> torch.Tensor:
    """y = down(clamp(gain * lrelu(up(x + b)))), computed pass by pass."""
    if b is not None:
        x = x + b.to(x.dtype).reshape(1, -1, 1, 1)
    x = upfirdn2d(x, fu, up=up, padding=padding, gain=up**2, flip_filter=flip_filter)  # Up: keep DC gain 1.
    x = F.leaky_relu(x, slope) if slope != 1 else x
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return upfirdn2d(x, fd, down=down, flip_filter=flip_filter)


def filtered_lrelu(
    x: torch.Tensor,
    fu: torch.Tensor | None,
    fd: torch.Tensor | None,
    b: torch.Tensor | None,
    up: int = 1,
    down: int = 1,
    padding: Padding = 0,
    gain: float = math.sqrt(2),
    slope: float = 0.2,
    clamp: float | None = None,
    flip_filter: bool = False,
    impl: Impl = "fast",
) -> torch.Tensor:
    """Same contract as filtered_lrelu_ref; impl="fast" falls back to "ref" for cases it does not cover."""
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
    args = (x, fu, fd, b, up, down, padding, gain, slope, clamp, flip_filter)
    if impl == "fast" and _fast_supported(fu, fd, up, gain, slope):
        return filtered_lrelu_fast(*args)
    return filtered_lrelu_ref(*args)


def _fast_supported(fu, fd, up, gain, slope) -> bool:
    # Needs a separable up-filter (always so in StyleGAN3); gain > 0 and slope >= 0 for the folding and reordering.
    return (fu is None or fu.ndim == 1) and gain > 0 and slope >= 0


# ---------------------------------------------------------------------------------------------------------------------
# Fast path.
#
# Upsampling: along one axis, each window of `win` input samples maps to `tile` consecutive output samples through a
# fixed banded matrix [win, tile] (all polyphase components at once), and windows advance by tile / up samples. So a
# pass is one GEMM over unfolded windows: no products with inserted zeros and no interleaving of phases afterwards.
# Downsampling: strided depthwise convolutions, which compute only the samples that are kept.
# Everything runs per chunk of channels whose upsampled maps take about `chunk_bytes`, so intermediates stay small
# (large fresh CPU allocations cost more than the arithmetic).


class _Band(NamedTuple):
    matrix: torch.Tensor  # [win, tile]: output s of tile t = sum_w matrix[w, s] * input[offset + t * step + w].
    offset: int  # Input index of the first window (negative = zeros before the signal).
    step: int  # Input samples between windows.
    tiles: int
    length: int  # Output samples wanted; the last tile's surplus is cropped.


def _up_band(f: torch.Tensor, up: int, start: int, length: int, tile: int) -> _Band:
    """Samples start .. start + length of the full convolution y[r] = sum_i x[i] f[r - i up] (zero insertion + FIR)."""
    L = f.numel()
    tile = max(up, tile // up * up)
    o = -((L - 1 - start) // up)  # ceil((start - L + 1) / up): first input sample that reaches the first tile.
    win = (tile - 1 + start) // up - o + 1
    s = torch.arange(tile, device=f.device).reshape(1, -1)  # Output sample within the tile.
    w = torch.arange(win, device=f.device).reshape(-1, 1)  # Input sample within the window.
    k = s + start - (o + w) * up  # Filter tap linking them: y[s] = sum_i x[i] f[s + start - i up].
    m = torch.where((k >= 0) & (k < L), f[k.clamp(0, L - 1)], torch.zeros([], dtype=f.dtype, device=f.device))
    return _Band(m, o, tile // up, -(-length // tile), length)


def _apply_cols(x: torch.Tensor, band: _Band) -> torch.Tensor:
    """Band along the last axis: one GEMM [rows * tiles, win] @ [win, tile]."""
    win, tile = band.matrix.shape
    span = (band.tiles - 1) * band.step + win
    x = F.pad(x, [-band.offset, span + band.offset - x.shape[-1]])  # Zeros outside the signal (negative = crop).
    u = x.unfold(-1, win, band.step)  # [..., tiles, win]: overlapping windows (a view; the GEMM copies it once).
    y = (u.reshape(-1, win) @ band.matrix.to(x.dtype)).reshape(*x.shape[:-1], band.tiles * tile)
    return y[..., :band.length]


def _apply_rows(x: torch.Tensor, band: _Band) -> torch.Tensor:
    """Band along the second-to-last axis: matrix^T [tile, win] @ windows of rows [win, W]."""
    win, tile = band.matrix.shape
    span = (band.tiles - 1) * band.step + win
    x = F.pad(x, [0, 0, -band.offset, span + band.offset - x.shape[-2]])
    u = x.unfold(-2, win, band.step).transpose(-1, -2)  # [..., tiles, win, W]
    y = torch.matmul(band.matrix.t().to(x.dtype), u).reshape(*x.shape[:-2], band.tiles * tile, x.shape[-1])
    return y[..., :band.length, :]


def _lrelu_clamp(x: torch.Tensor, slope: float, clamp: float | None) -> torch.Tensor:
    # clamp(lrelu(y), -c, c) == lrelu(clamp(y, -c/slope, c)) for slope > 0: one clamp, one activation, in place.
    inplace = not (torch.is_grad_enabled() and x.requires_grad)
    if clamp is not None:
        lo = -clamp / slope if slope > 0 else -math.inf
        x = x.clamp_(lo, clamp) if inplace else x.clamp(lo, clamp)
    if slope != 1:
        x = F.leaky_relu_(x, slope) if inplace else F.leaky_relu(x, slope)
    return x


def _downsample(x: torch.Tensor, f: torch.Tensor | None, down: int) -> torch.Tensor:
    """FIR + decimation of [n, H, W] maps as strided depthwise convolutions (f mirrored already; 1D = separable)."""
    if f is None:
        return x[:, ::down, ::down]
    x = x.unsqueeze(0)
    n = x.shape[1]
    if f.ndim == 2:
        x = F.conv2d(x, f[None, None].expand(n, 1, *f.shape), stride=down, groups=n)
    else:
        x = F.conv2d(x, f[None, None, None, :].expand(n, 1, 1, -1), stride=(1, down), groups=n)
        x = F.conv2d(x, f[None, None, :, None].expand(n, 1, -1, 1), stride=(down, 1), groups=n)
    return x[0]


def filtered_lrelu_fast(x, fu, fd, b, up=1, down=1, padding=0, gain=math.sqrt(2), slope=0.2, clamp=None,
                        flip_filter=False) -> torch.Tensor:
    """filtered_lrelu_ref with GEMM upsampling and strided downsampling: channels-last for CPU inference, else NCHW."""
    args = (x, fu, fd, b, up, down, padding, gain, slope, clamp, flip_filter)
    needs_grad = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (x, b))
    # Without an up filter (StyleGAN3's 3-channel toRGB: bias and clamp only) NCHW is faster: 1.0 vs 8.3 ms at 256².
    if x.device.type == "cpu" and fu is not None and not needs_grad:
        return filtered_lrelu_fast_nhwc(*args)
    return filtered_lrelu_fast_nchw(*args)


def _fast_setup(x, fu, fd, up, padding, gain, flip_filter, tile) -> tuple[_Band, _Band, torch.Tensor | None]:
    """Up-sampling bands for x's width and height (their lengths: the ref's upsampled size) with the up gain (up per
    axis) and the activation gain folded into the taps (lrelu(g y) = g lrelu(y) for g > 0), and the down filter as
    the correlation kernel conv2d wants; flip_filter (correlation instead of convolution) mirrors both filters."""
    if flip_filter:
        fu = fu.flip(list(range(fu.ndim))) if fu is not None else None
        fd = fd.flip(list(range(fd.ndim))) if fd is not None else None
    H, W = x.shape[2:]
    px0, px1, py0, py1 = _pad4(padding)
    fuw, fuh = filter_size(fu)
    tmp_w, tmp_h = W * up + px0 + px1 - fuw + 1, H * up + py0 + py1 - fuh + 1
    fu = ((fu if fu is not None else torch.ones([1], device=x.device)) * (up * math.sqrt(gain))).to(x.dtype)
    band_x = _up_band(fu, up, fuw - 1 - px0, tmp_w, tile)
    band_y = _up_band(fu, up, fuh - 1 - py0, tmp_h, tile)
    return band_x, band_y, fd.flip(list(range(fd.ndim))).to(x.dtype) if fd is not None else None


def filtered_lrelu_fast_nchw(x, fu, fd, b, up=1, down=1, padding=0, gain=math.sqrt(2), slope=0.2, clamp=None,
                             flip_filter=False, chunk_bytes: int = 8 << 20, tile: int = 32) -> torch.Tensor:
    """filtered_lrelu_ref with GEMM upsampling and strided downsampling, in channel chunks (see above)."""
    N, C, H, W = x.shape
    band_x, band_y, fd = _fast_setup(x, fu, fd, up, padding, gain, flip_filter, tile)
    tmp_h, tmp_w = band_y.length, band_x.length
    if b is not None:
        x = x + b.to(x.dtype).reshape(1, -1, 1, 1)
    x = x.reshape(N * C, H, W)

    step = max(1, chunk_bytes // (tmp_w * tmp_h * x.element_size()))
    outs = []
    for i in range(0, N * C, step):
        t = _apply_rows(_apply_cols(x[i: i + step], band_x), band_y)  # [n, tmp_h, tmp_w]
        outs.append(_downsample(_lrelu_clamp(t, slope, clamp), fd, down))
    y = outs[0] if len(outs) == 1 else torch.cat(outs, dim=0)
    return y.reshape(N, C, *y.shape[1:])


# Channels-last variant (CPU inference). Per sample and chunk of `chunk` channels, everything is [rows, cols, chunk]:
#   columns: windows of the (bias-added, zero-padded) input rows, one batched GEMM band^T [tile, win] @ [win, chunk]
#            per window, written straight into a buffer with the zero rows the next pass needs;
#   rows:    windows of whole rows are contiguous slabs [win, cols * chunk] of that buffer: one batched GEMM over a
#            strided (overlapping) view of it, with no padding or unfolding pass;
#   then the activation in place, and the downsampling as channels-last strided depthwise convolutions (oneDNN
#   vectorizes those over channels: 2-3x faster than NCHW here, measured on AVX2). Columns past the wanted width
#   (the last tile's surplus) are carried along and cropped at the end.


def _cols_nhwc(x: torch.Tensor, b: torch.Tensor | None, band: _Band, out: torch.Tensor) -> None:
    """x [H, W, n] (+ b [n]) upsampled along W into out [H, tiles * tile, n] (contiguous)."""
    win, tile = band.matrix.shape
    H, W, n = x.shape
    span = (band.tiles - 1) * band.step + win
    lo = -band.offset  # Position of input sample 0 in the padded row.
    xp = x.new_empty([H, span, n])
    a0, a1 = max(lo, 0), min(lo + W, span)
    a1 = max(a1, a0)  # (No input column inside the span: all of it is zeros.)
    xp[:, :a0].zero_()  # Only the margins: the input fills the rest.
    xp[:, a1:].zero_()
    if a1 > a0:
        src = x[:, a0 - lo: a1 - lo]
        if b is None:
            xp[:, a0:a1] = src
        else:
            torch.add(src, b, out=xp[:, a0:a1])
    u = xp.unfold(1, win, band.step).permute(0, 1, 3, 2).reshape(H * band.tiles, win, n)  # (One copy.)
    torch.matmul(band.matrix.t(), u, out=out.view(H * band.tiles, tile, n))


def _rows_nhwc(z: torch.Tensor, band: _Band, start: int) -> torch.Tensor:
    """Upsample z [rows, cols, n] (contiguous; input row 0 at index start - band.offset) along rows."""
    win, tile = band.matrix.shape
    cols = z.shape[1] * z.shape[2]
    u = z.as_strided([band.tiles, win, cols], [band.step * cols, cols, 1], z.storage_offset() + start * cols)
    return torch.matmul(band.matrix.t(), u).view(band.tiles * tile, z.shape[1], z.shape[2])


def _depthwise_weights(f: torch.Tensor, n: int, down: int) -> list[tuple[torch.Tensor, tuple[int, int]]]:
    """Channels-last depthwise weights and strides for n channels: one 2D pass, or x then y for a 1D filter."""
    def cl(w):
        return w.expand(n, 1, *w.shape[2:]).contiguous(memory_format=torch.channels_last)
    if f.ndim == 2:
        return [(cl(f[None, None]), (down, down))]
    return [(cl(f[None, None, None, :]), (1, down)), (cl(f[None, None, :, None]), (down, 1))]


def filtered_lrelu_fast_nhwc(x, fu, fd, b, up=1, down=1, padding=0, gain=math.sqrt(2), slope=0.2, clamp=None,
                             flip_filter=False, chunk: int | None = None, tile: int = 32) -> torch.Tensor:
    """filtered_lrelu_ref for inference in channels-last layout (see above); returns a channels-last tensor.
    chunk: channels per pass; None = 16, or 8 where an upsampled map exceeds 2 MB (1024² models), as measured."""
    N, C, H, W = x.shape
    band_x, band_y, fd = _fast_setup(x, fu, fd, up, padding, gain, flip_filter, tile)
    tmp_h, tmp_w = band_y.length, band_x.length
    if fd is None:  # Plain decimation: a 1-tap filter with the stride.
        fd = torch.ones([1], dtype=x.dtype, device=x.device)
    kw, kh = filter_size(fd)
    if chunk is None:
        chunk = 16 if tmp_h * tmp_w * x.element_size() <= 2 << 20 else 8
    Ho, Wo = (tmp_h - kh) // down + 1, (tmp_w - kw) // down + 1
    out = x.new_empty([N, Ho, Wo, C])
    xh = x.permute(0, 2, 3, 1)
    cols = band_x.tiles * band_x.matrix.shape[1]
    top = max(-band_y.offset, 0)  # Zero rows above the input; the row windows start at top + offset.
    start = top + band_y.offset
    rows = max(start + (band_y.tiles - 1) * band_y.step + band_y.matrix.shape[0], top + H)
    weights = {}
    for i in range(N):
        for c0 in range(0, C, chunk):
            n = min(chunk, C - c0)
            z = x.new_empty([rows, cols, n])
            z[:top].zero_()
            z[top + H:].zero_()
            _cols_nhwc(xh[i, :, :, c0: c0 + n], b[c0: c0 + n].to(x.dtype) if b is not None else None, band_x,
                       z[top: top + H])
            t = _lrelu_clamp(_rows_nhwc(z, band_y, start)[:tmp_h], slope, clamp)  # [tmp_h, cols, n]
            if n not in weights:
                weights[n] = _depthwise_weights(fd, n, down)
            y = t.permute(2, 0, 1).unsqueeze(0)  # [1, n, tmp_h, cols], channels-last.
            for w, stride in weights[n]:
                y = F.conv2d(y, w, stride=stride, groups=n)
            out[i, :, :, c0: c0 + n] = y[0, :, :, :Wo].permute(1, 2, 0)
    return out.permute(0, 3, 1, 2)
