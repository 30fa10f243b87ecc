"""Equalized-learning-rate 2D convolution with optional FIR up/downsampling and output clamping.

impl "fast" (impl.py) folds the equalized-lr scale, the activation gain and the layer gain into the weights and the
bias (act(g y) = g act(y) for g > 0), puts the bias into the convolution, and leaves only the activation and clamp as
in-place passes; impl "ref" runs conv2d_resample and bias_act as the official code does.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from .bias_act import ACTIVATIONS, LEAKY_SLOPES, bias_act, lrelu_clamp
from .impl import resolve
from .resample import conv2d_resample, setup_filter
from .weight_cache import scaled


class EqualizedConv2d(nn.Module):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        bias: bool = True,
        activation: str = "linear",
        up: int = 1,
        down: int = 1,
        resample_filter: Sequence[float] = (1, 3, 3, 1),
        conv_clamp: float | None = None,  # Clamp pre-activation outputs to +-conv_clamp (mixed precision); None = off.
    ):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.activation = activation
        self.up = up
        self.down = down
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", setup_filter(resample_filter), persistent=False)
        self.padding = kernel_size // 2
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size**2)
        self.act_gain = ACTIVATIONS[activation].def_gain
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels])) if bias else None

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        clamp = float(self.conv_clamp * gain) if self.conv_clamp is not None else None
        g = float(self.act_gain * gain)
        conv = dict(f=self.resample_filter, up=self.up, down=self.down, padding=self.padding,
                    flip_weight=(self.up == 1))  # Matches the official kernel orientation for transposed convolutions.
        if resolve(None) == "fast" and self.activation in LEAKY_SLOPES and g > 0:
            w = scaled(self.weight, self.weight_gain * g)  # Once per weight value in inference.
            b = scaled(self.bias, g).to(x.dtype) if self.bias is not None else None
            x = conv2d_resample(x, w.to(x.dtype), bias=b, impl="fast", **conv)
            return lrelu_clamp(x, LEAKY_SLOPES[self.activation], clamp, inplace=True)
        w = self.weight * self.weight_gain
        b = self.bias.to(x.dtype) if self.bias is not None else None
        x = conv2d_resample(x, w.to(x.dtype), impl="ref", **conv)
        return bias_act(x, b, act=self.activation, gain=g, clamp=clamp, impl="ref")

    def extra_repr(self) -> str:
        return (f"in={self.in_channels}, out={self.out_channels}, k={self.weight.shape[-1]}, "
                f"act={self.activation}, up={self.up}, down={self.down}")
