"""Improved precision and recall (Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric for Assessing
Generative Models"). Each set's manifold is the union of balls around its VGG16 feature vectors with radius the
distance to the k-th nearest neighbour; precision = share of generated samples inside the real manifold, recall =
share of real samples inside the generated manifold. pr50k3_full: k = 3, 50k generated, up to 200k reals.
Distances are computed in float32 in blocks of 10000 x 10000 (the official code keeps the features in float16).
"""

from __future__ import annotations

import torch

from .registry import metric


def kth_nearest_radii(manifold: torch.Tensor, k: int, row_batch: int = 10000, col_batch: int = 10000) -> torch.Tensor:
    """[n, d] -> [n]: distance from each point to its k-th nearest neighbour in the set (itself excluded, hence the
    (k+1)-th smallest distance including the zero to itself)."""
    radii = []
    for rows in manifold.split(row_batch):
        dist = torch.cat([torch.cdist(rows, cols) for cols in manifold.split(col_batch)], dim=1)
        radii.append(dist.kthvalue(k + 1, dim=1).values)
    return torch.cat(radii)


def inside_manifold(probes: torch.Tensor, manifold: torch.Tensor, radii: torch.Tensor,
                    row_batch: int = 10000, col_batch: int = 10000) -> torch.Tensor:
    """[m] bool: probe i lies within radii[j] of some manifold point j."""
    hits = []
    for rows in probes.split(row_batch):
        hit = torch.zeros(rows.shape[0], dtype=torch.bool, device=rows.device)
        for cols, r in zip(manifold.split(col_batch), radii.split(col_batch)):
            hit |= (torch.cdist(rows, cols) <= r).any(dim=1)
        hits.append(hit)
    return torch.cat(hits)


def precision_recall(real: torch.Tensor, gen: torch.Tensor, k: int = 3, row_batch: int = 10000,
                     col_batch: int = 10000) -> tuple[float, float]:
    """(precision, recall) of generated features against real features, both [n, d] float32."""
    real_radii = kth_nearest_radii(real, k, row_batch, col_batch)
    gen_radii = kth_nearest_radii(gen, k, row_batch, col_batch)
    precision = inside_manifold(gen, real, real_radii, row_batch, col_batch).float().mean()
    recall = inside_manifold(real, gen, gen_radii, row_batch, col_batch).float().mean()
    return float(precision), float(recall)


def _pr(ctx, num, max_reals):
    (src, n_src), (ref, n_ref) = ctx.paired_sources(num, max_reals)
    real = torch.from_numpy(ctx.stats(ref, "vgg16", max_items=n_ref, capture_all=True).get_all()).to(ctx.device)
    gen = torch.from_numpy(ctx.stats(src, "vgg16", max_items=n_src, capture_all=True).get_all()).to(ctx.device)
    precision, recall = precision_recall(real, gen, k=3)
    return {"precision": precision, "recall": recall}


@metric("pr50k3_full", num=50000, pattern="pr{num}3_full", all_features=("vgg16",))
def pr50k3_full(ctx, num):
    """Precision and recall (k=3): 50k generated images against up to 200k real images."""
    return _pr(ctx, num, max_reals=200000)


@metric("pr50k3", num=50000, pattern="pr{num}3", all_features=("vgg16",))
def pr50k3(ctx, num):
    """Precision and recall (k=3, legacy): 50k generated images against the first 50k real images."""
    return _pr(ctx, num, max_reals=50000)


@metric("pr", num=None, pattern="pr{num}", two_set=True, all_features=("vgg16",))
def pr(ctx, num):
    """Precision and recall (k=3) of --data against --ref (VGG16 features)."""
    return _pr(ctx, num, max_reals=None)
