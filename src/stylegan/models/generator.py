"""Generator = mapping network + synthesis network, with the official Python contract."""

from __future__ import annotations

import torch
from torch import nn

from ..nn.frozen import no_graph_when_frozen
from .config import GeneratorConfig
from .mapping import MappingNetwork


class Generator(nn.Module):
    """G(z, c) -> img. Attributes: z_dim, c_dim, w_dim, num_ws, img_resolution, img_channels, mapping.w_avg."""

    def __init__(self, config: GeneratorConfig):
        super().__init__()
        from . import SYNTHESIS_NETWORKS  # The registry imports this module; resolve lazily.

        if config.arch not in SYNTHESIS_NETWORKS:
            raise ValueError(f"unknown generator architecture {config.arch!r}")
        self.config = config
        self.z_dim, self.c_dim, self.w_dim = config.z_dim, config.c_dim, config.w_dim
        self.img_resolution, self.img_channels = config.img_resolution, config.img_channels
        self.synthesis = SYNTHESIS_NETWORKS[config.arch](
            config.synthesis, w_dim=config.w_dim, img_resolution=config.img_resolution,
            img_channels=config.img_channels,
        )
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(config.z_dim, config.c_dim, config.w_dim, self.num_ws, config.mapping)

    @property
    def arch(self) -> str:
        return self.config.arch

    @no_graph_when_frozen
    def forward(
        self,
        z: torch.Tensor,  # [N, z_dim]
        c: torch.Tensor | None = None,  # [N, c_dim] one-hot labels; None or empty for unconditional networks.
        truncation_psi: float = 1,
        truncation_cutoff: int | None = None,  # Truncate only the first `cutoff` ws; None = all.
        noise_mode: str = "random",
        **synthesis_kwargs,  # force_fp32, fused_modconv: passed to G.synthesis, as in the official contract.
    ) -> torch.Tensor:
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode, **synthesis_kwargs)

    def extra_repr(self) -> str:
        return (f"arch={self.arch}, z_dim={self.z_dim}, c_dim={self.c_dim}, w_dim={self.w_dim}, "
                f"num_ws={self.num_ws}, img_resolution={self.img_resolution}, img_channels={self.img_channels}")
