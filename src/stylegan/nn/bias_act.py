"""Fused bias + activation + gain + clamp, the post-convolution step of every StyleGAN layer (reference implementation)."""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F


class Activation(NamedTuple):
    fn: Callable[[torch.Tensor], torch.Tensor]
    def_gain: float  # Gain that keeps unit variance for unit-variance Gaussian input (He et al. 2015).


ACTIVATIONS: dict[str, Activation] = {
    "linear": Activation(lambda x: x, 1.0),
    "relu": Activation(F.relu, math.sqrt(2)),
    "lrelu": Activation(lambda x: F.leaky_relu(x, 0.2), math.sqrt(2)),
    "tanh": Activation(torch.tanh, 1.0),
    "sigmoid": Activation(torch.sigmoid, 1.0),
    "elu": Activation(F.elu, 1.0),
    "selu": Activation(F.selu, 1.0),
    "softplus": Activation(F.softplus, 1.0),
    "swish": Activation(lambda x: torch.sigmoid(x) * x, math.sqrt(2)),
}


def bias_act(
    x: torch.Tensor,
    b: torch.Tensor | None = None,  # Bias [C], added along `dim`.
    act: str = "linear",
    gain: float | None = None,  # Output scale; None = the activation's default gain.
    clamp: float | None = None,  # Clamp output to [-clamp, clamp]; None = no clamping.
    dim: int = 1,
) -> torch.Tensor:
    """y = clamp(act(x + b) * gain)."""
    spec = ACTIVATIONS[act]
    if b is not None:
        shape = [1] * x.ndim
        shape[dim] = -1
        x = x + b.reshape(shape)
    x = spec.fn(x)
    gain = spec.def_gain if gain is None else float(gain)
    if gain != 1:
        x = x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x
