"""Metric speed: detector feature extraction (images/s) and the time of a full FID over N images per set.

Run: python benchmarks/bench_metrics.py [--detector PATH] [--device cpu|cuda|all] [--num 64] [--batch 32]
                                        [--res 256] [--json out.json]
The default detector is ../shared/detectors/inception-2015-12-05-torchscript.pt (a plain extractor, ~0.14 s per image
on one 2-core CPU). The FID row measures the whole pipeline (reading, feature extraction of both sets, statistics,
Fréchet distance; no cache); the 10k and 50k estimates add the detector's time for that many images (the features
row's rate) to the FID's fixed part (detector loading, the Fréchet distance: the time the features do not explain).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import device_arg, machine, print_table, sync, time_fn, write_json  # noqa: E402

from stylegan.metrics import MetricOptions, compute_metrics, load_detector  # noqa: E402

DEFAULT_DETECTOR = Path(__file__).resolve().parents[2] / "shared" / "detectors" / "inception-2015-12-05-torchscript.pt"


class RandomImages(torch.utils.data.Dataset):
    """N smooth random uint8 images [3, res, res] in memory (an ImageDataset stand-in)."""

    def __init__(self, n: int, res: int, seed: int):
        g = torch.Generator().manual_seed(seed)
        x = torch.nn.functional.interpolate(torch.rand(n, 3, 8, 8, generator=g), size=res, mode="bilinear")
        self.images = (x * 255).to(torch.uint8).numpy()
        self.name, self.resolution, self.num_channels, self.label_dim = f"random{seed}", res, 3, 0
        self.content_hash = hashlib.sha256(self.images.tobytes()).hexdigest()

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i], np.zeros([0], np.float32)


def bench_features(detector: str, device: torch.device, batch: int, res: int) -> dict:
    det = load_detector("inception", detector, device)
    img = torch.randint(0, 256, [batch, 3, res, res], dtype=torch.uint8, device=device)
    with torch.inference_mode():
        sec = time_fn(lambda: det.features(img), device, warmup=1, repeat=3)
    return {"what": f"features {res}px", "device": device.type, "detector": det.kind, "batch": batch,
            "images/s": round(batch / sec, 2), "seconds": round(sec, 2)}


def bench_fid(detector: str, device: torch.device, batch: int, res: int, num: int, features_per_s: float) -> dict:
    """The whole FID over `num` images per set; the 10k / 50k estimates are its fixed part (what the features of
    2 x `num` images at `features_per_s` do not explain: detector loading, the Frechet distance) plus 2 N images at
    that rate."""
    a, b = RandomImages(num, res, 0), RandomImages(num, res, 1)
    opts = MetricOptions(device=str(device), detector=detector, batch_size=batch, use_cache=False, progress=False)
    sync(device)
    t = time.perf_counter()
    fid = compute_metrics(["fid"], None, a, ref=b, options=opts)["fid"]
    sync(device)
    sec = time.perf_counter() - t
    fixed = max(sec - 2 * num / features_per_s, 0.0)
    return {"what": f"fid {num}+{num} imgs", "device": device.type, "batch": batch,
            "images/s": round(2 * num / sec, 2), "seconds": round(sec, 1),
            "10k est. (min)": round((fixed + 2e4 / features_per_s) / 60, 1),
            "50k est. (min)": round((fixed + 1e5 / features_per_s) / 60, 1), "fid": round(fid, 3)}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--detector", default=str(DEFAULT_DETECTOR), help="Inception TorchScript file")
    p.add_argument("--device", type=lambda t: t if t == "all" else device_arg(t), default="all",
                   help="cpu | cuda | all (default: all available)")
    p.add_argument("--num", type=int, default=64, help="images per set for the FID timing (default: 64)")
    p.add_argument("--batch", type=int, default=32, help="images per detector call (default: 32)")
    p.add_argument("--res", type=int, default=256, help="image resolution (default: 256)")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the results as JSON")
    args = p.parse_args()
    if not Path(args.detector).is_file():
        sys.exit(f"detector not found: {args.detector} (pass --detector PATH)")
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    devices = [torch.device(d) for d in devices if d != "cuda" or torch.cuda.is_available()]
    rows = []
    for device in devices:
        rows.append(bench_features(args.detector, device, args.batch, args.res))
        rows.append(bench_fid(args.detector, device, args.batch, args.res, args.num, rows[-1]["images/s"]))
    print_table(rows, ["what", "device", "batch", "images/s", "seconds", "10k est. (min)", "50k est. (min)", "fid"])
    write_json(args.json, {"machine": machine(), "args": vars(args), "results": rows})


if __name__ == "__main__":
    main()
