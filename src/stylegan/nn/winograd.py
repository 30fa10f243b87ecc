"""3x3 convolution by Winograd's minimal filtering F(4x4, 3x3) (Lavin & Gray 2016, "Fast Algorithms for
Convolutional Neural Networks"), for CPU inference in the "fast" implementation.

A 4x4 output tile of a 3x3 correlation is Y = A^T [(G g G^T) * (B^T d B)] A over a 6x6 input tile d: the products
become 36 independent GEMMs [tiles, I] @ [I, O] with 36 / 16 = 2.25 multiplies per output instead of 9. oneDNN has no
Winograd kernels for AVX2 CPUs, so on the wide StyleGAN layers (>= 128 channels) this is 2-3.5x faster than the
direct convolution there; with AVX-512 it pays only on the widest layers (see THRESHOLDS). The transforms are a few
elementwise passes. Relative error ~1e-5 (direct: ~3e-6) in float32.
Only without autograd (the transforms write into preallocated buffers); the weight transform is cached on the
weight tensor until it changes (weight_cache.py). `conv2d_winograd` is checked against F.conv2d in
tests/nn/test_fast_paths.py.
"""

from __future__ import annotations

import torch

from . import onednn, weight_cache
from .impl import direct_convolutions_only

# Where Winograd pays, by the vector width PyTorch's CPU kernels use (torch.backends.cpu.get_cpu_capability()):
# (MIN_CHANNELS, MIN_PIXELS_WITH_ONEDNN). Below MIN_CHANNELS the transforms cost more than the multiplies they save;
# below MIN_PIXELS_WITH_ONEDNN output pixels (batch x height x width) the direct convolution with prepacked weights
# (onednn.py) is faster. Measured layer by layer at 64-512 channels, batch 1-8:
# - AVX2 (EPYC, Zen 2/3 class): 128 and 256; e.g. 512 channels at 8x8, batch 2: 4.9 (direct) vs 5.6 ms.
# - AVX-512 (EPYC, Zen 5): oneDNN's direct kernels run twice as fast, so Winograd wins only from 256 channels and 1024
#   pixels: 512 channels at 32x32, batch 2: 19.6 (Winograd) vs 23.7 ms (direct), but at 16x16 7.3 vs 6.5 ms, and 128
#   channels at 128x128 32.8 vs 24.1 ms. The whole generator: sg2-256 batch 2 and sg3t-256 batch 1 ~7% faster than
#   with the AVX2 thresholds, sg2-64 and sg2-1024 within noise.
THRESHOLDS = {"AVX512": (256, 1024)}
MIN_CHANNELS, MIN_PIXELS_WITH_ONEDNN = THRESHOLDS.get(torch.backends.cpu.get_cpu_capability(), (128, 256))

# G of F(4x4, 3x3): the weight transform U = G g G^T (6x6 per 3x3 kernel).
_G = ((1 / 4, 0, 0), (-1 / 6, -1 / 6, -1 / 6), (-1 / 6, 1 / 6, -1 / 6), (1 / 24, 1 / 12, 1 / 6),
      (1 / 24, -1 / 12, 1 / 6), (0, 0, 1))


def applicable(x: torch.Tensor, w: torch.Tensor, stride, groups: int, transpose: bool) -> bool:
    """Stride-1 dense 3x3 float32 convolution on CPU, wide enough to profit, with no gradient to record."""
    return (not direct_convolutions_only() and not torch.compiler.is_compiling() and x.device.type == "cpu"
            and x.dtype == torch.float32 and w.dtype == torch.float32 and not transpose and groups == 1
            and tuple(w.shape[2:]) == (3, 3) and stride in (1, (1, 1))
            and min(w.shape[0], w.shape[1]) >= MIN_CHANNELS and x.shape[2] >= 4 and x.shape[3] >= 4
            and not (torch.is_grad_enabled() and (x.requires_grad or w.requires_grad))
            and (x.shape[0] * x.shape[2] * x.shape[3] >= MIN_PIXELS_WITH_ONEDNN or not onednn.applicable(x, w, groups)))


def winograd_weights(w: torch.Tensor) -> torch.Tensor:
    """[O, I, 3, 3] correlation kernels -> U [36, I, O'] (computed in float64), cached on `w` while it is unchanged.
    O' is O rounded up to a multiple of 8 with zero columns: the GEMMs run up to 1.7x faster at widths like
    StyleGAN3's 181 or 362 channels (measured with MKL on AVX2); the extra outputs are never read."""
    return weight_cache.derived(w, "winograd", _transform_weights)


def _transform_weights(w: torch.Tensor) -> torch.Tensor:
    g = torch.tensor(_G, dtype=torch.float64, device=w.device)
    O, I = w.shape[:2]
    U = torch.einsum("ak,oikl,bl->abio", g, w.double(), g).reshape(36, I, O).to(w.dtype)
    return torch.nn.functional.pad(U, [0, _padded_width(O) - O]).contiguous()


def _padded_width(O: int) -> int:
    return O + -O % 8


