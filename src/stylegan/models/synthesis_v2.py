"""StyleGAN2 synthesis network (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN").

Module and parameter names follow the official implementation, so official state_dicts load unchanged.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch
from torch import nn

from ..nn import EqualizedConv2d, EqualizedLinear, setup_filter, upsample2d
from ..nn.bias_act import ACTIVATIONS
from ..nn.frozen import no_graph_when_frozen
from ..nn.modconv import modulated_layer
from .config import StyleGAN2SynthesisConfig
from .layout import block_resolutions, channels_at, fp16_resolution, layer_dtype

NoiseMode = Literal["random", "const", "none"]
NOISE_MODES = ("random", "const", "none")


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv (optionally 2x upsampling) + per-pixel noise + bias + lrelu (Fig. 2d)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,  # Output resolution.
        up: int = 1,
        use_noise: bool = True,
        resample_filter: tuple[int, ...] = (1, 3, 3, 1),
        conv_clamp: float | None = None,
        kernel_size: int = 3,
    ):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.resolution = resolution
        self.up = up
        self.use_noise = use_noise
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", setup_filter(resample_filter), persistent=False)
        self.padding = kernel_size // 2
        self.act_gain = ACTIVATIONS["lrelu"].def_gain
        self.affine = EqualizedLinear(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        if use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))

    def forward(self, x, w, noise_mode: NoiseMode = "random", fused_modconv: bool = True, gain: float = 1.0):
        styles = self.affine(w)  # s = A(w) [N, I]
        noise = None
        if self.use_noise and noise_mode == "random":
            shape = [x.shape[0], 1, self.resolution, self.resolution]
            noise = torch.randn(shape, device=x.device) * self.noise_strength
        elif self.use_noise and noise_mode == "const":
            noise = self.noise_const * self.noise_strength
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        # modulated_conv2d + noise + bias_act (impl "ref": the official passes; "fast": fused, see nn/modconv.py).
        return modulated_layer(x, self.weight, styles, self.bias, noise=noise, up=self.up, padding=self.padding,
                               resample_filter=self.resample_filter, flip_weight=(self.up == 1),
                               fused_modconv=fused_modconv, act="lrelu", gain=self.act_gain * gain, clamp=clamp)

    def extra_repr(self) -> str:
        return f"in={self.in_channels}, out={self.out_channels}, res={self.resolution}, up={self.up}"


class ToRGBLayer(nn.Module):
    """Modulated 1x1 conv to image channels, no demodulation."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, conv_clamp: float | None = None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = EqualizedLinear(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, 1, 1]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x, w, fused_modconv: bool = True):
        styles = self.affine(w) * self.weight_gain
        return modulated_layer(x, self.weight, styles, self.bias, demodulate=False, fused_modconv=fused_modconv,
                               clamp=self.conv_clamp)


