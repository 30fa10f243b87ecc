"""Small stand-ins for the metric tests: an ideally equivariant "StyleGAN3-like" generator and in-memory datasets."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


class _Input(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("transform", torch.eye(3))


class FourierSynthesis(nn.Module):
    """img(g) = sum_k a_k sin(2 pi (f_k . (A g + b)) + phi_k(w)) with [A | b] = input.transform and g the pixel
    centre in image-width units centred at 0: the convention of StyleGAN3's input layer, so transforming the input
    transforms the image exactly. Frequencies stay far below Nyquist. `follow_transform=False` ignores it."""

    def __init__(self, resolution: int = 32, w_dim: int = 4, follow_transform: bool = True):
        super().__init__()
        self.input = _Input()
        self.resolution, self.w_dim, self.num_ws, self.follow = resolution, w_dim, 1, follow_transform
        g = torch.Generator().manual_seed(1)
        self.register_buffer("freqs", (torch.rand([6, 2], generator=g) * 2 - 1) * resolution / 8)
        self.register_buffer("amps", torch.rand([3, 6], generator=g) * 0.15)

    def forward(self, ws, noise_mode="const", force_fp32=False):
        r = self.resolution
        c = (torch.arange(r, dtype=torch.float32) + 0.5) / r - 0.5
        gy, gx = torch.meshgrid(c, c, indexing="ij")
        g = torch.stack([gx, gy, torch.ones_like(gx)], dim=-1)  # [r, r, 3]
        if self.follow:
            g = g @ self.input.transform.T
        arg = 2 * math.pi * (g[..., :2] @ self.freqs.T)  # [r, r, 6]
        phases = ws[:, 0, :].repeat(1, 2)[:, :6]  # [n, 6]
        waves = torch.sin(arg[None] + phases[:, None, None, :])  # [n, r, r, 6]
        return torch.einsum("nhwk,ck->nchw", waves, self.amps)


class FakeSG3(nn.Module):
    z_dim = 4
    c_dim = 0
    w_dim = 4
    img_channels = 3

    def __init__(self, resolution: int = 32, follow_transform: bool = True):
        super().__init__()
        self.img_resolution = resolution
        self.synthesis = FourierSynthesis(resolution, self.w_dim, follow_transform)
        self.num_ws = 1
        self.dummy = nn.Parameter(torch.zeros([]))

    def mapping(self, z, c=None, truncation_psi=1, truncation_cutoff=None):
        return z[:, None, :] * 3

    def forward(self, z, c=None, truncation_psi=1, truncation_cutoff=None, noise_mode="const", **kw):
        return self.synthesis(self.mapping(z, c), noise_mode=noise_mode)


class ArrayDataset(torch.utils.data.Dataset):
    """ImageDataset-like view of a uint8 [N, C, H, W] array."""

    def __init__(self, images: np.ndarray, name: str = "array", labels: np.ndarray | None = None):
        self.images = images
        self.name = name
        self.resolution = images.shape[-1]
        self.num_channels = images.shape[1]
        self.labels = labels if labels is not None else np.zeros([len(images), 0], np.float32)
        self.label_dim = self.labels.shape[1]
        self.has_labels = labels is not None
        import hashlib

        self.content_hash = hashlib.sha256(images.tobytes()).hexdigest()
        self.reads = 0

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        self.reads += 1
        return self.images[i], self.labels[i]

    def get_label(self, i):
        return self.labels[i]
