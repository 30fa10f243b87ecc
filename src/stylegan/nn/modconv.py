"""Modulated convolution with weight demodulation (Karras et al. 2020, StyleGAN2 §2.2, Eq. 1-3)."""

from __future__ import annotations

import torch

from .resample import Padding, conv2d_resample


def demodulation_coefficients(weight: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
    """sigma_j^-1 = 1 / sqrt(sum_{i,k} (s_i w_ijk)^2 + eps) (Eq. 3), shape [N, O]."""
    w = weight.unsqueeze(0) * styles[:, None, :, None, None]  # [NOIkk]
    return (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()


def modulated_conv2d(
    x: torch.Tensor,  # Input [N, I, H, W]
    weight: torch.Tensor,  # Weights [O, I, kh, kw]
    styles: torch.Tensor,  # Per-sample input-channel scales s [N, I]
    noise: torch.Tensor | None = None,  # Added after the convolution, broadcastable to [N, O, H', W']
    up: int = 1,
    down: int = 1,
    padding: Padding = 0,
    resample_filter: torch.Tensor | None = None,
    demodulate: bool = True,
    flip_weight: bool = True,
    fused_modconv: bool = True,  # True = one grouped conv with per-sample weights; False = scale activations instead.
) -> torch.Tensor:
    N = x.shape[0]
    O, I, kh, kw = weight.shape

    # Pre-normalize to avoid FP16 overflow (does not change the demodulated result).
    if x.dtype == torch.float16 and demodulate:
        weight = weight * (1 / (I * kh * kw) ** 0.5 / weight.norm(float("inf"), dim=[1, 2, 3], keepdim=True))
        styles = styles / styles.norm(float("inf"), dim=1, keepdim=True)

    # Non-fused: modulate the activations, convolve with the shared weight, demodulate the output (Eq. 1 and 3).
    if not fused_modconv:
        x = x * styles.to(x.dtype).reshape(N, -1, 1, 1)
        x = conv2d_resample(x, weight.to(x.dtype), f=resample_filter, up=up, down=down, padding=padding,
                            flip_weight=flip_weight)
        if demodulate:
            x = x * demodulation_coefficients(weight, styles).to(x.dtype).reshape(N, -1, 1, 1)
        if noise is not None:
            x = x + noise.to(x.dtype)
        return x

    # Fused: per-sample weights w'_ijk = s_i w_ijk (Eq. 1), w'' = w' / sigma_j (Eq. 3), one grouped convolution.
    w = weight.unsqueeze(0) * styles.reshape(N, 1, -1, 1, 1)  # [NOIkk]
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt().reshape(N, -1, 1, 1, 1)
    x = x.reshape(1, -1, *x.shape[2:])
    x = conv2d_resample(x, w.reshape(-1, I, kh, kw).to(x.dtype), f=resample_filter, up=up, down=down,
                        padding=padding, groups=N, flip_weight=flip_weight)
    x = x.reshape(N, -1, *x.shape[2:])
    if noise is not None:
        x = x + noise.to(x.dtype)
    return x
