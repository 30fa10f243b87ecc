"""Equivariance metrics EQ-T, EQ-T_frac and EQ-R (Karras et al. 2021, "Alias-Free Generative Adversarial Networks",
Sec. 3 and Appendix E): the PSNR, in dB with peak 2 (images in [-1, 1]), between an image generated with the
input transformed by StyleGAN3's `G.synthesis.input.transform` and the original image transformed after the fact:
  PSNR = 20 log10(2) - 10 log10(MSE),  MSE over all masked pixels and channels of all samples.
Translations are uniform in +-0.125 of the image (EQ-T: rounded to whole pixels); rotations uniform in +-pi, compared
after giving both images the same band limit (pseudo-rotation). 50k samples in batches of 4, FP32.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch

from ..errors import UserError
from .eq_transforms import (fractional_pseudo_rotation, fractional_rotation, fractional_translation,
                            integer_translation, rotation_matrix)
from .registry import metric


def psnr_from_sums(sq_err_sum: float, count: float) -> float:
    """20 log10(2) - 10 log10(sum / count): PSNR for a peak-to-peak range of 2."""
    mse = sq_err_sum / count
    return float(20 * math.log10(2) - 10 * math.log10(mse)) if mse > 0 else float("inf")


def input_transform(G) -> torch.Tensor:
    """G.synthesis.input.transform ([3, 3] buffer), or a UserError for networks without one."""
    M = getattr(getattr(getattr(G, "synthesis", None), "input", None), "transform", None)
    if not isinstance(M, torch.Tensor) or tuple(M.shape) != (3, 3):
        arch = getattr(G, "arch", type(G).__name__)
        raise UserError(f"equivariance metrics need a StyleGAN3 generator (G.synthesis.input.transform); "
                        f"this network ({arch}) has no input transform")
    return M


@torch.no_grad()
def equivariance_psnrs(G, num: int, *, kinds: tuple[str, ...], batch_size: int = 4, translate_max: float = 0.125,
                       rotate_max: float = 1.0, device: torch.device, seed: int = 0, dataset=None,
                       progress: bool = True) -> dict[str, float]:
    """{kind: PSNR} for kinds among "int" (EQ-T), "frac" (EQ-T_frac), "rot" (EQ-R)."""
    from .features import progress_bar, random_labels

    G = copy.deepcopy(G).eval().requires_grad_(False)  # Its transform and noise buffers get overwritten.
    M = input_transform(G)
    eye = torch.eye(3, device=M.device)
    noise_bufs = [buf for name, buf in G.named_buffers() if name.endswith("noise_const")]
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.RandomState(seed)
    sums = {k: [0.0, 0.0] for k in kinds}  # kind -> [sum of masked squared errors, number of masked values]

    def render(ws, transform):
        M.copy_(transform)
        return G.synthesis(ws, noise_mode="const", force_fp32=True)

    def accumulate(kind, ref, img, mask):
        sums[kind][0] += float(((ref - img).square() * mask).double().sum())
        sums[kind][1] += float(mask.double().sum())

    with progress_bar(num, "equivariance", progress) as bar:
        for _ in range(0, num, batch_size):
            for buf in noise_bufs:
                buf.copy_(torch.randn(buf.shape, generator=gen).to(buf.device))
            z = torch.randn([batch_size, G.z_dim], generator=gen).to(device)
            ws = G.mapping(z, random_labels(G, dataset, batch_size, rng).to(device))
            orig = render(ws, eye)
            if "int" in kinds:  # EQ-T: whole-pixel translations.
                t = (torch.rand(2, generator=gen) * 2 - 1) * translate_max
                t = (t * G.img_resolution).round() / G.img_resolution
                T = eye.clone()
                T[:2, 2] = -t.to(device)
                ref, mask = integer_translation(orig, t[0], t[1])
                accumulate("int", ref, render(ws, T), mask)
            if "frac" in kinds:  # EQ-T_frac: sub-pixel translations.
                t = (torch.rand(2, generator=gen) * 2 - 1) * translate_max
                T = eye.clone()
                T[:2, 2] = -t.to(device)
                ref, mask = fractional_translation(orig, t[0], t[1])
                accumulate("frac", ref, render(ws, T), mask)
            if "rot" in kinds:  # EQ-R: both images band-limited alike before comparing.
                angle = float((torch.rand([], generator=gen) * 2 - 1) * (rotate_max * math.pi))
                img = render(ws, rotation_matrix(-angle).to(device))
                ref, ref_mask = fractional_rotation(orig, angle)
                pseudo, pseudo_mask = fractional_pseudo_rotation(img, angle)
                accumulate("rot", ref, pseudo, ref_mask * pseudo_mask)
            bar.update(batch_size)
    return {k: psnr_from_sums(*sums[k]) for k in kinds}


def _eq(ctx, num, kind):
    G = ctx.require_generator("equivariance")
    input_transform(G)  # Fail before any work.
    out = equivariance_psnrs(G, num, kinds=(kind,), device=ctx.device, seed=ctx.opts.seed, dataset=ctx.data,
                             progress=ctx.opts.progress)
    return {"": out[kind]}


@metric("eqt50k_int", num=50000, pattern="eqt{num}_int")
def eqt50k_int(ctx, num):
    """EQ-T: PSNR under integer translation (StyleGAN3 networks)."""
    return _eq(ctx, num, "int")


@metric("eqt50k_frac", num=50000, pattern="eqt{num}_frac")
def eqt50k_frac(ctx, num):
    """EQ-T_frac: PSNR under sub-pixel translation (StyleGAN3 networks)."""
    return _eq(ctx, num, "frac")


@metric("eqr50k", num=50000, pattern="eqr{num}")
def eqr50k(ctx, num):
    """EQ-R: PSNR under rotation (StyleGAN3 networks)."""
    return _eq(ctx, num, "rot")
