"""Shared steps of the exploration tools: seeds -> ws (official latents), ws -> uint8 images, labelled grids."""

from __future__ import annotations

import numpy as np
import torch

from ..images import to_uint8
from ..latents import class_to_c, seeds_to_z
from ..models import truncate


def device_of(G: torch.nn.Module) -> torch.device:
    return next(G.parameters()).device


@torch.no_grad()
def seeds_to_ws(G, seeds: list[int], psi: float = 1.0, cutoff: int | None = None,
                class_idx: int | list[int] | None = None) -> torch.Tensor:
    """ws [len(seeds), num_ws, w_dim] for the official z of each seed, truncated towards w_avg by psi.

    class_idx: one class for all seeds, or one per seed (conditional networks)."""
    device = device_of(G)
    z = seeds_to_z(seeds, G.z_dim, device)
    if isinstance(class_idx, list):
        c = torch.cat([class_to_c(k, G.c_dim, 1, device) for k in class_idx]) if class_idx else z[:, :0]
    else:
        c = class_to_c(class_idx, G.c_dim, len(seeds), device)
    ws = G.mapping(z, c)
    return truncate(ws, G.mapping.w_avg, psi, cutoff) if psi != 1 else ws


@torch.no_grad()
def render_ws(G, ws: torch.Tensor, noise_mode: str = "const", batch_size: int = 8) -> np.ndarray:
    """ws [N, num_ws, w_dim] -> uint8 images [N, H, W, C], rendered `batch_size` at a time."""
    device = device_of(G)
    out = [to_uint8(G.synthesis(ws[i: i + batch_size].to(device), noise_mode=noise_mode))
           for i in range(0, len(ws), batch_size)]
    if not out:
        return np.zeros([0, G.img_resolution, G.img_resolution, G.img_channels], dtype=np.uint8)
    return np.concatenate(out)


def header_grid(cells: np.ndarray, row_images: np.ndarray | None, col_images: np.ndarray | None,
                corner_value: int = 255) -> np.ndarray:
    """cells [R, C, H, W, ch] -> one image with an optional header row (col_images [C, ...]) and header column
    (row_images [R, ...]); the corner cell is blank. This is the layout of the official style-mixing figure."""
    R, C, H, W, ch = cells.shape
    top, left = int(col_images is not None), int(row_images is not None)
    grid = np.full([(R + top) * H, (C + left) * W, ch], corner_value, dtype=np.uint8)
    if col_images is not None:
        for c in range(C):
            grid[:H, (c + left) * W:(c + left + 1) * W] = col_images[c]
    if row_images is not None:
        for r in range(R):
            grid[(r + top) * H:(r + top + 1) * H, :W] = row_images[r]
    for r in range(R):
        for c in range(C):
            grid[(r + top) * H:(r + top + 1) * H, (c + left) * W:(c + left + 1) * W] = cells[r, c]
    return grid
