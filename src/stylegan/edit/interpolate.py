"""Interpolation between latents, and closed loops through keyframes (the paths of `stylegan video`).

Spherical interpolation for Gaussian z (Shoemake 1985; used for z by White 2016 "Sampling Generative Networks"
and StyleGAN's PPL in Z); linear or cubic for w, which is not Gaussian. The official gen_video.py interpolates w
with a cubic spline through keyframes repeated on both sides of the loop; a periodic cubic spline is the exact
form of that closed loop.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.interpolate
import torch

Interp = Literal["cubic", "linear", "slerp"]
INTERPS = ("cubic", "linear", "slerp")


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    """a + t (b - a); t broadcasts over leading dims ([T, 1, ...] for many steps)."""
    return a + (b - a) * t


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor | float, eps: float = 1e-6) -> torch.Tensor:
    """Spherical interpolation along the last dim (White 2016): (sin((1-t)θ) a + sin(tθ) b) / sin θ, θ = angle(a, b).

    Exactly a at t = 0 and b at t = 1; falls back to lerp where a and b are (anti)parallel."""
    cos = torch.nn.functional.cosine_similarity(a, b, dim=-1).unsqueeze(-1).clamp(-1, 1)
    theta = torch.arccos(cos)
    t = torch.as_tensor(t, dtype=a.dtype, device=a.device)
    sin = torch.sin(theta)
    safe = sin.abs() > eps
    sin = torch.where(safe, sin, torch.ones_like(sin))
    wa = torch.where(safe, torch.sin((1 - t) * theta) / sin, 1 - t)
    wb = torch.where(safe, torch.sin(t * theta) / sin, t)
    return wa * a + wb * b


class LoopPath:
    """The closed loop key[0] -> key[1] -> ... -> key[K-1] -> key[0]; keys [K, ...] (splines are fitted once)."""

    def __init__(self, keys: torch.Tensor, kind: Interp):
        if kind not in INTERPS:
            raise ValueError(f"interpolation must be one of {INTERPS}, got {kind!r}")
        self.keys, self.kind, self.K = keys, kind, keys.shape[0]
        self.spline = None
        if kind == "cubic" and self.K > 1:
            y = torch.cat([keys, keys[:1]]).detach().cpu().to(torch.float64).numpy()  # Close the loop: y(K) = y(0).
            self.spline = scipy.interpolate.CubicSpline(np.arange(self.K + 1), y, axis=0, bc_type="periodic")

    def __call__(self, positions: np.ndarray | list[float]) -> torch.Tensor:
        """positions [T] in keyframe units (k is keys[k]; K wraps to 0) -> points [T, ...]."""
        keys, K = self.keys, self.K
        pos = np.mod(np.asarray(positions, dtype=np.float64), K)
        if K == 1:
            return keys[:1].expand(len(pos), *keys.shape[1:]).clone()
        if self.spline is not None:
            return torch.from_numpy(self.spline(pos)).to(device=keys.device, dtype=keys.dtype)
        i0 = np.floor(pos).astype(np.int64)
        t = torch.from_numpy(pos - i0).to(device=keys.device, dtype=keys.dtype).reshape(-1, *[1] * (keys.ndim - 1))
        a = keys[torch.from_numpy(i0).to(keys.device)]
        b = keys[torch.from_numpy((i0 + 1) % K).to(keys.device)]
        return lerp(a, b, t) if self.kind == "linear" else slerp(a, b, t)


def loop_path(keys: torch.Tensor, positions: np.ndarray | list[float], kind: Interp) -> torch.Tensor:
    """Points at `positions` (keyframe units) on the closed loop through keys [K, ...] -> [T, ...]."""
    return LoopPath(keys, kind)(positions)
