"""Kernel Inception distance (Bińkowski et al. 2018, "Demystifying MMD GANs"): the unbiased estimate of the squared
maximum mean discrepancy between Inception features with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3,
averaged over random subsets. kid50k_full: 50k generated images, up to 1M reals, 100 subsets of up to 1000.
"""

from __future__ import annotations

import numpy as np

from .registry import metric


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (x.y / d + 1)^3 for all rows: [m, d] x [n, d] -> [m, n]."""
    return (x @ y.T / x.shape[1] + 1) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 of two equally sized samples [m, d] (Bińkowski et al. 2018, Eq. 3 with the polynomial kernel):
    the within-set terms skip the diagonal (i != j), the cross term keeps all pairs."""
    m = x.shape[0]
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(within - 2 * kxy.sum() / (m * m))


def kernel_inception_distance(real: np.ndarray, gen: np.ndarray, num_subsets: int = 100,
                              max_subset_size: int = 1000, seed: int = 0) -> float:
    """Mean of mmd2_unbiased over `num_subsets` random subsets of m = min(n_real, n_gen, max_subset_size) rows from
    each set, drawn without replacement, as the official KID (subset sizes and count)."""
    m = min(real.shape[0], gen.shape[0], max_subset_size)
    if m < 2:
        raise ValueError("KID needs at least 2 items in each set")
    rng = np.random.RandomState(seed)
    real, gen = real.astype(np.float64), gen.astype(np.float64)
    total = 0.0
    for _ in range(num_subsets):
        x = gen[rng.choice(gen.shape[0], m, replace=False)]
        y = real[rng.choice(real.shape[0], m, replace=False)]
        total += mmd2_unbiased(x, y)
    return total / num_subsets


def _kid(ctx, num, max_reals):
    (src, n_src), (ref, n_ref) = ctx.paired_sources(num, max_reals)
    real = ctx.stats(ref, "inception", max_items=n_ref, capture_all=True).get_all()
    gen = ctx.stats(src, "inception", max_items=n_src, capture_all=True).get_all()
    if min(len(real), len(gen)) < 2:
        from ..errors import UserError

        raise UserError(f"KID needs at least 2 images in each set (got {len(gen)} and {len(real)})")
    return {"": kernel_inception_distance(real, gen, num_subsets=100, max_subset_size=1000, seed=ctx.opts.seed)}


@metric("kid50k_full", num=50000, pattern="kid{num}_full", all_features=("inception",))
def kid50k_full(ctx, num):
    """KID: 50k generated images against up to 1M real images."""
    return _kid(ctx, num, max_reals=1000000)


@metric("kid50k", num=50000, pattern="kid{num}", all_features=("inception",))
def kid50k(ctx, num):
    """KID (legacy): 50k generated images against the first 50k real images."""
    return _kid(ctx, num, max_reals=50000)


@metric("kid", num=None, pattern="kid{num}", two_set=True, all_features=("inception",))
def kid(ctx, num):
    """KID between --data and --ref."""
    return _kid(ctx, num, max_reals=None)
