"""Fréchet Inception distance (Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a Local
Nash Equilibrium"): the Fréchet distance between Gaussians fitted to Inception-v3 pool3 features,
  FID = |mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2)).
fid50k_full: 50k generated images against all real images (no x-flips), as stylegan2-ada/stylegan3 report it.
"""

from __future__ import annotations

import numpy as np

from .registry import metric


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     factor1: np.ndarray | None = None, factor2: np.ndarray | None = None) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) for symmetric PSD covariances.

    Tr((S1 S2)^(1/2)) is the sum of square roots of the eigenvalues of S1 S2, which equal the nonzero eigenvalues of
    the symmetric PSD matrix F S2 F^T for any factor S1 = F^T F: Cholesky in general (one D x D eigenvalue problem
    instead of scipy's Schur-based sqrtm: faster, no spurious imaginary parts), or the optional low-rank factors
    [N, D] of few samples (N < D), with which it shrinks to N x N; with both factors it is the sum of the singular
    values of F1 F2^T. `frechet_distance_sqrtm` is the reference twin.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if factor1 is None and factor2 is not None:  # Symmetric in the two distributions.
        return frechet_distance(mu2, sigma2, mu1, sigma1, factor2, None)
    if factor1 is not None and factor2 is not None:
        tr_sqrt = np.linalg.svd(factor1 @ factor2.T, compute_uv=False).sum()
    else:
        if factor1 is None:
            try:
                factor1 = np.linalg.cholesky(sigma1).T
            except np.linalg.LinAlgError:  # Singular S1: its symmetric square root.
                evals, evecs = np.linalg.eigh((sigma1 + sigma1.T) / 2)
                factor1 = (evecs * np.sqrt(np.clip(evals, 0, None))) @ evecs.T
        m = factor1 @ sigma2 @ factor1.T
        tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    return float(np.square(mu1 - mu2).sum() + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_sqrt)


def frechet_distance_sqrtm(mu1, sigma1, mu2, sigma2) -> float:
    """The textbook formula with scipy.linalg.sqrtm (as the official code computes it); slow for D = 2048."""
    import scipy.linalg

    s = scipy.linalg.sqrtm(np.dot(sigma1, sigma2))
    return float(np.real(np.square(mu1 - mu2).sum() + np.trace(sigma1 + sigma2 - s * 2)))


def _fid(ctx, num: int | None, max_reals: int | None) -> dict[str, float]:
    (src, n_src), (ref, n_ref) = ctx.paired_sources(num, max_reals)
    real, gen = ctx.stats(ref, "inception", max_items=n_ref), ctx.stats(src, "inception", max_items=n_src)
    (mu_r, sigma_r), (mu_g, sigma_g) = real.get_mean_cov(), gen.get_mean_cov()
    # Low-rank factors only pay off for sets smaller than the feature dimension.
    small = [s.factor() if s.has_all and s.num_items < len(mu_r) else None for s in (gen, real)]
    return {"": frechet_distance(mu_g, sigma_g, mu_r, sigma_r, *small)}


@metric("fid50k_full", num=50000, pattern="fid{num}_full", detectors=("inception",))
def fid50k_full(ctx, num):
    """FID: 50k generated images against all real images."""
    return _fid(ctx, num, max_reals=None)


@metric("fid50k", num=50000, pattern="fid{num}", detectors=("inception",))
def fid50k(ctx, num):
    """FID (legacy): 50k generated images against the first 50k real images."""
    return _fid(ctx, num, max_reals=50000)


@metric("fid", num=None, pattern="fid{num}", two_set=True, detectors=("inception",))
def fid(ctx, num):
    """FID between --data and --ref (all images, or the first --num of each)."""
    return _fid(ctx, num, max_reals=None)
