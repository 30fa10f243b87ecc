"""MS-SSIM diversity (Odena et al. 2017, "Conditional Image Synthesis with Auxiliary Classifier GANs"; used by
Karras et al. 2018, Progressive GAN): the mean multi-scale structural similarity (Wang et al. 2003) of random pairs
of images from one set; lower = more diverse. Needs no detector. msssim20k: 10k pairs of generated images.

MS-SSIM as in the Progressive GAN code: 5 scales with weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), an 11x11
Gaussian window with sigma 1.5 (shrunk with the image when smaller), 'valid' filtering, L = 255, K = (0.01, 0.03),
2x2 box downsampling between scales, per-scale terms clipped at 0, averaged over images at the end.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .registry import metric

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def gaussian_window(size: int, sigma: float) -> torch.Tensor:
    """MATLAB fspecial('gaussian'): [size, size], sums to 1 (half-integer grid for even sizes)."""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * sigma**2))
    return g / g.sum()


def ssim_terms(a: torch.Tensor, b: torch.Tensor, max_val: float = 255, filter_size: int = 11,
               filter_sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image [N]: mean SSIM and mean contrast-structure term over all valid positions and channels."""
    N, C, H, W = a.shape
    size = min(filter_size, H, W)
    win = gaussian_window(size, size * filter_sigma / filter_size).to(a)[None, None]

    def blur(x):
        return F.conv2d(x.reshape(N * C, 1, *x.shape[2:]), win).reshape(N, C, H - size + 1, W - size + 1)

    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    cs = (2 * cov + c2) / (var_a + var_b + c2)
    ssim = (2 * mu_a * mu_b + c1) / (mu_a**2 + mu_b**2 + c1) * cs
    return ssim.mean(dim=(1, 2, 3)), cs.mean(dim=(1, 2, 3))


def ms_ssim(a: torch.Tensor, b: torch.Tensor, weights: tuple[float, ...] = WEIGHTS) -> torch.Tensor:
    """[N] MS-SSIM of image pairs, a and b float [N, C, H, W] in [0, 255]."""
    a, b = a.double(), b.double()
    ssims, css = [], []
    for i in range(len(weights)):
        ssim, cs = ssim_terms(a, b)
        ssims.append(ssim.clamp(min=0))
        css.append(cs.clamp(min=0))
        if i + 1 < len(weights):
            a, b = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
    w = torch.tensor(weights, dtype=torch.float64, device=a.device)
    out = ssims[-1] ** w[-1]
    for cs, wi in zip(css[:-1], w[:-1]):
        out = out * cs**wi
    return out


def _msssim(ctx, num, source):
    from .features import iterate_dataset, iterate_generator, progress_bar

    o = ctx.opts
    batch = max(2, o.batch_size // 2 * 2)
    if source == "gen":
        G = ctx.require_generator("msssim")
        batches = iterate_generator(G, num, batch, ctx.device, o.seed, ctx.data)
    else:
        n = min(len(ctx.data), num or len(ctx.data))
        rng = np.random.RandomState(o.seed)
        num = n - n % 2
        order = rng.permutation(len(ctx.data))[:num].tolist()  # Random pairs.
        batches = iterate_dataset(ctx.data, num, batch, o.num_workers, order)
    total, count = 0.0, 0
    with progress_bar(num, "msssim", o.progress) as bar:
        for img in batches:
            img = img.to(ctx.device).double()
            pairs = img.shape[0] // 2
            total += float(ms_ssim(img[0: 2 * pairs: 2], img[1: 2 * pairs: 2]).sum())
            count += pairs
            bar.update(img.shape[0])
    if count == 0:
        from ..errors import UserError

        raise UserError("msssim needs at least 2 images")
    return {"": total / count}


@metric("msssim20k", num=20000, pattern="msssim{num}")
def msssim20k(ctx, num):
    """MS-SSIM diversity of 10k pairs of generated images (lower = more diverse)."""
    return _msssim(ctx, num, "gen")


@metric("msssim", num=None, pattern="msssim{num}", two_set=True)
def msssim(ctx, num):
    """MS-SSIM diversity of random pairs of --data images (--ref is not used)."""
    return _msssim(ctx, num, "data")
