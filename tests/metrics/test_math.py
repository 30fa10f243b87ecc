"""The metric formulas on synthetic features: Fréchet distance vs scipy, KID unbiasedness, IS, precision/recall."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stylegan.metrics.features import FeatureStats
from stylegan.metrics.fid import frechet_distance, frechet_distance_sqrtm
from stylegan.metrics.inception_score import inception_score
from stylegan.metrics.kid import kernel_inception_distance, mmd2_unbiased
from stylegan.metrics.precision_recall import precision_recall


def _random_cov(rng, d, n):
    a = rng.randn(d, n)
    return a @ a.T / n


@pytest.mark.parametrize("d,n", [(8, 40), (64, 200), (64, 20)])  # (64, 20): singular covariances.
def test_frechet_distance_matches_scipy_sqrtm(d, n):
    rng = np.random.RandomState(d + n)
    mu1, mu2 = rng.randn(d), rng.randn(d) * 0.5
    s1, s2 = _random_cov(rng, d, n), _random_cov(rng, d, n) * 2
    ours, ref = frechet_distance(mu1, s1, mu2, s2), frechet_distance_sqrtm(mu1, s1, mu2, s2)
    assert ours == pytest.approx(ref, rel=1e-6, abs=1e-6)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0, abs=1e-6 * np.trace(s1))


def test_frechet_distance_of_gaussians_closed_form():
    # Diagonal covariances: FID = |dmu|^2 + sum (sqrt(a) - sqrt(b))^2.
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 4.0, 1.0])
    expected = 1.0 + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_distance(np.zeros(3), np.diag(a), np.array([1.0, 0, 0]), np.diag(b)) == pytest.approx(expected)


def test_feature_stats_mean_cov_and_max_items():
    rng = np.random.RandomState(0)
    x = rng.randn(50, 5).astype(np.float32)
    stats = FeatureStats(capture_all=True, max_items=40)
    for chunk in np.split(x, 5):
        stats.append(chunk)
    assert stats.num_items == 40 and stats.is_full()
    mu, cov = stats.get_mean_cov()
    np.testing.assert_allclose(mu, x[:40].mean(0), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(cov, np.cov(x[:40].T.astype(np.float64), bias=True), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(stats.get_all(), x[:40])


def test_mmd2_matches_direct_sum():
    rng = np.random.RandomState(1)
    x, y = rng.randn(7, 4), rng.randn(7, 4) + 0.3

    def k(a, b):
        return (a @ b / 4 + 1) ** 3

    m = 7
    within = sum(k(x[i], x[j]) + k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    cross = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    assert mmd2_unbiased(x, y) == pytest.approx(within - 2 * cross)


def test_kid_is_unbiased_on_one_distribution_and_positive_on_two():
    rng = np.random.RandomState(2)
    same, biased, shifted = [], [], []
    for _ in range(200):
        x, y = rng.randn(20, 8), rng.randn(20, 8)
        same.append(mmd2_unbiased(x, y))
        kxx, kyy, kxy = [(a @ b.T / 8 + 1) ** 3 for a, b in ((x, x), (y, y), (x, y))]
        biased.append(kxx.mean() + kyy.mean() - 2 * kxy.mean())  # The V-statistic keeps the diagonal.
        shifted.append(mmd2_unbiased(x, y + 0.5))
    se = np.std(same) / np.sqrt(len(same))
    assert abs(np.mean(same)) < 3 * se  # Unbiased: zero mean.
    assert np.mean(biased) > 10 * se  # The biased estimate is clearly positive...
    assert np.mean(shifted) > 10 * se  # ...and so is KID between different distributions.


def test_kid_subsets_deterministic_and_capped():
    rng = np.random.RandomState(3)
    real, gen = rng.randn(30, 6).astype(np.float32), rng.randn(25, 6).astype(np.float32)
    a = kernel_inception_distance(real, gen, num_subsets=5, max_subset_size=10, seed=0)
    assert a == kernel_inception_distance(real, gen, num_subsets=5, max_subset_size=10, seed=0)
    # One subset holding everything equals the plain estimate on the whole (equal-size) sets.
    full = kernel_inception_distance(real[:25], gen, num_subsets=1, max_subset_size=1000, seed=0)
    assert full == pytest.approx(mmd2_unbiased(gen.astype(np.float64), real[:25].astype(np.float64)))


def test_inception_score_extremes():
    uniform = np.full([100, 10], 0.1)
    assert inception_score(uniform, num_splits=10) == pytest.approx((1.0, 0.0))
    one_hot = np.eye(5)[np.arange(100) % 5]  # Confident and evenly spread over 5 classes.
    mean, std = inception_score(one_hot * 0.999999 + 1e-7, num_splits=10)
    assert mean == pytest.approx(5.0, rel=1e-4) and std < 1e-3


def test_precision_recall_cases():
    g = torch.Generator().manual_seed(0)
    real = torch.randn(200, 8, generator=g)
    p, r = precision_recall(real, real.clone(), k=3)
    assert (p, r) == (1.0, 1.0)
    far = torch.randn(100, 8, generator=g) + 100
    assert precision_recall(real, far, k=3) == (0.0, 0.0)
    # Mode collapse: all generated samples sit at one real sample -> high precision, low recall.
    collapsed = real[:1] + 0.01 * torch.randn(50, 8, generator=g)
    p, r = precision_recall(real, collapsed, k=3)
    assert p == 1.0 and r < 0.05
    # Row/column batching does not change the answer.
    gen = torch.randn(150, 8, generator=g) * 1.3
    assert precision_recall(real, gen, k=3, row_batch=17, col_batch=23) == precision_recall(real, gen, k=3)


def test_frechet_distance_low_rank_factors_match_scipy():
    rng = np.random.RandomState(7)
    d = 40
    stats = []
    for n, shift in ((12, 0.0), (9, 0.7)):
        s = FeatureStats()
        s.append(rng.randn(n, d).astype(np.float32) + shift)
        stats.append(s)
    (mu1, s1), (mu2, s2) = stats[0].get_mean_cov(), stats[1].get_mean_cov()
    ref = frechet_distance_sqrtm(mu1, s1, mu2, s2)
    f1, f2 = stats[0].factor(), stats[1].factor()
    np.testing.assert_allclose(f1.T @ f1, s1, atol=1e-10)
    for factors in ((f1, f2), (f1, None), (None, f2), (None, None)):
        assert frechet_distance(mu1, s1, mu2, s2, *factors) == pytest.approx(ref, rel=1e-6)
    big = FeatureStats()
    big.append(rng.randn(50, d).astype(np.float32))
    assert big.factor() is None  # Rows are dropped once N > D (unless capture_all).
