"""StyleGAN3 synthesis network (Karras et al. 2021, "Alias-Free Generative Adversarial Networks").

StyleGAN3-T: Fourier-feature input, 14 modulated 3x3 conv layers + ToRGB, each followed by a filtered leaky ReLU
with per-layer cutoff / stopband / sampling rate (§3.1). StyleGAN3-R: 1x1 convolutions and radially symmetric
down-filters (§3.2). Module and parameter names follow the official implementation, so its state_dicts load unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..nn import EqualizedLinear
from ..nn.filter_design import design_lowpass_filter
from ..nn.filtered_lrelu import IMPLS, Impl, filtered_lrelu
from ..nn.frozen import no_graph_when_frozen
from ..nn.impl import resolve as resolve_impl
from ..nn.modconv import modulated_conv2d_v3_fast
from .config import StyleGAN3SynthesisConfig
from .layout import layer_dtype
from .synthesis_v2 import NOISE_MODES, NoiseMode


@dataclass(frozen=True)
class LayerSpec:
    """Everything that defines one synthesis layer; sampling rates and cutoffs in cycles per image-sized unit."""

    name: str
    is_torgb: bool
    is_critically_sampled: bool  # The last layers: cutoff at Nyquist, no radial filters.
    use_fp16: bool
    in_channels: int
    out_channels: int
    in_size: int  # Feature map side, sampling rate + 2 margins (the last two layers: the image resolution).
    out_size: int
    in_sampling_rate: int
    out_sampling_rate: int
    in_cutoff: float  # f_c of the input signal / output signal.
    out_cutoff: float
    in_half_width: float  # f_h = max(f_t, s/2) - f_c: half the transition band.
    out_half_width: float


@dataclass(frozen=True)
class InputSpec:
    channels: int
    size: int
    sampling_rate: float
    bandwidth: float  # Cutoff f_c of the first layer: Fourier feature frequencies lie in a disc of this radius.


def layer_specs(cfg: StyleGAN3SynthesisConfig, img_resolution: int,
                img_channels: int) -> tuple[InputSpec, list[LayerSpec]]:
    """Per-layer filter parameters (§3.1 "Flexible layer specifications", Fig. 4b)."""
    n, n_crit = cfg.num_layers, cfg.num_critical
    last_cutoff = img_resolution / 2  # f_c,N: the last layer is critically sampled.
    last_stopband = last_cutoff * cfg.last_stopband_rel  # f_t,N
    # Cutoffs and minimum stopbands follow geometric progressions, flat over the last num_critical layers.
    exponents = np.minimum(np.arange(n + 1) / (n - n_crit), 1)
    cutoffs = cfg.first_cutoff * (last_cutoff / cfg.first_cutoff) ** exponents  # f_c[i]
    stopbands = cfg.first_stopband * (last_stopband / cfg.first_stopband) ** exponents  # f_t[i]
    # Sampling rate: smallest power of two >= 2 f_t (capped at the image resolution).
    sampling_rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, img_resolution))))  # s[i]
    half_widths = np.maximum(stopbands, sampling_rates / 2) - cutoffs  # f_h[i]
    sizes = sampling_rates + cfg.margin_size * 2
    sizes[-2:] = img_resolution
    channels = np.rint(np.minimum((cfg.channel_base / 2) / cutoffs, cfg.channel_max))  # More channels at low f_c.
    channels[-1] = img_channels

    inp = InputSpec(int(channels[0]), int(sizes[0]), float(sampling_rates[0]), float(cutoffs[0]))
    layers = []
    for i in range(n + 1):
        p = max(i - 1, 0)
        layers.append(LayerSpec(
            name=f"L{i}_{int(sizes[i])}_{int(channels[i])}", is_torgb=(i == n), is_critically_sampled=(i >= n - n_crit),
            use_fp16=bool(sampling_rates[i] * 2**cfg.num_fp16_res > img_resolution),
            in_channels=int(channels[p]), out_channels=int(channels[i]), in_size=int(sizes[p]), out_size=int(sizes[i]),
            in_sampling_rate=int(sampling_rates[p]), out_sampling_rate=int(sampling_rates[i]),
            in_cutoff=float(cutoffs[p]), out_cutoff=float(cutoffs[i]),
            in_half_width=float(half_widths[p]), out_half_width=float(half_widths[i]),
        ))
    return inp, layers


# ---------------------------------------------------------------------------------------------------------------------
# Input: Fourier features (§3.1 "Fourier features", "Transformed Fourier features").


def input_transforms(t: torch.Tensor, user_transform: torch.Tensor) -> torch.Tensor:
    """[N, 3, 3] inverse transforms of the output: rotation and translation predicted from w, then the user's.

    t = (r_c, r_s, t_x, t_y) = affine(w); the rotation is normalized to unit length.
    """
    t = t / t[:, :2].norm(dim=1, keepdim=True)
    N = t.shape[0]
    eye = torch.eye(3, device=t.device, dtype=t.dtype).expand(N, 3, 3)
    m_r = eye.clone()  # Inverse rotation w.r.t. the image.
    m_r[:, 0, 0], m_r[:, 0, 1], m_r[:, 1, 0], m_r[:, 1, 1] = t[:, 0], -t[:, 1], t[:, 1], t[:, 0]
    m_t = eye.clone()  # Inverse translation w.r.t. the image.
    m_t[:, 0, 2], m_t[:, 1, 2] = -t[:, 2], -t[:, 3]
    return m_r @ m_t @ user_transform.unsqueeze(0)  # Rotate the image first, then translate, then the user transform.


def fourier_features(
    freqs: torch.Tensor,  # [C, 2] frequencies (x, y).
    phases: torch.Tensor,  # [C] phases in cycles.
    transforms: torch.Tensor,  # [N, 3, 3] inverse transforms (input_transforms).
    size: int,
    sampling_rate: float,
    bandwidth: float,
) -> torch.Tensor:
    """sin(2 pi (f . x + phi)) sampled at pixel centres of a size x size grid: [N, size, size, C]."""
    phases = phases.unsqueeze(0) + (freqs.unsqueeze(0) @ transforms[:, :2, 2:]).squeeze(2)  # Translation -> phase.
    freqs = freqs.unsqueeze(0) @ transforms[:, :2, :2]  # Rotation -> frequency.
    # Frequencies pushed beyond the band by the transform fade out linearly before the Nyquist limit.
    amplitudes = (1 - (freqs.norm(dim=2) - bandwidth) / (sampling_rate / 2 - bandwidth)).clamp(0, 1)
    # Pixel centres, in units where sampling_rate samples span 1 (the same grid as affine_grid, align_corners=False).
    coords = torch.arange(size, device=freqs.device, dtype=freqs.dtype)
    coords = ((coords * 2 + 1) / size - 1) * (0.5 * size / sampling_rate)
    grid = torch.stack(torch.meshgrid(coords, coords, indexing="xy"), dim=-1)  # [H, W, (x, y)]
    x = grid.reshape(1, size * size, 2) @ freqs.transpose(1, 2)  # [N, HW, C]
    x = torch.sin((x + phases.unsqueeze(1)) * (2 * np.pi)) * amplitudes.unsqueeze(1)
    return x.reshape(-1, size, size, x.shape[-1])


class SynthesisInput(nn.Module):
    """w -> [N, C, size, size] Fourier features, transformed per sample (and by the user's `transform` buffer)."""

    def __init__(self, w_dim: int, spec: InputSpec):
        super().__init__()
        self.w_dim, self.channels, self.size = w_dim, spec.channels, spec.size
        self.sampling_rate, self.bandwidth = spec.sampling_rate, spec.bandwidth
        # Frequencies: random directions, radii drawn so they lie in the disc of radius `bandwidth`.
        freqs = torch.randn([self.channels, 2])
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs /= radii * radii.square().exp().pow(0.25)
        freqs *= spec.bandwidth
        phases = torch.rand([self.channels]) - 0.5
        self.weight = nn.Parameter(torch.randn([self.channels, self.channels]))  # Learned 1x1 mixing of features.
        self.affine = EqualizedLinear(w_dim, 4)  # w -> (r_c, r_s, t_x, t_y); starts as the identity transform.
        with torch.no_grad():
            self.affine.weight.zero_()
            self.affine.bias.copy_(torch.tensor([1.0, 0, 0, 0]))
        self.register_buffer("transform", torch.eye(3, 3))  # User-specified inverse transform w.r.t. the image.
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", phases)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        transforms = input_transforms(self.affine(w), self.transform)
        x = fourier_features(self.freqs, self.phases, transforms, self.size, self.sampling_rate, self.bandwidth)
        x = x @ (self.weight / math.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2)  # [N, C, H, W]

    def extra_repr(self) -> str:
        return (f"channels={self.channels}, size={self.size}, sampling_rate={self.sampling_rate:g}, "
                f"bandwidth={self.bandwidth:g}")


# ---------------------------------------------------------------------------------------------------------------------
# Layers.


def modulated_conv2d(
    x: torch.Tensor,  # [N, I, H, W]
    weight: torch.Tensor,  # [O, I, k, k]
    styles: torch.Tensor,  # [N, I]
    demodulate: bool,
    padding: int,
    input_gain: torch.Tensor | None = None,  # [] or [I]: 1/sqrt(magnitude EMA) of the input.
) -> torch.Tensor:
    """StyleGAN2 Eq. 1-3 as one grouped conv, with the StyleGAN3 input gain folded into the weights."""
    N, I = styles.shape
    O, _, kh, kw = weight.shape
    if demodulate:  # Pre-normalize (cancels under demodulation; keeps FP16 in range).
        weight = weight * weight.square().mean([1, 2, 3], keepdim=True).rsqrt()
        styles = styles * styles.square().mean().rsqrt()
    w = weight.unsqueeze(0) * styles.reshape(N, 1, I, 1, 1)  # w'_ijk = s_i w_ijk   [N, O, I, k, k]
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt().reshape(N, O, 1, 1, 1)  # w'' = w' / sigma_j
    if input_gain is not None:
        w = w * input_gain.expand(N, I).reshape(N, 1, I, 1, 1)
    x = torch.nn.functional.conv2d(x.reshape(1, -1, *x.shape[2:]), w.reshape(-1, I, kh, kw).to(x.dtype),
                                   padding=padding, groups=N)
    return x.reshape(N, O, *x.shape[2:])


def filtered_lrelu_padding(in_size: int, out_size: int, kernel: int, up: int, down: int, up_taps: int,
                           down_taps: int) -> list[int]:
    """[x0, x1, y0, y1] so the filtered lrelu maps the conv output to out_size samples, centred (symmetric grids)."""
    total = (out_size - 1) * down + 1  # Needed size before decimation ...
    total -= (in_size + kernel - 1) * up  # ... minus the upsampled conv output ...
    total += up_taps + down_taps - 2  # ... plus what the two filters eat.
    lo = (total + up) // 2  # Shift sample positions by half an input pixel (pixel centres at half-integers).
    return [lo, total - lo, lo, total - lo]


class SynthesisLayer(nn.Module):
    """Modulated conv -> filtered leaky ReLU (ToRGB: 1x1 conv without demodulation, bias + clamp only)."""

    def __init__(
        self,
        w_dim: int,
        spec: LayerSpec,
        conv_kernel: int,  # 3 for T, 1 for R (ToRGB always 1).
        filter_size: int,  # Filter taps per unit of resampling factor.
        lrelu_upsampling: int,  # Oversampling of the nonlinearity.
        use_radial_filters: bool,
        conv_clamp: float | None,
        magnitude_ema_beta: float,
    ):
        super().__init__()
        self.spec = spec
        self.w_dim, self.in_channels, self.out_channels = w_dim, spec.in_channels, spec.out_channels
        self.is_torgb, self.use_fp16 = spec.is_torgb, spec.use_fp16
        self.in_size, self.out_size = spec.in_size, spec.out_size
        self.conv_kernel = 1 if spec.is_torgb else conv_kernel
        self.conv_clamp = conv_clamp
        self.magnitude_ema_beta = magnitude_ema_beta
        self.track_emas = False  # Set by models.tracking_emas(): update magnitude_ema in forward.
        self.impl: Impl | None = None  # "ref" | "fast" | None = the global default (nn/impl.py); see set_impl.

        self.affine = EqualizedLinear(w_dim, spec.in_channels, bias_init=1)
        k = self.conv_kernel
        self.weight = nn.Parameter(torch.randn([spec.out_channels, spec.in_channels, k, k]))
        self.bias = nn.Parameter(torch.zeros([spec.out_channels]))
        self.register_buffer("magnitude_ema", torch.ones([]))

        # The nonlinearity runs at tmp_sampling_rate; up- and down-filters are recomputed, not loaded.
        tmp_rate = max(spec.in_sampling_rate, spec.out_sampling_rate) * (1 if spec.is_torgb else lrelu_upsampling)
        self.up_factor = int(np.rint(tmp_rate / spec.in_sampling_rate))
        self.down_factor = int(np.rint(tmp_rate / spec.out_sampling_rate))
        up_taps = filter_size * self.up_factor if self.up_factor > 1 and not spec.is_torgb else 1
        down_taps = filter_size * self.down_factor if self.down_factor > 1 and not spec.is_torgb else 1
        self.down_radial = use_radial_filters and not spec.is_critically_sampled
        self.register_buffer("up_filter", design_lowpass_filter(
            up_taps, spec.in_cutoff, spec.in_half_width * 2, tmp_rate), persistent=False)
        self.register_buffer("down_filter", design_lowpass_filter(
            down_taps, spec.out_cutoff, spec.out_half_width * 2, tmp_rate, radial=self.down_radial), persistent=False)
        self.padding = filtered_lrelu_padding(spec.in_size, spec.out_size, self.conv_kernel, self.up_factor,
                                              self.down_factor, up_taps, down_taps)
        self.act_gain = 1.0 if spec.is_torgb else math.sqrt(2)
        self.slope = 1.0 if spec.is_torgb else 0.2

    def forward(self, x: torch.Tensor, w: torch.Tensor, force_fp32: bool = False) -> torch.Tensor:
        if self.track_emas:  # Running mean of the input's squared magnitude (its inverse sqrt is the input gain).
            magnitude = x.detach().to(torch.float32).square().mean()
            self.magnitude_ema.copy_(magnitude.lerp(self.magnitude_ema, self.magnitude_ema_beta))
        styles = self.affine(w)
        if self.is_torgb:
            styles = styles / math.sqrt(self.in_channels * self.conv_kernel**2)
        dtype = layer_dtype(self.use_fp16, force_fp32, x.device)
        impl = resolve_impl(self.impl)
        bias = self.bias.to(dtype)
        if impl == "fast":  # Shared-weight form with the bias fused into the demodulation pass (nn/modconv.py).
            x = modulated_conv2d_v3_fast(x.to(dtype), self.weight, styles, demodulate=not self.is_torgb,
                                         padding=self.conv_kernel - 1, input_gain=self.magnitude_ema.rsqrt(), bias=bias)
            bias = None
        else:
            x = modulated_conv2d(x.to(dtype), self.weight, styles, demodulate=not self.is_torgb,
                                 padding=self.conv_kernel - 1, input_gain=self.magnitude_ema.rsqrt())
        return filtered_lrelu(x, self.up_filter, self.down_filter, bias, up=self.up_factor,
                              down=self.down_factor, padding=self.padding, gain=self.act_gain, slope=self.slope,
                              clamp=self.conv_clamp, impl=impl)

    def extra_repr(self) -> str:
        s = self.spec
        return (f"in={s.in_channels}, out={s.out_channels}, size={s.in_size}->{s.out_size}, "
                f"rate={s.in_sampling_rate}->{s.out_sampling_rate}, up={self.up_factor}, down={self.down_factor}, "
                f"radial={self.down_radial}, fp16={self.use_fp16}")


class SynthesisNetwork(nn.Module):
    """ws [N, num_ws, w_dim] -> img [N, img_channels, R, R]; ws[:, 0] drives the input, ws[:, i + 1] layer i."""

    def __init__(self, cfg: StyleGAN3SynthesisConfig, w_dim: int, img_resolution: int, img_channels: int):
        super().__init__()
        if not isinstance(cfg, StyleGAN3SynthesisConfig):
            raise TypeError(f"StyleGAN3 needs a StyleGAN3SynthesisConfig, got {type(cfg).__name__}")
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.num_ws = cfg.num_layers + 2
        self.output_scale = cfg.output_scale
        input_spec, specs = layer_specs(cfg, img_resolution, img_channels)
        self.input = SynthesisInput(w_dim, input_spec)
        self.layer_names = []
        for spec in specs:
            setattr(self, spec.name, SynthesisLayer(
                w_dim, spec, conv_kernel=cfg.conv_kernel, filter_size=cfg.filter_size,
                lrelu_upsampling=cfg.lrelu_upsampling, use_radial_filters=cfg.use_radial_filters,
                conv_clamp=cfg.conv_clamp, magnitude_ema_beta=cfg.magnitude_ema_beta))
            self.layer_names.append(spec.name)

    def layers(self) -> list[SynthesisLayer]:
        return [getattr(self, name) for name in self.layer_names]

    def layer_ranges(self) -> list[tuple[str, int, int]]:
        """(name, first w index, last w index): one w for the input and one per layer."""
        return [("input", 0, 0)] + [(name, i + 1, i + 1) for i, name in enumerate(self.layer_names)]

    def set_impl(self, impl: Impl | None) -> None:
        """Implementation of every layer: "fast", "ref" (plain passes) or None (follow stylegan.nn.use_impl)."""
        if impl is not None and impl not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
        for layer in self.layers():
            layer.impl = impl

    @no_graph_when_frozen
    def forward(
        self,
        ws: torch.Tensor,
        noise_mode: NoiseMode = "random",  # Accepted for the common contract; StyleGAN3 has no noise inputs.
        force_fp32: bool = False,  # Disable FP16 layers (they only run on CUDA anyway).
    ) -> torch.Tensor:
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must have shape [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        ws = ws.to(torch.float32).unbind(dim=1)
        x = self.input(ws[0])
        for layer, w in zip(self.layers(), ws[1:]):
            x = layer(x, w, force_fp32=force_fp32)
        if self.output_scale != 1:
            x = x * self.output_scale
        return x.to(torch.float32)


# ---------------------------------------------------------------------------------------------------------------------
# User transform of the output (official gen_images.py convention).


def make_transform(translate: tuple[float, float] = (0.0, 0.0), angle: float = 0.0) -> np.ndarray:
    """3x3 matrix: rotation by `angle` degrees, then translation (1 = one image width), as official gen_images.py."""
    a = angle / 360.0 * np.pi * 2
    s, c = np.sin(a), np.cos(a)
    return np.array([[c, s, translate[0]], [-s, c, translate[1]], [0, 0, 1]], dtype=np.float64)


def has_input_transform(G: nn.Module) -> bool:
    """True for StyleGAN3 generators (or synthesis networks): their output can be translated and rotated."""
    return isinstance(getattr(getattr(G, "synthesis", G), "input", None), SynthesisInput)


@torch.no_grad()
def set_input_transform(G: nn.Module, translate: tuple[float, float] = (0.0, 0.0), rotate: float = 0.0) -> None:
    """Translate (+x right, +y down) and rotate (degrees) the output of a StyleGAN3 G: input.transform = inverse."""
    if not has_input_transform(G):
        raise ValueError("only StyleGAN3 networks have an input transform (translate/rotate)")
    inp = getattr(G, "synthesis", G).input
    inp.transform.copy_(torch.from_numpy(np.linalg.inv(make_transform(translate, rotate))))
