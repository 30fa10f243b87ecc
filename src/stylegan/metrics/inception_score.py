"""Inception score (Salimans et al. 2016, "Improved Techniques for Training GANs"):
IS = exp(E_x KL(p(y|x) || p(y))), from Inception-v3 class probabilities computed without the output bias (as the
original TensorFlow code), over 10 splits; reported as mean and standard deviation. Needs the official Inception
TorchScript file (a plain feature extractor has no classifier).
"""

from __future__ import annotations

import numpy as np

from .registry import metric


def inception_score(probs: np.ndarray, num_splits: int = 10) -> tuple[float, float]:
    """probs [N, K] rows summing to 1 -> (mean, std) of exp(mean KL(p(y|x) || p(y))) over `num_splits` equal
    consecutive splits (split i covers rows [i N / s, (i + 1) N / s))."""
    n = probs.shape[0]
    probs = probs.astype(np.float64)
    scores = []
    for i in range(num_splits):
        part = probs[i * n // num_splits: (i + 1) * n // num_splits]
        p_y = part.mean(axis=0, keepdims=True)
        kl = (part * (np.log(part + 1e-30) - np.log(p_y + 1e-30))).sum(axis=1).mean()
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))


def _is(ctx, num, source):
    probs = ctx.stats(source, "inception", max_items=num, capture_all=True, output="probs").get_all()
    mean, std = inception_score(probs, num_splits=10)
    return {"mean": mean, "std": std}


@metric("is50k", num=50000, pattern="is{num}", detectors=("inception",))
def is50k(ctx, num):
    """Inception score of 50k generated images (10 splits)."""
    ctx.require_generator("is50k")
    return _is(ctx, num, "gen")


@metric("is", num=None, pattern="is{num}", two_set=True, detectors=("inception",))
def is_(ctx, num):
    """Inception score of the --data images (10 splits)."""
    return _is(ctx, num, "data")
