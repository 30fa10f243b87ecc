"""Generator exponential moving average (Karras et al. 2018, Progressive GAN §A.1; Yazici et al. 2019)."""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def update_ema(G_ema: nn.Module, G: nn.Module, beta: float) -> None:
    """theta_ema <- beta * theta_ema + (1 - beta) * theta; buffers (w_avg, noise, magnitude EMAs) are copied."""
    for p_ema, p in zip(G_ema.parameters(), G.parameters()):
        p_ema.copy_(p.detach().lerp(p_ema, beta))
    for b_ema, b in zip(G_ema.buffers(), G.buffers()):
        b_ema.copy_(b.detach())
