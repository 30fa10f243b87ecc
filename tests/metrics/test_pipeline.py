"""End to end with stand-in detectors: FID/KID/PR through the registry, the statistics cache, --num naming, PPL."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from fakes import ArrayDataset

from stylegan.errors import UserError
from stylegan.metrics import METRICS, MetricOptions, compute_metrics, evaluate_metrics, result_name


def _images(seed: int, n: int = 32, res: int = 16) -> np.ndarray:
    g = torch.Generator().manual_seed(seed)
    x = torch.nn.functional.interpolate(torch.rand(n, 3, 4, 4, generator=g), size=res, mode="bilinear")
    return (x * 255).round().to(torch.uint8).numpy()


def _noisy(images: np.ndarray, sigma: float) -> np.ndarray:
    return np.clip(images + np.random.RandomState(1).randn(*images.shape) * sigma, 0, 255).astype(np.uint8)


def test_fid_of_a_set_with_itself_is_zero_and_grows_with_perturbation(standins):
    opts = MetricOptions(device="cpu", detector=str(standins["plain"]), progress=False, use_cache=False)
    base = ArrayDataset(_images(0))
    fid = [compute_metrics(["fid"], None, base, ref=ArrayDataset(_noisy(base.images, s)), options=opts)["fid"]
           for s in (0, 10, 40, 80)]
    assert abs(fid[0]) < 1e-6
    assert fid[0] < fid[1] < fid[2] < fid[3]


def test_real_statistics_are_cached(standins, isolated_cache, tiny_G):
    reals = ArrayDataset(_images(1, n=12))
    opts = MetricOptions(device="cpu", detector=str(standins["plain"]), progress=False, gen_batch=4)
    rng_state = torch.get_rng_state()
    first = compute_metrics(["fid50k_full", "kid50k_full"], tiny_G, reals, num=6, options=opts)
    assert torch.equal(torch.get_rng_state(), rng_state)  # Seeded sampling leaves the caller's RNG alone.
    reads = reals.reads
    assert reads == 12  # FID and KID shared one pass over the reals.
    files = list((isolated_cache / "metrics").glob("*.npz"))
    assert len(files) == 1
    second = compute_metrics(["fid50k_full", "kid50k_full"], tiny_G, reals, num=6, options=opts)
    assert reals.reads == reads  # Cache hit: no image read again.
    assert second == first and set(first) == {"fid6_full", "kid6_full"}
    # Other image contents are another cache entry.
    changed = ArrayDataset(_images(2, n=12))
    compute_metrics(["fid50k_full"], tiny_G, changed, num=6, options=opts)
    assert changed.reads == 12 and len(list((isolated_cache / "metrics").glob("*.npz"))) == 2


def test_result_names_follow_num():
    assert result_name(METRICS["fid50k_full"], None) == "fid50k_full"
    assert result_name(METRICS["fid50k_full"], 50000) == "fid50k_full"
    assert result_name(METRICS["fid50k_full"], 1000) == "fid1k_full"
    assert result_name(METRICS["pr50k3_full"], 2500) == "pr2500_3_full"
    assert result_name(METRICS["pr50k3_full"], 2000) == "pr2k3_full"
    assert result_name(METRICS["eqt50k_int"], 500) == "eqt500_int"
    assert result_name(METRICS["ppl2_wend"], 1000) == "ppl2_wend_1k"
    assert result_name(METRICS["fid"], 100) == "fid100"


def test_precision_recall_and_names(standins, tiny_G):
    reals = ArrayDataset(_images(3, n=16))
    out = compute_metrics(["pr50k3_full"], tiny_G, reals, num=8,
                          options=MetricOptions(device="cpu", vgg=str(standins["vgg"]), progress=False))
    assert set(out) == {"pr8_3_full_precision", "pr8_3_full_recall"}
    assert all(0 <= v <= 1 for v in out.values())


def test_unknown_metric_and_mode_errors(tiny_G):
    with pytest.raises(UserError, match="unknown metric 'fid' for measuring of a network"):
        evaluate_metrics(["fid"], tiny_G, None)
    with pytest.raises(UserError, match="choose from: fid, kid"):
        evaluate_metrics(["fid50k_full"], None, "a", ref="b")
    with pytest.raises(UserError, match="--data"):
        evaluate_metrics(["fid50k_full"], tiny_G, None, options=MetricOptions(device="cpu", progress=False))


class _ConstantSynthesis(torch.nn.Module):
    def __init__(self, G):
        super().__init__()
        self.num_ws, self.w_dim, self.res = G.num_ws, G.w_dim, G.img_resolution

    def forward(self, ws, noise_mode="const", force_fp32=False):
        return torch.zeros([ws.shape[0], 3, self.res, self.res]) + 0.25


def test_ppl_with_standin_vgg(standins, tiny_G):
    opts = MetricOptions(device="cpu", vgg=str(standins["vgg"]), progress=False)
    ppl = compute_metrics(["ppl2_wend"], tiny_G, None, num=6, options=opts)["ppl2_wend_6"]
    assert np.isfinite(ppl) and ppl > 0
    # LPIPS features twice as large -> squared distances four times as large (same seeds, same samples).
    opts2 = MetricOptions(device="cpu", vgg=str(standins["vgg2"]), progress=False)
    assert compute_metrics(["ppl2_wend"], tiny_G, None, num=6, options=opts2)["ppl2_wend_6"] == \
        pytest.approx(4 * ppl, rel=1e-4)
    # A generator that ignores its latent has zero path length.
    tiny_G.synthesis = _ConstantSynthesis(tiny_G)
    assert compute_metrics(["ppl2_wend"], tiny_G, None, num=4, options=opts)["ppl2_wend_4"] == 0


def test_ppl_without_vgg_offline_says_how(tiny_G):
    with pytest.raises(UserError, match="--vgg PATH or STYLEGAN_VGG16"):
        compute_metrics(["ppl2_wend"], tiny_G, None, num=2, options=MetricOptions(device="cpu", progress=False))


def test_is_needs_official_inception(standins, tiny_G):
    with pytest.raises(UserError, match="Inception score"):
        compute_metrics(["is50k"], tiny_G, None, num=2,
                        options=MetricOptions(device="cpu", detector=str(standins["plain"]), progress=False))


def test_is_and_fid_with_official_interface(standins, tiny_G):
    opts = MetricOptions(device="cpu", detector=str(standins["inception"]), progress=False)
    out = compute_metrics(["is50k", "fid50k_full"], tiny_G, ArrayDataset(_images(4, n=10)), num=20, options=opts)
    assert set(out) == {"is20_mean", "is20_std", "fid20_full"}
    assert 1 <= out["is20_mean"] <= 10 and out["is20_std"] >= 0 and out["fid20_full"] > 0
