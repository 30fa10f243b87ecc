"""GAN losses and regularizers as small pure functions (StyleGAN2 recipe, and R3GAN's relativistic pairing loss).

Each returns per-sample values [N]; the caller takes the mean and scales by the lazy-regularization gain.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def g_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """-log sigmoid(D(G(z))) (Goodfellow et al. 2014, non-saturating generator loss)."""
    return F.softplus(-fake_logits).flatten()


def d_logistic_real(real_logits: torch.Tensor) -> torch.Tensor:
    """-log sigmoid(D(x)): the real half of the logistic discriminator loss."""
    return F.softplus(-real_logits).flatten()


def d_logistic_fake(fake_logits: torch.Tensor) -> torch.Tensor:
    """-log(1 - sigmoid(D(G(z)))): the fake half."""
    return F.softplus(fake_logits).flatten()


def gradient_penalty(inputs: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """||grad_x D(x)||^2 per sample, differentiable (zero-centred penalty; R1 on reals, R2 on fakes, Mescheder 2018)."""
    (grads,) = torch.autograd.grad(outputs=logits.sum(), inputs=inputs, create_graph=True)
    return grads.square().sum(dim=[1, 2, 3])


def path_length(img: torch.Tensor, ws: torch.Tensor) -> torch.Tensor:
    """||J_w^T y||_2 with y ~ N(0, I) / sqrt(H W) (StyleGAN2 §3.2, Eq. 4), averaged over the num_ws copies. [N]"""
    noise = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
    (grads,) = torch.autograd.grad(outputs=(img * noise).sum(), inputs=ws, create_graph=True)
    return grads.square().sum(dim=2).mean(dim=1).sqrt()


def path_length_penalty(lengths: torch.Tensor, pl_mean: torch.Tensor, decay: float) -> torch.Tensor:
    """(||J^T y|| - a)^2 where a is the running mean moved toward this batch's mean (StyleGAN2 Eq. 4)."""
    a = pl_mean.lerp(lengths.mean(), decay)  # Not detached, as in the official recipe.
    return (lengths - a).square()


def rpgan_d(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Relativistic pairing loss for D: f(D(fake) - D(real)) with f = softplus (Huang et al. 2024, R3GAN Eq. 2)."""
    return F.softplus(fake_logits - real_logits).flatten()


def rpgan_g(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Relativistic pairing loss for G: f(D(real) - D(fake))."""
    return F.softplus(real_logits - fake_logits).flatten()
