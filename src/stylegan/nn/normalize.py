"""Normalizations: 2nd-moment (pixel) norm and minibatch standard deviation."""

from __future__ import annotations

import torch
from torch import nn


def normalize_2nd_moment(x: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    """x / sqrt(mean(x^2) + eps) along `dim` (pixel norm, Progressive GAN §4.2)."""
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


def minibatch_stddev(x: torch.Tensor, group_size: int | None, num_channels: int = 1) -> torch.Tensor:
    """Append the average per-group feature std as `num_channels` extra maps (Progressive GAN §3).
    [N,C,H,W]->[N,C+F,H,W]."""
    N, C, H, W = x.shape
    G = min(group_size, N) if group_size is not None else N
    assert N % G == 0, f"batch {N} must be divisible by the minibatch-stddev group size {G}"
    F = num_channels
    c = C // F
    y = x.reshape(G, -1, F, c, H, W)  # [GnFcHW]: N split into n groups of size G, C into F groups of size c.
    y = y - y.mean(dim=0)  # Subtract the group mean.
    y = y.square().mean(dim=0)  # [nFcHW] variance over the group.
    y = (y + 1e-8).sqrt()  # Standard deviation.
    y = y.mean(dim=[2, 3, 4])  # [nF] average over channels and pixels.
    y = y.reshape(-1, F, 1, 1).repeat(G, 1, H, W)  # [NFHW] replicate over group and pixels.
    return torch.cat([x, y], dim=1)


class MinibatchStdLayer(nn.Module):
    def __init__(self, group_size: int | None, num_channels: int = 1):
        super().__init__()
        self.group_size = group_size
        self.num_channels = num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return minibatch_stddev(x, self.group_size, self.num_channels)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}, num_channels={self.num_channels}"
