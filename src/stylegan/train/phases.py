"""The four phases of a StyleGAN2 training step (official names): G main, G regularization (path length),
D main (logistic or relativistic loss), D regularization (lazy R1, plus R2 for R3GAN). Each computes one shard's
loss for backward and its statistics; the step in `step.py` composes them."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..models import tracking_emas
from ..nn import filter2d
from . import losses
from .config import TrainConfig


@dataclass
class Nets:
    G: nn.Module
    D: nn.Module
    G_ema: nn.Module
    augment: nn.Module | None  # AugmentPipe (ADA), applied to every image D sees; None = no augmentation.


def run_G(G, z: torch.Tensor, c: torch.Tensor, style_mixing: float, track_emas: bool = False):
    """Generate with style-mixing regularization (StyleGAN §3.1): with probability `style_mixing`, the ws after a
    random cutoff come from a second latent. Returns (img, ws). `track_emas` updates w_avg/magnitude EMAs."""
    if track_emas:
        with tracking_emas(G.mapping):
            ws = G.mapping(z, c)
    else:
        ws = G.mapping(z, c)
    if style_mixing > 0 and float(torch.rand([])) < style_mixing:
        cutoff = int(torch.randint(1, ws.shape[1], []))
        ws = torch.cat([ws[:, :cutoff], G.mapping(torch.randn_like(z), c)[:, cutoff:]], dim=1)
    if track_emas:
        with tracking_emas(G.synthesis):
            return G.synthesis(ws), ws
    return G.synthesis(ws), ws


def run_D(D, img: torch.Tensor, c: torch.Tensor, augment: nn.Module | None, blur_sigma: float) -> torch.Tensor:
    if blur_sigma > 0:  # StyleGAN3-R: Gaussian blur of D inputs early in training.
        size = int(blur_sigma * 3)
        f = torch.arange(-size, size + 1, device=img.device, dtype=torch.float32).div(blur_sigma).square().neg().exp2()
        img = filter2d(img, f / f.sum())
    if augment is not None:
        img = augment(img)
    return D(img, c)


def g_main(n: Nets, cfg: TrainConfig, z, c, real_img, real_c, blur: float):
    img, _ = run_G(n.G, z, c, cfg.style_mixing)
    fake_logits = run_D(n.D, img, c, n.augment, blur)
    if cfg.loss == "r3gan":
        real_logits = run_D(n.D, real_img, real_c, n.augment, blur).detach()
        loss = losses.rpgan_g(real_logits, fake_logits)
    else:
        loss = losses.g_nonsaturating(fake_logits)
    return loss.mean(), {"loss_G": loss.detach(), "scores_fake": fake_logits.detach().flatten()}


def g_reg(n: Nets, cfg: TrainConfig, z, c, pl_mean: torch.Tensor):
    """Path-length regularization on a batch shrunk by pl_batch_shrink (StyleGAN2 §3.2)."""
    bs = max(z.shape[0] // cfg.pl_batch_shrink, 1)
    img, ws = run_G(n.G, z[:bs], c[:bs], cfg.style_mixing)
    lengths = losses.path_length(img, ws)
    penalty = losses.path_length_penalty(lengths, pl_mean, cfg.pl_decay)
    loss = (img[:, 0, 0, 0] * 0 + penalty * cfg.pl_weight).mean()  # Touch img so every G param gets a gradient.
    return loss, {"pl": penalty.detach(), "pl_lengths": lengths.detach()}


def d_main(n: Nets, cfg: TrainConfig, z, c, real_img, real_c, blur: float):
    with torch.no_grad():
        fake_img, _ = run_G(n.G, z, c, cfg.style_mixing, track_emas=True)
    fake_logits = run_D(n.D, fake_img, c, n.augment, blur)
    real_logits = run_D(n.D, real_img, real_c, n.augment, blur)
    if cfg.loss == "r3gan":
        loss = losses.rpgan_d(real_logits, fake_logits)
    else:
        loss = losses.d_logistic_fake(fake_logits) + losses.d_logistic_real(real_logits)
    return loss.mean(), {"loss_D": loss.detach(), "scores_real": real_logits.detach().flatten(),
                         "signs_real": real_logits.detach().sign().flatten()}


def d_reg(n: Nets, cfg: TrainConfig, z, c, real_img, real_c, blur: float):
    """Lazy R1 (gamma/2 ||grad D(x)||^2 on reals); R3GAN adds the same penalty on fakes (R2)."""
    real = real_img.detach().requires_grad_(True)
    real_logits = run_D(n.D, real, real_c, n.augment, blur)
    penalty = losses.gradient_penalty(real, real_logits)
    stats = {"r1": penalty.detach(), "signs_real": real_logits.detach().sign().flatten()}
    if cfg.loss == "r3gan":
        with torch.no_grad():
            fake_img, _ = run_G(n.G, z, c, cfg.style_mixing)
        fake = fake_img.requires_grad_(True)
        r2 = losses.gradient_penalty(fake, run_D(n.D, fake, c, n.augment, blur))
        penalty = penalty + r2
        stats["r2"] = r2.detach()
    loss = (real_logits.flatten() * 0 + penalty * (cfg.gamma / 2)).mean()
    return loss, stats
