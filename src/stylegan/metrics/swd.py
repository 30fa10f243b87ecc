"""Sliced Wasserstein distance between Laplacian-pyramid patches (Karras et al. 2018, "Progressive Growing of GANs
for Improved Quality, Stability, and Variation", Sec. 5). Needs no detector.

For every pyramid level from the full resolution down to 16x16: 128 random 7x7 RGB patches per image, each
channel normalized by the mean and std over all patches of the set, then the sliced Wasserstein distance (mean
absolute difference of sorted projections) over 4 repeats of 128 random unit directions; reported x 1e3 per level
and averaged. swd16k: 16384 generated and 16384 real images (the paper's setting).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .registry import metric

NHOOD_SIZE, NHOODS_PER_IMAGE, DIR_REPEATS, DIRS_PER_REPEAT, MIN_RESOLUTION = 7, 128, 4, 128, 16
_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16  # The 5x5 Gaussian of cv2.pyrDown is its outer product.


def _blur(x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """5x5 binomial filter with mirror boundaries (scipy.ndimage mode='mirror' == torch 'reflect')."""
    N, C, H, W = x.shape
    k = (_BINOMIAL.to(x) * gain ** 0.5)
    x = F.pad(x.reshape(N * C, 1, H, W), [2, 2, 2, 2], mode="reflect")
    x = F.conv2d(F.conv2d(x, k.view(1, 1, 1, 5)), k.view(1, 1, 5, 1))
    return x.reshape(N, C, H, W)


def pyr_down(x: torch.Tensor) -> torch.Tensor:
    return _blur(x)[:, :, ::2, ::2]


def pyr_up(x: torch.Tensor) -> torch.Tensor:
    N, C, H, W = x.shape
    up = torch.zeros([N, C, H * 2, W * 2], dtype=x.dtype, device=x.device)
    up[:, :, ::2, ::2] = x
    return _blur(up, gain=4.0)


def laplacian_pyramid(x: torch.Tensor, num_levels: int) -> list[torch.Tensor]:
    """[N, C, H, W] -> [band-pass levels from full resolution ..., low-pass residual]."""
    levels = [x.float()]
    for _ in range(1, num_levels):
        levels.append(pyr_down(levels[-1]))
        levels[-2] = levels[-2] - pyr_up(levels[-1])
    return levels


def num_levels(resolution: int) -> int:
    n = 0
    while resolution >= MIN_RESOLUTION:
        n, resolution = n + 1, resolution // 2
    return n


def random_patches(level: torch.Tensor, per_image: int, size: int, gen: torch.Generator) -> torch.Tensor:
    """[N, C, H, W] -> [N * per_image, C, size, size] patches at uniformly random positions inside the image."""
    N, C, H, W = level.shape
    h = size // 2
    cy = torch.randint(h, H - h, [N * per_image], generator=gen).to(level.device)
    cx = torch.randint(h, W - h, [N * per_image], generator=gen).to(level.device)
    d = torch.arange(-h, h + 1, device=level.device)
    img = torch.arange(N, device=level.device).repeat_interleave(per_image)
    rows = (cy[:, None] + d)[:, :, None].expand(-1, size, size)
    cols = (cx[:, None] + d)[:, None, :].expand(-1, size, size)
    return level[img[:, None, None], :, rows, cols].permute(0, 3, 1, 2)


def normalize_descriptors(desc: torch.Tensor) -> torch.Tensor:
    """[M, C, h, w] -> [M, C*h*w]: per-channel zero mean, unit std over all patches and pixels."""
    desc = desc - desc.mean(dim=(0, 2, 3), keepdim=True)
    desc = desc / desc.std(dim=(0, 2, 3), keepdim=True, unbiased=False)
    return desc.reshape(desc.shape[0], -1)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, repeats: int, dirs: int, gen: torch.Generator) -> float:
    """Mean over `repeats` x `dirs` random unit directions of the 1-D Wasserstein-1 distance between projections."""
    results = []
    for _ in range(repeats):
        d = torch.randn([a.shape[1], dirs], generator=gen, dtype=torch.float64).to(a.device)
        d = (d / d.norm(dim=0, keepdim=True)).to(a.dtype)
        pa, pb = (a @ d).sort(dim=0).values, (b @ d).sort(dim=0).values
        results.append(float((pa - pb).abs().mean()))
    return float(np.mean(results))


def collect_descriptors(batches, levels: int, gen: torch.Generator, device: torch.device) -> list[torch.Tensor]:
    """uint8 RGB batches -> per level, normalized descriptors [num_images * 128, 147]."""
    per_level: list[list[torch.Tensor]] = [[] for _ in range(levels)]
    for img in batches:
        for i, level in enumerate(laplacian_pyramid(img.to(device), levels)):
            per_level[i].append(random_patches(level, NHOODS_PER_IMAGE, NHOOD_SIZE, gen))
    return [normalize_descriptors(torch.cat(d)) for d in per_level]


def swd_levels(desc_a: list[torch.Tensor], desc_b: list[torch.Tensor], gen: torch.Generator) -> list[float]:
    """SWD x 1e3 per level (the two sets must have equally many descriptors)."""
    return [1e3 * sliced_wasserstein(a, b, DIR_REPEATS, DIRS_PER_REPEAT, gen) for a, b in zip(desc_a, desc_b)]


def _swd(ctx, num):
    from ..errors import UserError
    from .features import iterate_dataset, iterate_generator, progress_bar, to_detector_input

    o = ctx.opts
    gen = torch.Generator().manual_seed(o.seed)
    rng = np.random.RandomState(o.seed)
    if ctx.G is not None:
        reals = ctx.require_data("swd")
        res_a, res_b = ctx.G.img_resolution, reals.resolution
        n = min(num, len(reals))
        sets = [("generated", iterate_generator(ctx.G, n, o.gen_batch, ctx.device, o.seed, reals)),
                ("reals", iterate_dataset(reals, n, o.batch_size, o.num_workers,
                                          sorted(rng.choice(len(reals), n, replace=False).tolist())))]
    else:
        res_a, res_b = ctx.data.resolution, ctx.ref.resolution
        n = min(len(ctx.data), len(ctx.ref), num or len(ctx.data))
        sets = [(name, iterate_dataset(ds, n, o.batch_size, o.num_workers,
                                       sorted(rng.choice(len(ds), n, replace=False).tolist())))
                for name, ds in (("data", ctx.data), ("ref", ctx.ref))]
    if res_a != res_b:
        raise UserError(f"swd compares images of one resolution: got {res_a} and {res_b}")
    levels = num_levels(res_a)
    if levels == 0:
        raise UserError(f"swd needs images of at least {MIN_RESOLUTION}x{MIN_RESOLUTION}, got {res_a}")
    descs = []
    for name, batches in sets:
        with progress_bar(n, f"swd {name}", o.progress) as bar:
            def counted(batches=batches, bar=bar):
                for img in batches:
                    bar.update(img.shape[0])
                    yield to_detector_input(img)
            descs.append(collect_descriptors(counted(), levels, gen, ctx.device))
    dist = swd_levels(descs[0], descs[1], gen)
    out = {str(res_a >> i): d for i, d in enumerate(dist)}
    out[""] = float(np.mean(dist))
    return out


@metric("swd16k", num=16384, pattern="swd{num}")
def swd16k(ctx, num):
    """Sliced Wasserstein distance x1e3 (mean over pyramid levels; per level as _<res>): 16384 images each."""
    return _swd(ctx, num)


@metric("swd", num=None, pattern="swd{num}", two_set=True)
def swd(ctx, num):
    """Sliced Wasserstein distance x1e3 between --data and --ref (equal resolutions)."""
    return _swd(ctx, num)
