"""Mapping network z -> w (Karras et al. 2019, StyleGAN §2) and the truncation trick (§3, Eq. 3)."""

from __future__ import annotations

import torch
from torch import nn

from ..nn import EqualizedLinear, normalize_2nd_moment
from ..nn.frozen import no_graph_when_frozen
from .config import MappingConfig


def truncate(ws: torch.Tensor, w_avg: torch.Tensor, psi: float, cutoff: int | None = None) -> torch.Tensor:
    """w' = w_avg + psi (w - w_avg) on the first `cutoff` of num_ws layers (all when cutoff is None).
    ws: [N, num_ws, w_dim]."""
    if psi == 1:
        return ws
    if cutoff is None:
        return w_avg.lerp(ws, psi)
    ws = ws.clone()
    ws[:, :cutoff] = w_avg.lerp(ws[:, :cutoff], psi)
    return ws


class MappingNetwork(nn.Module):
    def __init__(
        self,
        z_dim: int,  # 0 = no latent input (the discriminator's label embedding).
        c_dim: int,  # 0 = unconditional.
        w_dim: int,
        num_ws: int | None,  # Number of ws to broadcast to; None = return w [N, w_dim].
        cfg: MappingConfig,
    ):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.num_layers = cfg.num_layers
        self.w_avg_beta = cfg.w_avg_beta
        embed_features = (cfg.embed_features or w_dim) if c_dim > 0 else 0
        layer_features = cfg.layer_features or w_dim
        features = [z_dim + embed_features] + [layer_features] * (cfg.num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = EqualizedLinear(c_dim, embed_features)
        for idx in range(cfg.num_layers):
            layer = EqualizedLinear(features[idx], features[idx + 1], activation="lrelu",
                                    lr_multiplier=cfg.lr_multiplier)
            setattr(self, f"fc{idx}", layer)
        if num_ws is not None and cfg.w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros([w_dim]))
        self.track_emas = False  # Set by models.tracking_emas(): update w_avg on forward.

    def map(self, z: torch.Tensor | None, c: torch.Tensor | None) -> torch.Tensor:
        """z [N, z_dim], c [N, c_dim] -> w [N, w_dim] (no broadcast, no truncation)."""
        x = None
        if self.z_dim > 0:
            x = normalize_2nd_moment(z.to(torch.float32))
        if self.c_dim > 0:
            y = normalize_2nd_moment(self.embed(c.to(torch.float32)))
            x = torch.cat([x, y], dim=1) if x is not None else y
        for idx in range(self.num_layers):
            x = getattr(self, f"fc{idx}")(x)
        return x

    @no_graph_when_frozen
    def forward(
        self,
        z: torch.Tensor | None,
        c: torch.Tensor | None,
        truncation_psi: float = 1,
        truncation_cutoff: int | None = None,
    ) -> torch.Tensor:
        """ws [N, num_ws, w_dim] (or w [N, w_dim] when num_ws is None)."""
        x = self.map(z, c)
        if self.track_emas and self.w_avg_beta is not None and self.num_ws is not None:
            self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        if self.num_ws is None:
            return x
        ws = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        if truncation_psi != 1:
            if self.w_avg_beta is None:
                raise ValueError("this mapping network tracks no w_avg, so it cannot truncate")
            ws = truncate(ws, self.w_avg, truncation_psi, truncation_cutoff)
        return ws

    def extra_repr(self) -> str:
        return f"z_dim={self.z_dim}, c_dim={self.c_dim}, w_dim={self.w_dim}, num_ws={self.num_ws}"
