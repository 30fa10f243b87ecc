"""Truncation sweep (StyleGAN §3, Eq. 3): w' = w_avg + psi (w - w_avg) for a row of psi values per latent."""

from __future__ import annotations

import numpy as np
import torch

from ..models import truncate
from .render import render_ws


@torch.no_grad()
def truncation_sweep(G, ws: torch.Tensor, psis: list[float], noise_mode: str = "const",
                     cutoff: int | None = None) -> np.ndarray:
    """ws [S, num_ws, w_dim] -> uint8 images [S, len(psis), H, W, C]: row i truncated with each psi.

    psi = 1 leaves ws unchanged; psi = 0 renders w_avg for every row."""
    swept = torch.stack([truncate(ws, G.mapping.w_avg, psi, cutoff) for psi in psis], dim=1)  # [S, P, num_ws, w_dim]
    images = render_ws(G, swept.flatten(0, 1), noise_mode)
    return images.reshape(len(ws), len(psis), *images.shape[1:])
