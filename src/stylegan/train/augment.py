"""Differentiable augmentation pipeline of ADA (Karras et al. 2020, "Training Generative Adversarial Networks with
Limited Data", Appendix B). Each operation is applied to a sample with probability multiplier x p; it is applied to
every image D sees (reals, fakes, R1 reals), so gradients flow through it and the augmentations do not leak.

The 18 transformations of the paper (the filter bank counts as 4, one per band) are, in execution order:
blit (x-flip, 90-degree rotations, integer translation) and geom (isotropic scale, rotation, anisotropic scale,
fractional translation), composed into one inverse 3x3 matrix and resampled once with wavelet filters; color
(brightness, contrast, luma flip, hue, saturation), composed into one 4x4 matrix; filter (4-band filter bank);
noise; cutout. Random numbers are drawn from torch's global RNG on the images' device, in the official order.
Run the tests with `pytest tests/train/test_augment.py`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from stylegan.nn.resample import downsample2d, setup_filter, upsample2d

from .augment_presets import AUGMENT_PRESETS

# Low-pass decomposition filters of the Daubechies symlets sym2 (filter bank) and sym6 (geometric resampling).
SYM2 = (-0.12940952255092145, 0.22414386804185735, 0.836516303737469, 0.48296291314469025)
SYM6 = (0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633,
        0.4910559419267466, 0.787641141030194, 0.3379294217276218, -0.07263752278646252,
        -0.021060292512300564, 0.04472490177066578, 0.0017677118642428036, -0.007800708325034148)


@dataclass(frozen=True)
class AugmentConfig:
    """Probability multipliers (0 = off) and strengths; defaults are those of the official pipeline."""

    # Pixel blitting.
    xflip: float = 0.0  # Multiplier for x-flip (a flip is then chosen with probability 1/2).
    rotate90: float = 0.0  # Multiplier for rotation by a random multiple of 90 degrees.
    xint: float = 0.0  # Multiplier for integer translation.
    xint_max: float = 0.125  # Range of integer translation, fraction of the image size.
    # General geometric transformations.
    scale: float = 0.0  # Multiplier for isotropic scaling.
    rotate: float = 0.0  # Multiplier for arbitrary rotation (split into a pre- and a post-rotation).
    aniso: float = 0.0  # Multiplier for anisotropic scaling.
    xfrac: float = 0.0  # Multiplier for fractional translation.
    scale_std: float = 0.2  # Log2 std of isotropic scaling.
    rotate_max: float = 1.0  # Range of rotation, 1 = full circle.
    aniso_std: float = 0.2  # Log2 std of anisotropic scaling.
    xfrac_std: float = 0.125  # Std of fractional translation, fraction of the image size.
    # Color transformations.
    brightness: float = 0.0  # Multiplier for brightness (additive).
    contrast: float = 0.0  # Multiplier for contrast (multiplicative).
    lumaflip: float = 0.0  # Multiplier for luma flip (a flip is then chosen with probability 1/2).
    hue: float = 0.0  # Multiplier for hue rotation (skipped for 1-channel images).
    saturation: float = 0.0  # Multiplier for saturation (skipped for 1-channel images).
    brightness_std: float = 0.2  # Std of the brightness offset.
    contrast_std: float = 0.5  # Log2 std of contrast.
    hue_max: float = 1.0  # Range of hue rotation, 1 = full circle.
    saturation_std: float = 1.0  # Log2 std of saturation.
    # Image-space filtering.
    imgfilter: float = 0.0  # Multiplier for amplifying/attenuating frequency bands.
    imgfilter_bands: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)  # Per-band multipliers, low to high.
    imgfilter_std: float = 1.0  # Log2 std of band gains.
    # Image-space corruptions.
    noise: float = 0.0  # Multiplier for additive Gaussian noise.
    cutout: float = 0.0  # Multiplier for cutout.
    noise_std: float = 0.1  # Std of the noise std (|N(0, noise_std)| per image).
    cutout_size: float = 0.5  # Side of the cutout square, fraction of the image size.

    def __post_init__(self):
        if len(self.imgfilter_bands) != 4:
            raise ValueError(f"imgfilter_bands needs 4 values (one per band), got {self.imgfilter_bands}")


def augment_config(preset: str = "bgc") -> AugmentConfig:
    """AugmentConfig with the multipliers of a named preset set to 1; override with dataclasses.replace."""
    if preset not in AUGMENT_PRESETS:
        raise ValueError(f"unknown augmentation preset {preset!r}; valid: {', '.join(AUGMENT_PRESETS)}")
    return dataclasses.replace(AugmentConfig(), **AUGMENT_PRESETS[preset])


# ----------------------------------------------------------------------------------------------------------------------
# Matrices (batched over the leading dims of the tensor arguments) and filters.


def _matrix(rows: list[list[torch.Tensor | float]], device: torch.device) -> torch.Tensor:
    """Rows of scalars / per-sample tensors [N] -> float32 matrices [N, R, C]."""
    elems = [torch.as_tensor(e, dtype=torch.float32, device=device) for row in rows for e in row]
    return torch.stack(torch.broadcast_tensors(*elems), dim=-1).unflatten(-1, (len(rows), len(rows[0])))


def translate2d(tx, ty, device=None) -> torch.Tensor:
    return _matrix([[1, 0, tx], [0, 1, ty], [0, 0, 1]], device)


def scale2d(sx, sy, device=None) -> torch.Tensor:
    return _matrix([[sx, 0, 0], [0, sy, 0], [0, 0, 1]], device)


def rotate2d(theta: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(theta), torch.sin(theta)
    return _matrix([[c, -s, 0], [s, c, 0], [0, 0, 1]], theta.device)


def rotate3d(v: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """[N, 3, 3] rotation by theta [N] about the unit axis v [3] (Rodrigues' formula)."""
    k = _matrix([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]], v.device)  # Cross-product matrix of v.
    c, s = torch.cos(theta)[:, None, None], torch.sin(theta)[:, None, None]
    return c * torch.eye(3, device=v.device) + s * k + (1 - c) * torch.outer(v, v)