def _input_transform(d: list[torch.Tensor], out: torch.Tensor) -> None:
    """Rows of B^T applied to the 6 samples d[0..5] of every window, written to out[0..5] (shared subterms)."""
    d0, d1, d2, d3, d4, d5 = d
    torch.add(d4, d2, alpha=-5, out=out[0]).add_(d0, alpha=4)  # 4 d0 - 5 d2 + d4
    torch.add(d5, d3, alpha=-5, out=out[5]).add_(d1, alpha=4)  # 4 d1 - 5 d3 + d5
    p, q = torch.add(d4, d2, alpha=-4), torch.add(d3, d1, alpha=-4)
    torch.add(p, q, out=out[1])  # -4 d1 - 4 d2 + d3 + d4
    torch.sub(p, q, out=out[2])  # 4 d1 - 4 d2 - d3 + d4
    u, v = torch.sub(d4, d2), torch.sub(d3, d1)
    torch.add(u, v, alpha=2, out=out[3])  # -2 d1 - d2 + 2 d3 + d4
    torch.add(u, v, alpha=-2, out=out[4])  # 2 d1 - d2 - 2 d3 + d4


def _output_transform(m: list[torch.Tensor], out: list[torch.Tensor]) -> None:
    """Rows of A^T applied to the 6 values m[0..5], written to the 4 outputs."""
    a, b = m[1] + m[2], m[1] - m[2]
    c, d = m[3] + m[4], m[3] - m[4]
    torch.add(a, c, out=out[0]).add_(m[0])  # m0 + m1 + m2 + m3 + m4
    torch.add(b, d, alpha=2, out=out[1])  # m1 - m2 + 2 (m3 - m4)
    torch.add(a, c, alpha=4, out=out[2])  # m1 + m2 + 4 (m3 + m4)
    torch.add(b, d, alpha=8, out=out[3]).add_(m[5])  # m1 - m2 + 8 (m3 - m4) + m5


def _padded_nhwc(x: torch.Tensor, pad: tuple[int, int, int, int], scale: torch.Tensor | None) -> torch.Tensor:
    """x [N, C, H, W] (any layout) zero-padded by (x0, x1, y0, y1) into a fresh [N, H', W', C] buffer, times
    scale [N, C] if given: padding, layout change and modulation in one pass."""
    N, C, H, W = x.shape
    x0, x1, y0, y1 = pad
    xp = x.new_empty([N, H + y0 + y1, W + x0 + x1, C])
    for region in (xp[:, :y0], xp[:, y0 + H:], xp[:, y0: y0 + H, :x0], xp[:, y0: y0 + H, x0 + W:]):
        region.zero_()
    inner, src = xp[:, y0: y0 + H, x0: x0 + W], x.permute(0, 2, 3, 1)
    if scale is None:
        inner.copy_(src)
    else:
        torch.mul(src, scale.to(x.dtype).reshape(N, 1, 1, C), out=inner)
    return xp


def _gemms(V: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The 36 products V[a] @ U[a], U the weight transform of w: [36, tiles, I] -> [36, tiles, O']. With oneDNN's
    packed weights where available (onednn.bmm: faster than MKL's torch.bmm on AMD CPUs), else torch.bmm."""
    if onednn.applicable(V[0, None, None], w, 1):
        return onednn.bmm(V, w, "winograd", _transform_weights)
    return torch.bmm(V, winograd_weights(w))


@torch.no_grad()
def conv2d_winograd(x: torch.Tensor, w: torch.Tensor, padding: int | tuple[int, int] = 0,
                    scale: torch.Tensor | None = None) -> torch.Tensor:
    """F.conv2d(x * scale[:, :, None, None], w, padding=padding) for 3x3 w (stride 1, no groups); scale [N, C] is
    optional (the modulation s of StyleGAN2 Eq. 1). Channels-last output [N, O, H', W']."""
    N, C, H, W = x.shape
    py, px = (padding, padding) if isinstance(padding, int) else padding
    O, Op = w.shape[0], _padded_width(w.shape[0])
    Ho, Wo = H + 2 * py - 2, W + 2 * px - 2
    Th, Tw = -(-Ho // 4), -(-Wo // 4)  # 4x4 output tiles; the last ones may stick out (cropped below).
    xp = _padded_nhwc(x, (px, px + Tw * 4 - Wo, py, py + Th * 4 - Ho), scale)  # [N, 4 Th + 2, 4 Tw + 2, C]

    # V = B^T d B for all 6x6 windows (stride 4): rows, then columns, into [6, 6, N, Th, Tw, C].
    r = x.new_empty([6, N, Th, xp.shape[2], C])
    _input_transform([xp[:, k: k + 4 * Th: 4] for k in range(6)], r)
    V = x.new_empty([6, 6, N, Th, Tw, C])
    _input_transform([r[:, :, :, k: k + 4 * Tw: 4] for k in range(6)], V.transpose(0, 1))

    # 36 GEMMs, then Y = A^T M A: rows into s [4, 6, ...], columns into the 4x4 output tiles.
    M = _gemms(V.view(36, N * Th * Tw, C), w).view(6, 6, N, Th, Tw, Op)[..., :O]
    del V, r
    s = x.new_empty([4, 6, N, Th, Tw, O])
    _output_transform([M[k] for k in range(6)], [s[k] for k in range(4)])
    del M
    y = x.new_empty([N, Th, 4, Tw, 4, O])
    for p in range(4):
        _output_transform([s[p, k] for k in range(6)], [y[:, :, p, :, q] for q in range(4)])
    y = y.view(N, Th * 4, Tw * 4, O)
    if Th * 4 != Ho or Tw * 4 != Wo:
        y = y[:, :Ho, :Wo]
    return y.permute(0, 3, 1, 2)