class SynthesisBlock(nn.Module):
    """One resolution: [const | 2x-up conv0] + conv1, optional ToRGB, skip/resnet/orig wiring (Fig. 7)."""

    def __init__(
        self,
        in_channels: int,  # 0 = first block (learned 4x4 constant input).
        out_channels: int,
        w_dim: int,
        resolution: int,
        img_channels: int,
        is_last: bool,
        architecture: str,
        resample_filter: tuple[int, ...],
        conv_clamp: float | None,
        use_fp16: bool,
        use_noise: bool,
    ):
        super().__init__()
        self.in_channels = in_channels
        self.resolution = resolution
        self.is_last = is_last
        self.architecture = architecture
        self.use_fp16 = use_fp16
        self.register_buffer("resample_filter", setup_filter(resample_filter), persistent=False)
        self.num_conv = 0
        self.num_torgb = 0
        layer = dict(w_dim=w_dim, resolution=resolution, use_noise=use_noise, resample_filter=resample_filter,
                     conv_clamp=conv_clamp)
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, up=2, **layer)
            self.num_conv += 1
        self.conv1 = SynthesisLayer(out_channels, out_channels, **layer)
        self.num_conv += 1
        if is_last or architecture == "skip":
            self.torgb = ToRGBLayer(out_channels, img_channels, w_dim=w_dim, conv_clamp=conv_clamp)
            self.num_torgb += 1
        if in_channels != 0 and architecture == "resnet":
            self.skip = EqualizedConv2d(in_channels, out_channels, kernel_size=1, bias=False, up=2,
                                        resample_filter=resample_filter)

    def forward(self, x, img, ws, noise_mode: NoiseMode, fused_modconv: bool, force_fp32: bool):
        """ws: [N, num_conv + num_torgb, w_dim]."""
        w_iter = iter(ws.unbind(dim=1))
        dtype = layer_dtype(self.use_fp16, force_fp32, ws.device)
        if self.in_channels == 0:
            x = self.const.to(dtype).unsqueeze(0).repeat([ws.shape[0], 1, 1, 1])
            x = self.conv1(x, next(w_iter), noise_mode, fused_modconv)
        elif self.architecture == "resnet":
            x = x.to(dtype)
            y = self.skip(x, gain=np.sqrt(0.5))
            x = self.conv0(x, next(w_iter), noise_mode, fused_modconv)
            x = self.conv1(x, next(w_iter), noise_mode, fused_modconv, gain=np.sqrt(0.5))
            x = y + x
        else:
            x = x.to(dtype)
            x = self.conv0(x, next(w_iter), noise_mode, fused_modconv)
            x = self.conv1(x, next(w_iter), noise_mode, fused_modconv)

        # Skip architecture: upsample the running image and add this resolution's RGB contribution.
        if img is not None:
            img = upsample2d(img, self.resample_filter)
        if self.is_last or self.architecture == "skip":
            y = self.torgb(x, next(w_iter), fused_modconv).to(torch.float32)
            img = img + y if img is not None else y
        return x, img


class SynthesisNetwork(nn.Module):
    """ws [N, num_ws, w_dim] -> img [N, img_channels, R, R] in about [-1, 1]."""

    def __init__(self, cfg: StyleGAN2SynthesisConfig, w_dim: int, img_resolution: int, img_channels: int):
        super().__init__()
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.block_resolutions = block_resolutions(img_resolution)
        channels = channels_at(self.block_resolutions, cfg.channel_base, cfg.channel_max)
        fp16_from = fp16_resolution(img_resolution, cfg.num_fp16_res)
        self.num_ws = 0
        for r in self.block_resolutions:
            block = SynthesisBlock(
                in_channels=channels[r // 2] if r > 4 else 0, out_channels=channels[r], w_dim=w_dim, resolution=r,
                img_channels=img_channels, is_last=(r == img_resolution), architecture=cfg.architecture,
                resample_filter=cfg.resample_filter, conv_clamp=cfg.conv_clamp, use_fp16=(r >= fp16_from),
                use_noise=cfg.use_noise,
            )
            self.num_ws += block.num_conv + (block.num_torgb if r == img_resolution else 0)
            setattr(self, f"b{r}", block)

    def blocks(self) -> list[SynthesisBlock]:
        return [getattr(self, f"b{r}") for r in self.block_resolutions]

    def layer_ranges(self) -> list[tuple[str, int, int]]:
        """(block name, first w index, last w index) per block; a block's ToRGB shares the next block's first w."""
        out, idx = [], 0
        for r, block in zip(self.block_resolutions, self.blocks()):
            out.append((f"b{r}", idx, idx + block.num_conv + block.num_torgb - 1))
            idx += block.num_conv
        return out

    @no_graph_when_frozen
    def forward(
        self,
        ws: torch.Tensor,
        noise_mode: NoiseMode = "random",
        force_fp32: bool = False,  # Disable FP16 layers (they only run on CUDA anyway).
        fused_modconv: bool | None = None,  # None = fused when not training.
    ) -> torch.Tensor:
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must have shape [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        if fused_modconv is None:
            fused_modconv = not self.training
        ws = ws.to(torch.float32)
        x = img = None
        idx = 0
        for block in self.blocks():
            block_ws = ws.narrow(1, idx, block.num_conv + block.num_torgb)
            idx += block.num_conv
            x, img = block(x, img, block_ws, noise_mode, fused_modconv, force_fp32)
        return img.contiguous()  # The fast path computes channels-last; hand out the standard layout.
