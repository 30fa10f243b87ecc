"""Image operators of the equivariance metrics (Karras et al. 2021, "Alias-Free Generative Adversarial Networks",
Appendix E). Each returns (image, mask): the mask marks pixels that no sample from outside the image influenced.

Coordinates: pixel i of a W-wide image has index coordinate i; "normalized" coordinates span [-1, 1] across the
image edges (pixel centres at (2i + 1) / W - 1), as torch.nn.functional.affine_grid uses them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def rotation_matrix(angle: float | torch.Tensor) -> torch.Tensor:
    """[3, 3] [[cos, sin, 0], [-sin, cos, 0], [0, 0, 1]]: the convention of StyleGAN3's input transform."""
    a = torch.as_tensor(angle, dtype=torch.float32)
    m = torch.eye(3)
    m[0, 0], m[0, 1], m[1, 0], m[1, 1] = a.cos(), a.sin(), -a.sin(), a.cos()
    return m


def lanczos(x: torch.Tensor, a: int) -> torch.Tensor:
    """Lanczos window sinc(x / a) on |x| < a, else 0."""
    return torch.where(x.abs() < a, torch.sinc(x / a), torch.zeros_like(x))


def integer_translation(x: torch.Tensor, tx: float, ty: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Shift content by (tx * W, ty * H) pixels, rounded (operator T_x of Appendix E.1): z[p] = x[p - t]."""
    _, _, H, W = x.shape
    ix, iy = int(round(float(tx) * W)), int(round(float(ty) * H))
    z, m = torch.zeros_like(x), torch.zeros_like(x)
    if abs(ix) < W and abs(iy) < H:
        dst = (slice(None), slice(None), slice(max(iy, 0), H + min(iy, 0)), slice(max(ix, 0), W + min(ix, 0)))
        src = (slice(None), slice(None), slice(max(-iy, 0), H + min(-iy, 0)), slice(max(-ix, 0), W + min(-ix, 0)))
        z[dst] = x[src]
        m[dst] = 1
    return z, m


def _shift(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """out[p] = x[p - (dy, dx)], zero where that falls outside."""
    _, _, H, W = x.shape
    out = torch.zeros_like(x)
    if abs(dy) < H and abs(dx) < W:
        out[:, :, max(dy, 0): H + min(dy, 0), max(dx, 0): W + min(dx, 0)] = \
            x[:, :, max(-dy, 0): H + min(-dy, 0), max(-dx, 0): W + min(-dx, 0)]
    return out


def fractional_translation(x: torch.Tensor, tx: float, ty: float, a: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Shift content by (tx * W, ty * H) pixels with separable Lanczos-a interpolation (Appendix E.2).

    With t = i + f (i integer, 0 <= f < 1): z[p] = sum_k x[p - i - k] L(k - f) / sum_k L(k - f), k = 1 - a .. a,
    where L(s) = sinc(s) sinc(s / a). Valid where every x[p - i - k] is inside: i + a <= p < W + i - a + 1.
    """
    _, _, H, W = x.shape
    ts = [float(tx) * W, float(ty) * H]
    ints = [math.floor(t) for t in ts]
    taps = torch.arange(1 - a, a + 1, dtype=torch.float64)
    wx, wy = [(lambda s: s / s.sum())(torch.sinc(taps - (t - i)) * torch.sinc((taps - (t - i)) / a))
              for t, i in zip(ts, ints)]
    z = torch.zeros_like(x)
    for ky, wky in zip(taps.tolist(), wy.tolist()):
        row = torch.zeros_like(x)
        for kx, wkx in zip(taps.tolist(), wx.tolist()):
            row += wkx * _shift(x, ints[1] + int(ky), ints[0] + int(kx))
        z += wky * row
    m = torch.zeros_like(x)
    x0, x1 = max(ints[0] + a, 0), min(W + ints[0] - a + 1, W)
    y0, y1 = max(ints[1] + a, 0), min(H + ints[1] - a + 1, H)
    if x0 < x1 and y0 < y1:
        m[:, :, y0:y1, x0:x1] = 1
    return z, m


def bandlimit_filter(A: torch.Tensor, a: int = 3, radius: int = 6, up: int = 4, fft_radius: int = 64) -> torch.Tensor:
    """[K, K] FIR filter, K = 2 * radius * up - 1 taps at spacing 1/up input pixels, that band-limits a signal both
    before and after the linear map A (2x2): the convolution of the ideal low-pass sinc(x) sinc(y) with its
    transformed twin sinc(A p), windowed by the same convolution of Lanczos-a windows. The convolutions run over a
    periodic grid of +-fft_radius pixels; each of the up x up polyphase components is normalized to unit sum, so
    that upsampling with it keeps a constant image constant."""
    n = 2 * fft_radius * up - 1
    k = torch.arange(n, dtype=torch.float64)
    pos = torch.where(k <= n // 2, k, k - n) / up  # Grid in FFT order (offset 0 first).
    yi, xi = torch.meshgrid(pos, pos, indexing="ij")
    A = A.to(torch.float64)
    xo, yo = A[0, 0] * xi + A[0, 1] * yi, A[1, 0] * xi + A[1, 1] * yi

    def conv(p, q):
        return torch.fft.ifft2(torch.fft.fft2(p) * torch.fft.fft2(q)).real

    f = conv(torch.sinc(xi) * torch.sinc(yi), torch.sinc(xo) * torch.sinc(yo))
    f = f * conv(lanczos(xi, a) * lanczos(yi, a), lanczos(xo, a) * lanczos(yo, a))
    r = radius * up - 1
    f = torch.fft.fftshift(f)[n // 2 - r: n // 2 + r + 1, n // 2 - r: n // 2 + r + 1]
    phase = torch.arange(-r, r + 1) % up
    for p in range(up):
        for q in range(up):
            sel = (phase[:, None] == p) & (phase[None, :] == q)
            f[sel] = f[sel] / f[sel].sum()
    return f.to(torch.float32)


def fractional_rotation(x: torch.Tensor, angle: float, a: int = 3, up: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotate content by `angle` radians about the centre (operator R_alpha of Appendix E.3): upsample `up`x with
    the band-limiting filter of the rotation, then sample bilinearly at out(q) = in(R^-1 q), R = rotation_matrix."""
    N, C, H, W = x.shape
    R = rotation_matrix(angle).to(x.device)
    f = bandlimit_filter(R[:2, :2].cpu(), a=a, radius=2 * a, up=up).to(x.device, x.dtype)
    c = f.shape[0] // 2
    # y[o] is the upsampled signal at index coordinate (o - c) / up.
    y = F.conv_transpose2d(x.reshape(N * C, 1, H, W), f[None, None], stride=up).reshape(N, C, *[(s - 1) * up + 2 * c + 1
                                                                                          for s in (H, W)])
    ys, xs = [(torch.arange(s, dtype=torch.float32, device=x.device) * 2 + 1) / s - 1 for s in (H, W)]
    qy, qx = torch.meshgrid(ys, xs, indexing="ij")
    Rinv = torch.linalg.inv(R[:2, :2])
    src = [Rinv[i, 0] * qx + Rinv[i, 1] * qy for i in range(2)]  # Normalized source coordinates (x, y).
    o = [((s + 1) * n / 2 - 0.5) * up + c for s, n in zip(src, (W, H))]  # Upsampled index coordinates.
    size = [y.shape[3], y.shape[2]]
    grid = torch.stack([o[i] * 2 / (size[i] - 1) - 1 for i in range(2)], dim=-1)
    z = F.grid_sample(y, grid[None].expand(N, H, W, 2), mode="bilinear", padding_mode="zeros", align_corners=True)
    # y[o] sees only image samples iff 2c - up < o < n * up; bilinear reads floor(o) and floor(o) + 1.
    ok = [(oi.floor() > 2 * c - up) & (oi.floor() + 1 < n * up) for oi, n in zip(o, (W, H))]
    m = (ok[0] & ok[1]).to(x.dtype)[None, None].expand(N, C, H, W)
    return z, m


def fractional_pseudo_rotation(x: torch.Tensor, angle: float, a: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Give x the frequency content it would have after fractional_rotation by `angle`, without rotating it
    (operator R*_alpha of Appendix E.3): filter at the original rate with the band-limiting filter of R(-angle)."""
    N, C, H, W = x.shape
    f = bandlimit_filter(rotation_matrix(-angle)[:2, :2], a=a, radius=2 * a, up=1).to(x.device, x.dtype)
    c = f.shape[0] // 2
    y = F.conv2d(x.reshape(N * C, 1, H, W), f.flip([0, 1])[None, None], padding=c).reshape(N, C, H, W)
    m = torch.zeros_like(x)
    m[:, :, c: H - c, c: W - c] = 1
    return y, m
