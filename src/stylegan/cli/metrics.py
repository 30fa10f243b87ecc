"""Measure a network (FID, KID, precision/recall, PPL, IS, equivariance, SWD, MS-SSIM) with the official metric
names and definitions, or compare two image sets with no network (--data A --ref B).

Detectors (Inception-v3 2015-12-05 for FID/KID/IS, VGG16 for precision/recall and PPL) are found in this order:
--detector/--vgg PATH or URL, $STYLEGAN_INCEPTION/$STYLEGAN_VGG16, the cache ($STYLEGAN_CACHE/detectors,
default ~/.cache/stylegan/detectors), then a download of the official stylegan2-ada-pytorch TorchScript files.
Statistics of real images are cached (per dataset contents, detector and options) and reused. SWD and MS-SSIM need
no detector. Results are printed as a table (--json: a JSON object as the last line) and, when the network sits in
a run directory (config.json + stats.jsonl beside it), appended to RUN_DIR/metric-<name>.jsonl.

Examples:
  stylegan metrics --network run/network-snapshot-000400.safetensors --data ffhq.zip --metrics fid50k_full
  stylegan metrics --network model.safetensors --data ffhq.zip --metrics fid50k_full,kid50k_full --num 5000
  stylegan metrics --network sg3.safetensors --metrics eqt50k_int,eqr50k --num 1000
  stylegan metrics --data generated/ --ref real/ --metrics fid,kid,swd --json
  stylegan metrics --list
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import UserError
from .common import add_detector_arguments, add_device_argument, bounded, load_network

HELP = "compute quality metrics of a network, or between two image sets"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--network", metavar="PATH", help="network to measure (.safetensors or official .pkl)")
    p.add_argument("--data", metavar="DATASET",
                   help="real images (prepared folder/zip, raw image folder, builtin:emoji); with --ref: set A")
    p.add_argument("--ref", metavar="DATASET", help="second image set: compare --data with it, no network")
    p.add_argument("--metrics", default=None, metavar="LIST",
                   help="comma-separated metric names (default: fid50k_full with --network, fid with --ref)")
    p.add_argument("--num", type=int, default=None, metavar="N",
                   help="override the number of samples, e.g. 1000 for a quick look (reported as fid1k_full)")
    p.add_argument("--max-reals", type=int, default=None, metavar="N", help="cap the number of real images")
    add_detector_arguments(p)
    p.add_argument("--cache-dir", default=None, metavar="DIR",
                   help="cache for detectors and dataset statistics (default: $STYLEGAN_CACHE or ~/.cache/stylegan)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write cached dataset statistics")
    p.add_argument("--batch", type=int, default=64, metavar="N", help="images per detector call (default: 64)")
    p.add_argument("--workers", type=bounded(int, lo=0), default=0, metavar="N",
                   help="dataset reader processes (default: 0)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default: 0)")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object on the last line")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (or line every 30 s)")
    p.add_argument("--list", action="store_true", help="list the metrics and exit")
    add_device_argument(p)


def print_metric_list() -> None:
    from ..metrics import METRICS

    for two_set, title in ((False, "of a network (--network [--data])"),
                           (True, "between two image sets (--data --ref)")):
        print(f"Metrics {title}:")
        for name, spec in METRICS.items():
            if spec.two_set == two_set:
                print(f"  {name:<14} {spec.summary}")


def run(args) -> int:
    from ..metrics import MetricOptions, append_result, evaluate_metrics, find_run_dir
    from ..metrics.registry import format_time

    if args.list:
        print_metric_list()
        return 0
    if args.network is None and (args.data is None or args.ref is None):
        raise UserError("pass --network (to measure a network) or both --data and --ref (to compare two image sets)")
    if args.network is not None and args.ref is not None:
        raise UserError("--ref compares two image sets without a network; drop --network or --ref")
    for flag, value in (("--num", args.num), ("--max-reals", args.max_reals), ("--batch", args.batch)):
        if value is not None and value < 1:
            raise UserError(f"{flag} must be >= 1, got {value}")
    names = [n.strip() for n in (args.metrics or ("fid" if args.ref else "fid50k_full")).split(",") if n.strip()]
    options = MetricOptions(device=args.device, num=args.num, max_reals=args.max_reals, detector=args.detector,
                            vgg=args.vgg, cache_dir=args.cache_dir, use_cache=not args.no_cache,
                            allow_download=not args.offline, batch_size=args.batch, num_workers=args.workers,
                            seed=args.seed, progress=not args.no_progress)
    G = load_network(args.network, args.device) if args.network else None
    results = evaluate_metrics(names, G, args.data, ref=args.ref, options=options)

    # Table, then the run-directory record, then (last) the JSON line.
    flat = {}
    print(f"{'metric':<28} {'value':>14}  time")
    for r in results:
        for i, (key, value) in enumerate(r.results.items()):
            print(f"{key:<28} {value:>14.6g}  {format_time(r.total_time) if i == 0 else ''}")
        flat.update(r.results)
    run_dir = find_run_dir(args.network) if args.network else None
    if run_dir is not None:
        paths = [append_result(run_dir, r, snapshot=Path(args.network).name) for r in results]
        print(f"appended to {', '.join(str(p) for p in paths)}")
    if args.json:
        print(json.dumps(flat))
    return 0