def homogeneous3d(linear: torch.Tensor, offset: torch.Tensor | None = None) -> torch.Tensor:
    """Color transform y = linear @ rgb + offset as a homogeneous matrix: [N, 3, 3], [N, 3] -> [N, 4, 4]."""
    m = torch.eye(4, device=linear.device).repeat(linear.shape[0], 1, 1)
    m[:, :3, :3] = linear
    if offset is not None:
        m[:, :3, 3] = offset
    return m


def imgfilter_bank(lowpass: np.ndarray, num_bands: int = 4) -> np.ndarray:
    """[num_bands, taps] octave band-pass filters, lowest band first, that sum to a unit impulse (App. B.4)."""
    highpass = lowpass * (-1.0) ** np.arange(lowpass.size)  # H(-z)
    lo2 = np.convolve(lowpass, lowpass[::-1]) / 2  # H(z) H(1/z) / 2: half-band low-pass.
    hi2 = np.convolve(highpass, highpass[::-1]) / 2  # H(-z) H(-1/z) / 2: its complementary high-pass.
    bank = np.eye(num_bands, 1)
    for i in range(1, num_bands):
        dilated = np.zeros([num_bands, bank.shape[1] * 2 - 1])
        dilated[:, ::2] = bank  # Existing bands move down one octave ...
        bank = np.stack([np.convolve(row, lo2) for row in dilated])  # ... under the new half-band low-pass,
        start = (bank.shape[1] - hi2.size) // 2
        bank[i, start : start + hi2.size] += hi2  # and band i takes the top octave.
    return bank


def _gate(value: torch.Tensor, prob: torch.Tensor, neutral: float) -> torch.Tensor:
    """Per sample (dim 0): keep `value` with probability `prob`, else the neutral value."""
    keep = torch.rand([value.shape[0]] + [1] * (value.ndim - 1), device=value.device) < prob
    return torch.where(keep, value, torch.full_like(value, neutral))


