"""An honest model card: OUTDIR/card.html (self-contained, no network requests) with the PNGs it shows.

The page holds: an uncurated 8x8 grid of seeds 0-63 at psi = 1 next to psi = 0.7, a truncation sweep, a
style-mixing grid, the metrics (this snapshot's lines in the run directory's metric-*.jsonl, else the newest,
labelled; the snapshot metadata; or computed now with --metrics [--data]), training curves from stats.jsonl, the
generator and training configuration, data provenance (config.json "dataset": spec, content_hash, num_images, or
--data) and the model id. The run directory is the network file's folder when it holds config.json + stats.jsonl.

Examples:
  stylegan card --network runs/00003-stylegan2-ffhq/network-snapshot-000400.safetensors --outdir card
  stylegan card --network model.safetensors --data ffhq.zip --metrics fid50k_full --outdir card
"""

from __future__ import annotations

import argparse

from ..errors import UserError
from .common import (add_detector_arguments, add_device_argument, add_network_argument, load_network,
                     output_dir)

HELP = "write a model card (HTML page with uncurated grids, metrics, curves, provenance)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_network_argument(p)
    p.add_argument("--data", default=None, metavar="DATASET", help="training data: provenance, and --metrics")
    p.add_argument("--metrics", default=None, metavar="LIST", help="compute these metrics now (e.g. fid50k_full)")
    p.add_argument("--num", type=int, default=None, metavar="N", help="override the metrics' sample count")
    add_detector_arguments(p)
    p.add_argument("--outdir", type=output_dir, required=True, metavar="DIR",
                   help="where to write card.html and its images")
    add_device_argument(p)


def compute(args, G) -> list:
    from ..edit.card import MetricEntry
    from ..metrics import MetricOptions, evaluate_metrics

    names = [n.strip() for n in args.metrics.split(",") if n.strip()]
    results = evaluate_metrics(names, G, args.data, options=MetricOptions(
        num=args.num, detector=args.detector, vgg=args.vgg, allow_download=not args.offline, progress=False))
    return [MetricEntry(k, v, f"computed for this card ({r.num} samples)" if r.num else "computed for this card")
            for r in results for k, v in r.results.items()]


def data_info(spec: str) -> dict:
    from ..data.dataset import open_dataset

    ds = open_dataset(spec)
    return {"spec": spec, "name": ds.name, "path": str(ds.path), "content_hash": ds.content_hash,
            "num_images": len(ds), "resolution": ds.resolution, "channels": ds.num_channels}


def run(args) -> int:
    from ..edit.card import write_card

    if args.num is not None and args.num < 1:
        raise UserError(f"--num must be >= 1, got {args.num}")
    G = load_network(args.network, args.device)
    computed = compute(args, G) if args.metrics else []
    page = write_card(G, args.network, args.outdir, computed, data_info(args.data) if args.data else None)
    print(f"wrote {page}")
    return 0
