"""StyleGAN synthesis network (Karras et al. 2019, "A Style-Based Generator Architecture for GANs", §2, Fig. 1b).

A learned 4x4 constant, then per resolution two layers of [3x3 conv] -> per-pixel noise -> bias -> lrelu ->
adaptive instance normalization (AdaIN) with a per-layer style (scale, bias) = A(w); upsampling is nearest-neighbour
followed by the conv and a [1,2,1] blur (Appendix C). One ToRGB at the output (no progressive growing).
Layer i reads ws[:, i], so num_ws = 2 log2(R) - 2 (18 at 1024), the same count as StyleGAN2.

Train one: `stylegan train --cfg stylegan1 --data builtin:emoji --preset small --outdir runs`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..nn import EqualizedConv2d, EqualizedLinear, bias_act, filter2d, setup_filter
from ..nn.frozen import no_graph_when_frozen
from .config import StyleGAN1SynthesisConfig
from .layout import block_resolutions, channels_at
from .synthesis_v2 import NOISE_MODES, NoiseMode

# Official `fused_scale='auto'`: at output resolutions >= 128 the upsample and conv run as one transposed conv
# (same result, less memory); below that, nearest-neighbour upsampling then a regular conv.
FUSED_UP_MIN_RES = 128


def instance_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """(x_i - mu(x_i)) / sigma(x_i) per sample and channel over H, W (the normalization inside AdaIN, Eq. 1)."""
    x = x - x.mean(dim=[2, 3], keepdim=True)
    return x * (x.square().mean(dim=[2, 3], keepdim=True) + eps).rsqrt()


def adaptive_instance_norm(x: torch.Tensor, y_s: torch.Tensor, y_b: torch.Tensor) -> torch.Tensor:
    """AdaIN(x_i, y) = y_s,i (x_i - mu(x_i)) / sigma(x_i) + y_b,i (Eq. 1). x [N,C,H,W]; y_s, y_b [N,C]."""
    return instance_norm(x) * y_s[:, :, None, None] + y_b[:, :, None, None]


def styles_from_affine(s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split A(w) [N, 2C] into (y_s, y_b); the scale is offset by 1 so a fresh layer starts near identity."""
    C = s.shape[1] // 2
    return s[:, :C] + 1, s[:, C:]


def upscale2d_conv2d(x: torch.Tensor, w: torch.Tensor, fused: bool) -> torch.Tensor:
    """Nearest-neighbour 2x upsampling followed by a 'same' 3x3 conv. x [N,I,H,W], w [O,I,3,3] -> [N,O,2H,2W].

    fused=True computes the same thing as one stride-2 transposed conv whose 4x4 kernel sums the 3x3 kernel at
    the four offsets a nearest-upsampled pixel covers (Appendix C: fused for the high resolutions)."""
    if not fused:
        return F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), w, padding=1)
    w = F.pad(w, [1, 1, 1, 1])
    w = w[:, :, 1:, 1:] + w[:, :, :-1, 1:] + w[:, :, 1:, :-1] + w[:, :, :-1, :-1]  # [O,I,4,4]
    return F.conv_transpose2d(x, w.flip([2, 3]).transpose(0, 1), stride=2, padding=1)


def add_noise(x: torch.Tensor, noise: torch.Tensor, strength: torch.Tensor) -> torch.Tensor:
    """x + B * noise: one single-channel noise image [N|1, 1, H, W] scaled per channel by `strength` [C] (Fig. 1b B)."""
    return x + noise * strength[None, :, None, None]


