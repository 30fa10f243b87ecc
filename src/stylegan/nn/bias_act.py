"""Fused bias + activation + gain + clamp, the post-convolution step of every StyleGAN layer.

impl "ref" (impl.py) runs the official reference passes: add bias, activate, multiply by the gain, clamp.
impl "fast" does the same in fewer passes over the tensor for the (leaky) ReLU and linear activations:
act(y) g = act(g y) for g > 0, so the gain is applied in place before the activation;
clamp(lrelu(y), -c, c) = lrelu(clamp(y, -c / slope, c)), and hardtanh stands in for clamp (its backward is one pass
instead of four); in training on CPU a clamp that no value reaches is left out (checked by one read-only pass);
in-place where autograd allows.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch._subclasses.fake_tensor import is_fake

from .impl import resolve


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
    impl: str | None = None,  # "ref" | "fast"; None = the current default (impl.py).
) -> torch.Tensor:
    """y = clamp(act(x + b) * gain)."""
    gain = ACTIVATIONS[act].def_gain if gain is None else float(gain)
    if resolve(impl) == "fast" and act in LEAKY_SLOPES and gain > 0:
        return bias_act_fast(x, b, act, gain, clamp, dim)
    return bias_act_ref(x, b, act, gain, clamp, dim)


def bias_act_ref(
    x: torch.Tensor,
    b: torch.Tensor | None = None,
    act: str = "linear",
    gain: float | None = None,
    clamp: float | None = None,
    dim: int = 1,
) -> torch.Tensor:
    """Reference: the passes of the official `_bias_act_ref`."""
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


# Positively homogeneous activations (act(g y) = g act(y), g > 0) as leaky ReLU slopes: what the fast path covers.
LEAKY_SLOPES: dict[str, float] = {"linear": 1.0, "relu": 0.0, "lrelu": 0.2}


def bias_act_fast(
    x: torch.Tensor,
    b: torch.Tensor | None,
    act: str,
    gain: float,  # > 0
    clamp: float | None,
    dim: int = 1,
    inplace: bool = False,  # The caller owns x (a temporary): it may be overwritten.
) -> torch.Tensor:
    """bias_act_ref for linear / relu / lrelu in at most three passes (see the module docstring)."""
    if b is not None:
        shape = [1] * x.ndim
        shape[dim] = -1
        b = b.reshape(shape)
        x = x + b  # Then g (x + b) in place. (Not torch.add(g b, x, alpha=g): torch.compile 2.13 miscompiles
        if gain != 1:  # an alpha-add fused with the matmul before it.)
            x = x.mul_(gain)
        inplace = True
    elif gain != 1:
        x = x * gain
        inplace = True
    return lrelu_clamp(x, LEAKY_SLOPES[act], clamp, inplace)


def lrelu_clamp(x: torch.Tensor, slope: float, clamp: float | None, inplace: bool) -> torch.Tensor:
    """clamp(lrelu(x, slope), -clamp, clamp) as lrelu(clamp(x, -clamp / slope, clamp)), in place where allowed.
    Without autograd: clamp_ and leaky_relu_ (not hardtanh_, which PyTorch runs as clone + clamp + copy). With it: an
    out-of-place hardtanh (one-pass backward, clamp's takes several; it keeps its input), then leaky_relu_ on that
    fresh output (its backward needs only its output)."""
    grad = torch.is_grad_enabled() and x.requires_grad
    if clamp is not None and clamp >= 0:
        clamp = float(clamp)  # Not a numpy scalar (gains like np.sqrt(0.5) reach here): torch.compile needs a number.
        lo = -clamp / slope if slope > 0 else -clamp
        if not (grad and _strictly_inside(x, lo, clamp)):
            x = x.clamp_(lo, clamp) if inplace and not grad else F.hardtanh(x, lo, clamp)
            inplace = True  # x is a fresh temporary now.
    if slope != 1:
        x = F.leaky_relu_(x, slope) if inplace and (slope > 0 or not grad) else F.leaky_relu(x, slope)
    return x


def _strictly_inside(x: torch.Tensor, lo: float, hi: float) -> bool:
    """CPU autograd only: whether every value lies strictly inside (lo, hi). Then the clamp is the identity with
    gradient 1 everywhere (hardtanh's backward passes the gradient only strictly inside), so skipping it changes no
    value or gradient, and saves its output pass and its backward pass for one read-only pass. (On CUDA the check
    would cost a device sync; there the clamp always runs.) NaN fails the check and takes the clamp."""
    if x.device.type != "cpu" or torch.compiler.is_compiling() or x.numel() == 0:  # (aminmax has no empty result.)
        return False
    if is_fake(x):  # Shapes only (the FLOP counter): no values to read.
        return False
    if x.ndim == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        x = x.permute(0, 2, 3, 1)  # The same values in memory order: aminmax would copy a non-contiguous input.
    with torch.no_grad():
        x_min, x_max = torch.aminmax(x)
    return x_min.item() > lo and x_max.item() < hi
