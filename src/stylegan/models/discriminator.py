"""StyleGAN2 discriminator (resnet | skip | orig) with minibatch-stddev epilogue and projection conditioning."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..nn import EqualizedConv2d, EqualizedLinear, MinibatchStdLayer, downsample2d, setup_filter
from ..nn.frozen import no_graph_when_frozen
from .config import DiscriminatorConfig, MappingConfig
from .layout import block_resolutions, channels_at, fp16_resolution, layer_dtype
from .mapping import MappingNetwork


class DiscriminatorBlock(nn.Module):
    """[FromRGB] + 3x3 conv + 3x3 conv with 2x downsampling (+ 1x1 downsampling skip for resnet)."""

    def __init__(self, in_channels: int, tmp_channels: int, out_channels: int, resolution: int, img_channels: int,
                 architecture: str, resample_filter: tuple[int, ...], conv_clamp: float | None, use_fp16: bool):
        super().__init__()
        assert in_channels in (0, tmp_channels)
        self.in_channels = in_channels
        self.resolution = resolution
        self.architecture = architecture
        self.use_fp16 = use_fp16
        self.register_buffer("resample_filter", setup_filter(resample_filter), persistent=False)
        conv = dict(activation="lrelu", conv_clamp=conv_clamp)
        if in_channels == 0 or architecture == "skip":
            self.fromrgb = EqualizedConv2d(img_channels, tmp_channels, kernel_size=1, **conv)
        self.conv0 = EqualizedConv2d(tmp_channels, tmp_channels, kernel_size=3, **conv)
        self.conv1 = EqualizedConv2d(tmp_channels, out_channels, kernel_size=3, down=2,
                                     resample_filter=resample_filter, **conv)
        if architecture == "resnet":
            self.skip = EqualizedConv2d(tmp_channels, out_channels, kernel_size=1, bias=False, down=2,
                                        resample_filter=resample_filter)

    def layers(self) -> list[nn.Module]:
        """Layers in the order Freeze-D counts them: fromrgb, conv0, conv1, skip."""
        return [m for m in (getattr(self, "fromrgb", None), self.conv0, self.conv1, getattr(self, "skip", None))
                if m is not None]

    def forward(self, x, img, force_fp32: bool):
        dev = img.device if img is not None else x.device
        dtype = layer_dtype(self.use_fp16, force_fp32, dev)
        if x is not None:
            x = x.to(dtype)
        if self.in_channels == 0 or self.architecture == "skip":
            y = self.fromrgb(img.to(dtype))
            x = x + y if x is not None else y
            img = downsample2d(img, self.resample_filter) if self.architecture == "skip" else None
        if self.architecture == "resnet":
            y = self.skip(x, gain=np.sqrt(0.5))
            x = self.conv0(x)
            x = self.conv1(x, gain=np.sqrt(0.5))
            x = y + x
        else:
            x = self.conv1(self.conv0(x))
        return x, img


class DiscriminatorEpilogue(nn.Module):
    """4x4: minibatch stddev, conv, fc, output (projected onto the label embedding when conditional)."""

    def __init__(self, in_channels: int, cmap_dim: int, resolution: int, img_channels: int, architecture: str,
                 mbstd_group_size: int | None, mbstd_num_channels: int, conv_clamp: float | None):
        super().__init__()
        self.architecture = architecture
        self.cmap_dim = cmap_dim
        if architecture == "skip":
            self.fromrgb = EqualizedConv2d(img_channels, in_channels, kernel_size=1, activation="lrelu")
        self.mbstd = MinibatchStdLayer(mbstd_group_size, mbstd_num_channels) if mbstd_num_channels > 0 else None
        self.conv = EqualizedConv2d(in_channels + mbstd_num_channels, in_channels, kernel_size=3, activation="lrelu",
                                    conv_clamp=conv_clamp)
        self.fc = EqualizedLinear(in_channels * resolution**2, in_channels, activation="lrelu")
        self.out = EqualizedLinear(in_channels, 1 if cmap_dim == 0 else cmap_dim)

    def layers(self) -> list[nn.Module]:
        return [m for m in (getattr(self, "fromrgb", None), self.conv, self.fc, self.out) if m is not None]

    def forward(self, x, img, cmap):
        x = x.to(torch.float32)
        if self.architecture == "skip":
            x = x + self.fromrgb(img.to(torch.float32))
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.conv(x)
        x = self.fc(x.flatten(1))
        x = self.out(x)
        if self.cmap_dim > 0:
            # Projection discriminator (Miyato & Koyama 2018): <out, embed(c)> / sqrt(cmap_dim).
            x = (x * cmap).sum(dim=1, keepdim=True) * (1 / np.sqrt(self.cmap_dim))
        return x


class Discriminator(nn.Module):
    """D(img, c) -> logits [N, 1]."""

    def __init__(self, config: DiscriminatorConfig):
        super().__init__()
        self.config = config
        self.c_dim, self.img_resolution, self.img_channels = config.c_dim, config.img_resolution, config.img_channels
        self.block_resolutions = block_resolutions(config.img_resolution)[:0:-1]  # res, ..., 8 (4 is the epilogue).
        channels = channels_at(self.block_resolutions + [4], config.channel_base, config.channel_max)
        fp16_from = fp16_resolution(config.img_resolution, config.num_fp16_res)
        cmap_dim = 0 if config.c_dim == 0 else (config.cmap_dim or channels[4])
        for r in self.block_resolutions:
            block = DiscriminatorBlock(
                in_channels=channels[r] if r < config.img_resolution else 0, tmp_channels=channels[r],
                out_channels=channels[r // 2], resolution=r, img_channels=config.img_channels,
                architecture=config.architecture, resample_filter=config.resample_filter,
                conv_clamp=config.conv_clamp, use_fp16=(r >= fp16_from),
            )
            setattr(self, f"b{r}", block)
        if config.c_dim > 0:
            self.mapping = MappingNetwork(0, config.c_dim, cmap_dim, None,
                                          MappingConfig(num_layers=config.mapping_layers, w_avg_beta=None))
        self.b4 = DiscriminatorEpilogue(channels[4], cmap_dim=cmap_dim, resolution=4, img_channels=config.img_channels,
                                        architecture=config.architecture, mbstd_group_size=config.mbstd_group_size,
                                        mbstd_num_channels=config.mbstd_num_channels, conv_clamp=config.conv_clamp)

    def blocks(self) -> list[DiscriminatorBlock]:
        return [getattr(self, f"b{r}") for r in self.block_resolutions]

    def layers(self) -> list[nn.Module]:
        """All layers from the input side, in the order Freeze-D (Mo et al. 2020) counts them."""
        return [layer for block in self.blocks() for layer in block.layers()] + self.b4.layers()

    @no_graph_when_frozen
    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None, force_fp32: bool = False) -> torch.Tensor:
        expected = [self.img_channels, self.img_resolution, self.img_resolution]
        if img.ndim != 4 or list(img.shape[1:]) != expected:
            raise ValueError(f"D expects images [N, {', '.join(map(str, expected))}], got {list(img.shape)}")
        x = None
        for block in self.blocks():
            x, img = block(x, img, force_fp32)
        cmap = self.mapping(None, c) if self.c_dim > 0 else None
        return self.b4(x, img, cmap)
