"""Per-layer feature-map magnitudes of a generator, to expose StyleGAN's "droplet" artifacts.

StyleGAN2 (Karras et al. 2020, §2.1, Fig. 1) traces blob-shaped artifacts to AdaIN: the generator learns to put a
strong, localized spike into the feature maps, which dominates the instance statistics and so lets it scale the
rest of the signal at will. Demodulation (§2.2) removes the incentive. A spike shows up as a large ratio between the
peak and the average of the channel-averaged |activation| map; `spike_ratio` measures that per layer and image.

Layers are found by walking the synthesis network's modules (each generation's per-layer class), not by key names;
forward hooks record their outputs. Drawing lives in scripts/feature_magnitudes.py.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class LayerMagnitudes:
    name: str  # Module path inside G.synthesis, e.g. "b32.conv1".
    magnitude: torch.Tensor  # [N, H, W] channel-averaged |activation| of the layer output (CPU, float32).

    @property
    def resolution(self) -> int:
        return self.magnitude.shape[-1]

    @property
    def spike_ratio(self) -> torch.Tensor:
        """[N] peak / mean of the magnitude map, per image."""
        return spike_ratio(self.magnitude)


def channel_magnitude(x: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] -> [N, H, W]: mean over channels of |x| (a droplet lights up in all feature maps, §2.1)."""
    return x.detach().to(torch.float32).abs().mean(dim=1)


def spike_ratio(magnitude: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """[N, H, W] -> [N]: max / mean over pixels. About 1-3 for spread-out features; a droplet gives tens or more."""
    flat = magnitude.flatten(1)
    return flat.amax(dim=1) / (flat.mean(dim=1) + eps)


def feature_layer_types() -> tuple[type, ...]:
    """The per-layer class of every registered generation (each synthesis module defines `SynthesisLayer`)."""
    from . import SYNTHESIS_NETWORKS

    return tuple({sys.modules[net.__module__].SynthesisLayer for net in SYNTHESIS_NETWORKS.values()})


def feature_layers(synthesis: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of the synthesis layers that produce feature maps (ToRGB excluded), in module order."""
    types = feature_layer_types()
    return [(name, m) for name, m in synthesis.named_modules()
            if isinstance(m, types) and not getattr(m, "is_torgb", False)]


@torch.no_grad()
def record_feature_magnitudes(
    G: nn.Module,
    z: torch.Tensor,  # [N, z_dim]
    c: torch.Tensor | None = None,  # [N, c_dim]; None for unconditional networks.
    truncation_psi: float = 1.0,
    noise_mode: str = "const",
) -> tuple[torch.Tensor, list[LayerMagnitudes]]:
    """Render G(z, c), recording each synthesis layer's magnitude map. Returns (img [N,C,H,W], layers in order)."""
    layers = feature_layers(G.synthesis)
    if not layers:
        raise ValueError(f"no synthesis layers found in {type(G.synthesis).__name__}")
    names = {m: name for name, m in layers}
    recorded: list[LayerMagnitudes] = []

    def hook(module, _inputs, output):
        recorded.append(LayerMagnitudes(names[module], channel_magnitude(output).cpu()))

    handles = [m.register_forward_hook(hook) for _, m in layers]
    try:
        ws = G.mapping(z, c, truncation_psi=truncation_psi)
        img = G.synthesis(ws, noise_mode=noise_mode, force_fp32=True)
    finally:
        for h in handles:
            h.remove()
    return img, recorded


def worst_layer(layers: list[LayerMagnitudes]) -> tuple[int, int]:
    """(layer index, image index) with the largest spike ratio."""
    ratios = torch.stack([layer.spike_ratio for layer in layers])  # [L, N]
    flat = int(ratios.argmax())
    return flat // ratios.shape[1], flat % ratios.shape[1]