def _matmul(a: torch.Tensor | None, b: torch.Tensor | None) -> torch.Tensor | None:
    """a @ b, with None standing for the identity."""
    return b if a is None else a if b is None else a @ b


# ----------------------------------------------------------------------------------------------------------------------
# Sampling the per-sample transforms (App. B.1-B.3). G_inv maps output pixels to input pixels (centered coordinates);
# each enabled op draws its values and then its gate, whether or not the gate lets it through.


def sample_blit(cfg: AugmentConfig, p: torch.Tensor, n: int, h: int, w: int, device) -> torch.Tensor | None:
    """Inverse pixel-blitting transforms [N, 3, 3]: x-flip, 90-degree rotation, integer translation (B.1)."""
    g_inv = None
    if cfg.xflip > 0:
        i = _gate(torch.floor(torch.rand([n], device=device) * 2), cfg.xflip * p, 0)
        g_inv = _matmul(g_inv, scale2d(1 - 2 * i, 1))  # A flip is its own inverse.
    if cfg.rotate90 > 0:
        i = _gate(torch.floor(torch.rand([n], device=device) * 4), cfg.rotate90 * p, 0)
        g_inv = _matmul(g_inv, rotate2d(np.pi / 2 * i))  # Inverse of a rotation by -i * 90 degrees.
    if cfg.xint > 0:
        t = _gate((torch.rand([n, 2], device=device) * 2 - 1) * cfg.xint_max, cfg.xint * p, 0)
        g_inv = _matmul(g_inv, translate2d(-torch.round(t[:, 0] * w), -torch.round(t[:, 1] * h)))
    return g_inv


def sample_geom(cfg: AugmentConfig, p: torch.Tensor, n: int, h: int, w: int, device) -> torch.Tensor | None:
    """Inverse general geometric transforms [N, 3, 3]: scale, rotate, anisotropic scale, rotate, translate (B.2)."""
    g_inv = None
    if cfg.scale > 0:
        s = _gate(torch.exp2(torch.randn([n], device=device) * cfg.scale_std), cfg.scale * p, 1)
        g_inv = _matmul(g_inv, scale2d(1 / s, 1 / s))
    p_rot = 1 - torch.sqrt((1 - cfg.rotate * p).clamp(0, 1))  # Pre or post rotation: P(either) = rotate * p.
    if cfg.rotate > 0:
        theta = _gate((torch.rand([n], device=device) * 2 - 1) * np.pi * cfg.rotate_max, p_rot, 0)
        g_inv = _matmul(g_inv, rotate2d(theta))  # Before anisotropic scaling.
    if cfg.aniso > 0:
        s = _gate(torch.exp2(torch.randn([n], device=device) * cfg.aniso_std), cfg.aniso * p, 1)
        g_inv = _matmul(g_inv, scale2d(1 / s, s))
    if cfg.rotate > 0:
        theta = _gate((torch.rand([n], device=device) * 2 - 1) * np.pi * cfg.rotate_max, p_rot, 0)
        g_inv = _matmul(g_inv, rotate2d(theta))  # After anisotropic scaling.
    if cfg.xfrac > 0:
        t = _gate(torch.randn([n, 2], device=device) * cfg.xfrac_std, cfg.xfrac * p, 0)
        g_inv = _matmul(g_inv, translate2d(-t[:, 0] * w, -t[:, 1] * h))
    return g_inv


