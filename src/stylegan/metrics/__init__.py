"""Quality metrics of generators and image sets, with the official names and definitions (stylegan2-ada/stylegan3):
fid50k_full, kid50k_full, pr50k3_full, ppl2_wend, is50k, eqt50k_int, eqt50k_frac, eqr50k (+ legacy fid50k, kid50k,
pr50k3, ppl_{z,w}{full,end}) and the detector-free swd16k and msssim20k; between two image sets: fid, kid, pr, is,
swd, msssim.

Library use (e.g. from the training loop at each snapshot):

    from stylegan.metrics import compute_metrics, MetricOptions
    results = compute_metrics(["fid50k_full"], G_ema, dataset, device="cuda")   # {"fid50k_full": 3.1}

`evaluate_metrics` returns one MetricResult per metric (name, results, time) and `append_result(run_dir, r, snapshot)`
appends it to RUN_DIR/metric-<name>.jsonl. One metric per module; each registers itself with @metric.
"""

# Importing the metric modules registers them; this order is the order of the listing.
from . import fid, kid, precision_recall, ppl, inception_score, equivariance, swd, msssim  # noqa: F401, I001
from .detectors import DETECTORS, Detector, load_detector, resolve_detector
from .features import FeatureStats
from .fid import frechet_distance
from .registry import (METRICS, MetricContext, MetricOptions, MetricResult, append_result, compute_metrics,
                       evaluate_metrics, find_run_dir, metric, result_name)

__all__ = ["METRICS", "MetricContext", "MetricOptions", "MetricResult", "append_result", "compute_metrics",
           "evaluate_metrics", "find_run_dir", "metric", "result_name", "DETECTORS", "Detector", "load_detector",
           "resolve_detector", "FeatureStats", "frechet_distance"]
