"""Generate images from seeds with the official latent convention (the library side of `stylegan generate`)."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from .images import to_uint8
from .latents import class_to_c, seeds_to_z
from .models import Generator


@torch.no_grad()
def generate_images(
    G: Generator,
    seeds: list[int],
    truncation_psi: float = 1.0,
    truncation_cutoff: int | None = None,
    noise_mode: str = "const",
    class_idx: int | None = None,
    batch_size: int = 8,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (seed, HWC uint8 image) for each seed, rendering `batch_size` at a time on G's device."""
    device = next(G.parameters()).device
    for i in range(0, len(seeds), batch_size):
        chunk = seeds[i: i + batch_size]
        z = seeds_to_z(chunk, G.z_dim, device)
        c = class_to_c(class_idx, G.c_dim, len(chunk), device)
        img = G(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff, noise_mode=noise_mode)
        yield from zip(chunk, to_uint8(img))