class SynthesisLayer(nn.Module):
    """[3x3 conv (with 2x upsampling + blur)] -> noise -> bias -> lrelu -> AdaIN with style A(w) (Fig. 1b).

    in_channels == 0 is the first 4x4 layer, which acts on the learned constant without a convolution."""

    def __init__(
        self,
        in_channels: int,  # 0 = no convolution (the layer right after the constant input).
        out_channels: int,
        w_dim: int,
        resolution: int,  # Output resolution.
        up: bool,  # Upsample 2x before the conv (first layer of every block above 4x4).
        use_noise: bool,
        blur_filter: tuple[int, ...],  # FIR taps applied after an upsampling conv (Appendix C: [1,2,1]).
    ):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.resolution, self.up, self.use_noise = resolution, up, use_noise
        if in_channels > 0:
            self.weight = nn.Parameter(torch.randn([out_channels, in_channels, 3, 3]))
            # Equalized learning rate with He gain sqrt(2) for lrelu, folded into the weight as in the paper's
            # code; AdaIN removes any overall scale afterwards, so only the ratio to noise and bias matters.
            self.weight_gain = math.sqrt(2) / math.sqrt(in_channels * 9)
        if up:
            self.register_buffer("blur_filter", setup_filter(blur_filter), persistent=False)
        if use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = nn.Parameter(torch.zeros([out_channels]))  # Per-channel B, starts at 0.
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.affine = EqualizedLinear(w_dim, 2 * out_channels)  # A: w -> (y_s - 1, y_b), official StyleMod.

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: NoiseMode = "random") -> torch.Tensor:
        """x [N, in_channels or out_channels, H, W], w [N, w_dim] -> [N, out_channels, R, R]."""
        if self.in_channels > 0:
            weight = self.weight * self.weight_gain
            if self.up:
                x = upscale2d_conv2d(x, weight, fused=self.resolution >= FUSED_UP_MIN_RES)
                x = filter2d(x, self.blur_filter)
            else:
                x = F.conv2d(x, weight, padding=1)
        if self.use_noise and noise_mode == "random":
            x = add_noise(x, torch.randn([x.shape[0], 1, self.resolution, self.resolution], device=x.device),
                          self.noise_strength)
        elif self.use_noise and noise_mode == "const":
            x = add_noise(x, self.noise_const[None, None], self.noise_strength)
        x = bias_act(x, self.bias, act="lrelu", gain=1)
        y_s, y_b = styles_from_affine(self.affine(w))
        return adaptive_instance_norm(x, y_s, y_b)

    def extra_repr(self) -> str:
        return f"in={self.in_channels}, out={self.out_channels}, res={self.resolution}, up={self.up}"


class SynthesisBlock(nn.Module):
    """One resolution: (the constant | conv0 with 2x upsampling) and conv1, each with its own w."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, use_noise: bool,
                 blur_filter: tuple[int, ...]):
        super().__init__()
        self.resolution = resolution
        self.num_conv = 2
        if in_channels == 0:
            self.const = nn.Parameter(torch.ones([out_channels, resolution, resolution]))  # Official init: ones.
        self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=in_channels > 0,
                                    use_noise=use_noise, blur_filter=blur_filter)
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution, up=False, use_noise=use_noise,
                                    blur_filter=blur_filter)

    def forward(self, x: torch.Tensor | None, ws: torch.Tensor, noise_mode: NoiseMode) -> torch.Tensor:
        """ws: [N, 2, w_dim]."""
        if x is None:
            x = self.const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1)
        x = self.conv0(x, ws[:, 0], noise_mode)
        return self.conv1(x, ws[:, 1], noise_mode)


class SynthesisNetwork(nn.Module):
    """ws [N, num_ws, w_dim] -> img [N, img_channels, R, R] in about [-1, 1]."""

    def __init__(self, cfg: StyleGAN1SynthesisConfig, w_dim: int, img_resolution: int, img_channels: int):
        super().__init__()
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.block_resolutions = block_resolutions(img_resolution)
        channels = channels_at(self.block_resolutions, cfg.channel_base, cfg.channel_max)
        for r in self.block_resolutions:
            block = SynthesisBlock(channels[r // 2] if r > 4 else 0, channels[r], w_dim, r, use_noise=cfg.use_noise,
                                   blur_filter=cfg.blur_filter)
            setattr(self, f"b{r}", block)
        self.num_ws = 2 * len(self.block_resolutions)
        # ToRGB: 1x1 conv, linear, unstyled (gain 1), only at the output resolution.
        self.torgb = EqualizedConv2d(channels[img_resolution], img_channels, kernel_size=1)

    def blocks(self) -> list[SynthesisBlock]:
        return [getattr(self, f"b{r}") for r in self.block_resolutions]

    def layer_ranges(self) -> list[tuple[str, int, int]]:
        """(block name, first w index, last w index) per block; each layer reads its own w."""
        return [(f"b{r}", 2 * i, 2 * i + 1) for i, r in enumerate(self.block_resolutions)]

    @no_graph_when_frozen
    def forward(
        self,
        ws: torch.Tensor,
        noise_mode: NoiseMode = "random",
        force_fp32: bool = False,  # Accepted for the common contract; this network always runs in FP32.
        fused_modconv: bool | None = None,  # Accepted for the common contract; StyleGAN has no modulated conv.
    ) -> torch.Tensor:
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must have shape [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        ws = ws.to(torch.float32)
        x = None
        for i, block in enumerate(self.blocks()):
            x = block(x, ws[:, 2 * i: 2 * i + 2], noise_mode)
        return self.torgb(x)
