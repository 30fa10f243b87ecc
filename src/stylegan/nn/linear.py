"""Equalized-learning-rate fully connected layer (Karras et al. 2018, Progressive GAN §4.1)."""

from __future__ import annotations

import math

import torch
from torch import nn

from .bias_act import bias_act
from .impl import resolve
from .weight_cache import scaled


class EqualizedLinear(nn.Module):
    """y = act(x @ (W * lr_mul / sqrt(in)).T + b * lr_mul).
    Weights are stored unscaled so Adam sees unit-scale params."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        activation: str = "linear",
        lr_multiplier: float = 1.0,  # Learning-rate multiplier (0.01 in the mapping network).
        bias_init: float = 0.0,  # Initial value of the *effective* bias is bias_init * lr_multiplier (StyleGAN2 rule).
    ):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.activation = activation
        self.weight = nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.bias
        if resolve(None) == "fast":  # Scaled once per weight value in inference (weight_cache.py).
            w = scaled(self.weight, self.weight_gain).to(x.dtype)
            if b is not None:
                b = (scaled(b, self.bias_gain) if self.bias_gain != 1 else b).to(x.dtype)
        else:  # The official order of operations.
            w = self.weight.to(x.dtype) * self.weight_gain
            if b is not None:
                b = b.to(x.dtype)
                if self.bias_gain != 1:
                    b = b * self.bias_gain
        if self.activation == "linear" and b is not None:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return bias_act(x.matmul(w.t()), b, act=self.activation)

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, act={self.activation}"