def sample_color(cfg: AugmentConfig, p: torch.Tensor, n: int, c: int, device) -> torch.Tensor | None:
    """Color transforms [N, 4, 4] acting on homogeneous RGB: brightness ... saturation (B.3)."""
    m = None
    eye = torch.eye(3, device=device)
    v = torch.full([3], 3**-0.5, device=device)  # Luma axis.
    vv = torch.outer(v, v)  # Projection onto the luma axis.
    if cfg.brightness > 0:
        b = _gate(torch.randn([n], device=device) * cfg.brightness_std, cfg.brightness * p, 0)
        m = _matmul(homogeneous3d(eye.expand(n, 3, 3), b[:, None].expand(n, 3)), m)
    if cfg.contrast > 0:
        s = _gate(torch.exp2(torch.randn([n], device=device) * cfg.contrast_std), cfg.contrast * p, 1)
        m = _matmul(homogeneous3d(s[:, None, None] * eye), m)
    if cfg.lumaflip > 0:
        i = _gate(torch.floor(torch.rand([n, 1, 1], device=device) * 2), cfg.lumaflip * p, 0)
        m = _matmul(homogeneous3d(eye - 2 * i * vv), m)  # Householder reflection of the luma axis.
    if cfg.hue > 0 and c > 1:
        theta = _gate((torch.rand([n], device=device) * 2 - 1) * np.pi * cfg.hue_max, cfg.hue * p, 0)
        m = _matmul(homogeneous3d(rotate3d(v, theta)), m)  # Rotation about the luma axis.
    if cfg.saturation > 0 and c > 1:
        s = _gate(torch.exp2(torch.randn([n, 1, 1], device=device) * cfg.saturation_std), cfg.saturation * p, 1)
        m = _matmul(homogeneous3d(vv + (eye - vv) * s), m)  # Scale chroma, keep luma.
    return m


def sample_imgfilter_gains(cfg: AugmentConfig, p: torch.Tensor, n: int, device) -> torch.Tensor:
    """Per-band gains [N, 4]: each band 2^N(0, std) with its own gate, renormalized to keep expected power (B.4)."""
    power = torch.tensor([10.0, 1.0, 1.0, 1.0], device=device) / 13  # Expected power per band (1/f spectrum).
    g = torch.ones([n, 4], device=device)
    for i, band in enumerate(cfg.imgfilter_bands):
        t_i = _gate(torch.exp2(torch.randn([n], device=device) * cfg.imgfilter_std), cfg.imgfilter * p * band, 1)
        t = torch.ones([n, 4], device=device)
        t[:, i] = t_i
        g = g * t / (power * t.square()).sum(dim=-1, keepdim=True).sqrt()
    return g


# ----------------------------------------------------------------------------------------------------------------------
# Executing the transforms.


class _GridSample(torch.autograd.Function):
    """y = grid_sample(x, grid), bilinear, zero padding, align_corners=False: linear in x, grid is a constant."""

    @staticmethod
    def forward(ctx, x, grid):
        ctx.save_for_backward(grid)
        ctx.x_shape = x.shape
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    @staticmethod
    def backward(ctx, dy):
        (grid,) = ctx.saved_tensors
        return _GridSampleTranspose.apply(dy, grid, ctx.x_shape), None


class _GridSampleTranspose(torch.autograd.Function):
    """dx = G^T dy, the adjoint of _GridSample; its derivative is _GridSample again, so every order works (R1)."""

    @staticmethod
    def forward(ctx, dy, grid, x_shape):
        ctx.save_for_backward(grid)
        x_placeholder = dy.new_zeros(x_shape)  # Only its shape is read when the grid gradient is not requested.
        dx, _ = torch.ops.aten.grid_sampler_2d_backward(dy, x_placeholder, grid, 0, 0, False, [True, False])
        return dx

    @staticmethod
    def backward(ctx, ddx):
        (grid,) = ctx.saved_tensors
        return _GridSample.apply(ddx, grid), None, None


