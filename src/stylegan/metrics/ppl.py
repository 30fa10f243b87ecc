"""Perceptual path length (Karras et al. 2019, "A Style-Based Generator Architecture for GANs", Sec. 4.1; the
endpoint variant of Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN"):
  PPL = E[ d_LPIPS(G(lerp(w0, w1, t)), G(lerp(w0, w1, t + eps))) / eps^2 ],
with LPIPS distances from the official VGG16 TorchScript file (`return_lpips=True`), eps = 1e-4, and the mean taken
over the samples between the 1st and 99th percentiles. ppl2_wend (stylegan3): W space, t = 0 (endpoints), the full
image (no crop), 50k samples. The sg2-ada variants ppl_{z,w}{full,end} crop to the central face region.
Per-pixel noise is fixed per batch ('const') but re-randomized between batches, as the official code does.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from .registry import metric


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of the directions of a and b (rows normalized first), t: [N, 1]."""
    a = a / a.norm(dim=-1, keepdim=True)
    b = b / b.norm(dim=-1, keepdim=True)
    omega = (a * b).sum(dim=-1, keepdim=True).clamp(-1, 1).acos()
    c = b - a * (a * b).sum(dim=-1, keepdim=True)
    c = c / c.norm(dim=-1, keepdim=True)
    return a * (t * omega).cos() + c * (t * omega).sin()


def trimmed_mean(dist: np.ndarray, lo_pct: float = 1, hi_pct: float = 99) -> float:
    """Mean of the values between the lo and hi percentiles (lower/higher sample, inclusive), as official PPL."""
    lo = np.percentile(dist, lo_pct, method="lower")
    hi = np.percentile(dist, hi_pct, method="higher")
    return float(dist[(dist >= lo) & (dist <= hi)].mean())


def prepare_for_lpips(img: torch.Tensor, img_resolution: int, crop: bool) -> torch.Tensor:
    """G output [N, C, H, W] in [-1, 1] -> [N, 3, h, w] in [0, 255]: optional central crop (rows 3/8..7/8, columns
    2/8..6/8 of a face), box-downsampling to at most 256 px, grayscale repeated."""
    if crop:
        c = img.shape[2] // 8
        img = img[:, :, c * 3: c * 7, c * 2: c * 6]
    factor = img_resolution // 256
    if factor > 1:
        n, ch, h, w = img.shape
        img = img.reshape(n, ch, h // factor, factor, w // factor, factor).mean(dim=[3, 5])
    img = (img + 1) * (255 / 2)
    return img.repeat(1, 3, 1, 1) if img.shape[1] == 1 else img


@torch.no_grad()
def path_lengths(G, vgg16, num: int, *, epsilon: float = 1e-4, space: str = "w", sampling: str = "end",
                 crop: bool = False, batch_size: int = 2, device: torch.device, seed: int = 0, dataset=None,
                 progress: bool = True) -> np.ndarray:
    """[num] per-sample perceptual path lengths d / eps^2 (`vgg16(img) -> LPIPS features`)."""
    from .features import progress_bar, random_labels

    G = copy.deepcopy(G).eval().requires_grad_(False)  # The noise buffers get overwritten.
    noise_bufs = [buf for name, buf in G.named_buffers() if name.endswith("noise_const")]
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.RandomState(seed)
    out = []
    with progress_bar(num, "ppl", progress) as bar:
        for start in range(0, num, batch_size):
            t = torch.rand([batch_size, 1], generator=gen) * (1 if sampling == "full" else 0)
            z = torch.randn([batch_size * 2, G.z_dim], generator=gen)
            t, z = t.to(device), z.to(device)
            c = random_labels(G, dataset, batch_size, rng).to(device)
            for buf in noise_bufs:
                buf.copy_(torch.randn(buf.shape, generator=gen).to(buf.device))
            if space == "w":
                w0, w1 = G.mapping(z, torch.cat([c, c])).chunk(2)
                t3 = t.unsqueeze(2)
                ws = torch.cat([w0.lerp(w1, t3), w0.lerp(w1, t3 + epsilon)])
            else:
                z0, z1 = z.chunk(2)
                zt = torch.cat([slerp(z0, z1, t), slerp(z0, z1, t + epsilon)])
                ws = G.mapping(zt, torch.cat([c, c]))
            img = G.synthesis(ws, noise_mode="const", force_fp32=True)
            feats = vgg16(prepare_for_lpips(img, G.img_resolution, crop))
            f0, f1 = feats.chunk(2)
            out.append(((f0 - f1).square().sum(dim=1) / epsilon**2).cpu())
            bar.update(batch_size)
    return torch.cat(out)[:num].double().numpy()


def _ppl(ctx, num, space, sampling, crop):
    G = ctx.require_generator("perceptual path length")
    vgg = ctx.detector("vgg16")
    dist = path_lengths(G, vgg.lpips, num, space=space, sampling=sampling, crop=crop, device=ctx.device,
                        seed=ctx.opts.seed, dataset=ctx.data, progress=ctx.opts.progress)
    return {"": trimmed_mean(dist)}


@metric("ppl2_wend", num=50000, detectors=("vgg16",))
def ppl2_wend(ctx, num):
    """Perceptual path length in W at the path endpoints, full image (stylegan3 definition)."""
    return _ppl(ctx, num, "w", "end", crop=False)


def _register_sg2ada_variants() -> None:
    """ppl_zfull, ppl_wfull, ppl_zend, ppl_wend: the stylegan2-ada definitions (cropped)."""
    for space in ("z", "w"):
        for sampling in ("full", "end"):
            def fn(ctx, num, space=space, sampling=sampling):
                return _ppl(ctx, num, space, sampling, crop=True)
            fn.__doc__ = f"Perceptual path length in {space.upper()}, {sampling} paths, cropped (stylegan2-ada)."
            metric(f"ppl_{space}{sampling}", num=50000)(fn)


_register_sg2ada_variants()