def grid_sample_bilinear(x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """F.grid_sample (bilinear, zeros, align_corners=False) with derivatives of any order w.r.t. x [N, C, H, W]."""
    if grid.requires_grad:
        raise ValueError("grid_sample_bilinear treats the grid as a constant; detach it")
    return _GridSample.apply(x, grid)


def geometric_resample(images: torch.Tensor, g_inv: torch.Tensor, hz: torch.Tensor) -> torch.Tensor:
    """Apply inverse transforms g_inv [N, 3, 3] to images [N, C, H, W] (App. B.2): reflect-pad, 2x upsample with
    the wavelet low-pass hz, bilinear sampling, 2x downsample with the flipped low-pass."""
    n, c, h, w = images.shape
    device = images.device
    hz_pad = hz.shape[0] // 4  # Filter support at the input resolution.

    # Pad just enough (reflect) that every sample and its filter support lands inside the image.
    cx, cy = (w - 1) / 2, (h - 1) / 2
    corners = torch.tensor([[-cx, -cy, 1], [cx, -cy, 1], [cx, cy, 1], [-cx, cy, 1]], device=device).T  # [xyz, 4]
    reach = (g_inv @ corners)[:, :2, :].permute(1, 0, 2).flatten(1)  # [xy, N * 4]
    margin = torch.cat([-reach, reach]).amax(dim=1)  # [x0, y0, x1, y1]
    margin = margin + torch.tensor([hz_pad * 2 - cx, hz_pad * 2 - cy] * 2, device=device)
    margin = margin.clamp(min=0).minimum(torch.tensor([w - 1, h - 1] * 2, device=device, dtype=margin.dtype))
    mx0, my0, mx1, my1 = margin.ceil().to(torch.int64).tolist()
    images = F.pad(images, [mx0, mx1, my0, my1], mode="reflect")
    g_inv = translate2d((mx0 - mx1) / 2, (my0 - my1) / 2, device=device) @ g_inv

    # 2x upsample; move g_inv to upsampled pixel coordinates.
    images = upsample2d(images, hz, up=2)
    g_inv = scale2d(2, 2, device=device) @ g_inv @ scale2d(0.5, 0.5, device=device)
    g_inv = translate2d(-0.5, -0.5, device=device) @ g_inv @ translate2d(0.5, 0.5, device=device)

    # Sample the (2x, filter-margined) output grid; affine_grid works in [-1, 1] coordinates.
    shape = [n, c, (h + hz_pad * 2) * 2, (w + hz_pad * 2) * 2]
    to_unit = scale2d(2 / images.shape[3], 2 / images.shape[2], device=device)
    g_inv = to_unit @ g_inv @ scale2d(shape[3] / 2, shape[2] / 2, device=device)
    grid = F.affine_grid(g_inv[:, :2, :], shape, align_corners=False)
    images = grid_sample_bilinear(images, grid.to(images.dtype))

    # 2x downsample and crop the margin.
    return downsample2d(images, hz, down=2, padding=-hz_pad * 2, flip_filter=True)


def apply_color(images: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Apply homogeneous color transforms m [N, 4, 4]; 1 channel uses the mean RGB row, a 4th (alpha) is kept."""
    n, c, h, w = images.shape
    m = m.to(images.dtype)
    x = images.reshape(n, c, h * w)
    if c == 1:
        m = m[:, :3, :].mean(dim=1, keepdim=True)  # [N, 1, 4]
        x = x * m[:, :, :3].sum(dim=2, keepdim=True) + m[:, :, 3:]
    elif c in (3, 4):
        x = torch.cat([m[:, :3, :3] @ x[:, :3] + m[:, :3, 3:], x[:, 3:]], dim=1)
    else:
        raise ValueError(f"color augmentation needs 1 (L), 3 (RGB) or 4 (RGBA) channels, got {c}")
    return x.reshape(n, c, h, w)


def apply_imgfilter(images: torch.Tensor, gains: torch.Tensor, bank: torch.Tensor) -> torch.Tensor:
    """Filter each image with sum_i gains[:, i] * bank[i] (separable, reflect padding) (App. B.4)."""
    n, c, h, w = images.shape
    pad = bank.shape[1] // 2
    if min(h, w) <= pad:
        raise ValueError(f"imgfilter needs images larger than {pad}x{pad} pixels, got {h}x{w}")
    f = (gains @ bank).to(images.dtype).repeat_interleave(c, dim=0)  # [N * C, taps]
    x = F.pad(images.reshape(1, n * c, h, w), [pad] * 4, mode="reflect")
    x = F.conv2d(x, f[:, None, None, :], groups=n * c)
    x = F.conv2d(x, f[:, None, :, None], groups=n * c)
    return x.reshape(n, c, h, w)


def apply_noise(images: torch.Tensor, cfg: AugmentConfig, p: torch.Tensor) -> torch.Tensor:
    """Add N(0, sigma^2) per pixel with sigma ~ |N(0, noise_std^2)| per image (App. B.5)."""
    n, c, h, w = images.shape
    sigma = _gate(torch.randn([n, 1, 1, 1], device=images.device).abs() * cfg.noise_std, cfg.noise * p, 0)
    return images + (torch.randn([n, c, h, w], device=images.device) * sigma).to(images.dtype)


def apply_cutout(images: torch.Tensor, cfg: AugmentConfig, p: torch.Tensor) -> torch.Tensor:
    """Zero a square of side cutout_size (fraction of the image) at a uniform random center (App. B.5)."""
    n, c, h, w = images.shape
    device = images.device
    size = _gate(torch.full([n, 2, 1, 1], cfg.cutout_size, device=device), cfg.cutout * p, 0)  # [N, xy, 1, 1]
    center = torch.rand([n, 2, 1, 1], device=device)
    x = (torch.arange(w, device=device).reshape(1, w) + 0.5) / w
    y = (torch.arange(h, device=device).reshape(h, 1) + 0.5) / h
    outside = ((x - center[:, 0]).abs() >= size[:, 0] / 2) | ((y - center[:, 1]).abs() >= size[:, 1] / 2)
    return images * outside[:, None].to(images.dtype)  # [N, 1, H, W]


class AugmentPipe(torch.nn.Module):
    """ADA augmentation with overall probability buffer `p` (set by the ADA controller or fixed)."""

    def __init__(self, cfg: AugmentConfig, impl: str = "fast"):
        super().__init__()
        if impl not in ("ref", "fast"):
            raise ValueError(f"impl must be 'ref' or 'fast', got {impl!r}")
        self.cfg = cfg
        self.impl = impl  # "fast": resample only the images whose geometric transform is not the identity.
        self.register_buffer("p", torch.zeros([]))  # Overall probability multiplier; the only state in state_dict.
        self.register_buffer("hz_geom", setup_filter(SYM6), persistent=False)  # Orthogonal low-pass for resampling.
        bank = torch.as_tensor(imgfilter_bank(np.asarray(SYM2)), dtype=torch.float32)
        self.register_buffer("hz_fbank", bank, persistent=False)  # [4, 43] band-pass filters.

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Augment images [N, C, H, W] (float, about [-1, 1]); same shape and dtype out."""
        if images.ndim != 4:
            raise ValueError(f"expected images [N, C, H, W], got shape {list(images.shape)}")
        if not bool(self.p > 0):  # Exact identity (the official pipe resamples anyway, identity up to rounding).
            return images
        cfg, p, device = self.cfg, self.p, images.device
        n, c, h, w = images.shape

        g_inv = _matmul(sample_blit(cfg, p, n, h, w, device), sample_geom(cfg, p, n, h, w, device))
        if g_inv is not None and self.impl == "ref":
            images = geometric_resample(images, g_inv, self.hz_geom)
        elif g_inv is not None:
            moved = (g_inv != torch.eye(3, device=device)).flatten(1).any(dim=1).nonzero().flatten()
            if len(moved) == n:
                images = geometric_resample(images, g_inv, self.hz_geom)
            elif len(moved) > 0:  # At small p most images are untouched: their resampling is the identity.
                images = images.index_put((moved,), geometric_resample(images[moved], g_inv[moved], self.hz_geom))

        m = sample_color(cfg, p, n, c, device)
        if m is not None:
            images = apply_color(images, m)
        if cfg.imgfilter > 0:
            images = apply_imgfilter(images, sample_imgfilter_gains(cfg, p, n, device), self.hz_fbank)
        if cfg.noise > 0:
            images = apply_noise(images, cfg, p)
        if cfg.cutout > 0:
            images = apply_cutout(images, cfg, p)
        return images

    def extra_repr(self) -> str:
        return f"ops={[op for op in AUGMENT_PRESETS['bgcfnc'] if getattr(self.cfg, op) > 0]}"
