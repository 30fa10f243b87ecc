"""Generator inference speed: images/s and peak memory for StyleGAN2 (and other generations) configs.

Run: python benchmarks/bench_generator.py [--device cpu|cuda] [--configs sg2-64,sg2-256,sg2-1024] [--json out.json]
The sg2-64 / sg2-256 configs match ../shared/reference/official_speed.md (official CPU: 6.8 and 4.9 images/s).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, peak_memory_mb, print_table, reset_peak, time_fn, write_json  # noqa: E402

from stylegan.models import Generator, GeneratorConfig, MappingConfig, StyleGAN2SynthesisConfig  # noqa: E402

CONFIGS = {
    # name: (config, batches)
    "sg2-64": (GeneratorConfig(img_resolution=64, synthesis=StyleGAN2SynthesisConfig(channel_base=16384)), (1, 8)),
    "sg2-256": (GeneratorConfig(img_resolution=256, synthesis=StyleGAN2SynthesisConfig(channel_base=16384)), (1, 2, 8)),
    "sg2-1024": (GeneratorConfig(img_resolution=1024, synthesis=StyleGAN2SynthesisConfig(channel_base=32768)), (1, 8)),
}


def bench(name: str, cfg: GeneratorConfig, batch: int, device: torch.device, repeat: int) -> dict:
    torch.manual_seed(0)
    G = Generator(cfg).eval().requires_grad_(False).to(device)
    z = torch.randn(batch, G.z_dim, device=device)
    reset_peak(device)
    with torch.inference_mode():
        sec = time_fn(lambda: G(z, None, noise_mode="const"), device, warmup=1, repeat=repeat)
    return {"config": name, "device": device.type, "batch": batch, "images/s": round(batch / sec, 2),
            "ms/image": round(sec / batch * 1000, 1), "peak_mem_MB": round(peak_memory_mb(device))}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--configs", default="sg2-64,sg2-256,sg2-1024")
    p.add_argument("--batches", default=None, help="override batch sizes, e.g. 1,8")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--json", default=None)
    args = p.parse_args()
    device = torch.device(args.device)
    rows = []
    for name in args.configs.split(","):
        cfg, batches = CONFIGS[name]
        for b in ([int(x) for x in args.batches.split(",")] if args.batches else batches):
            rows.append(bench(name, cfg, b, device, args.repeat))
            print(rows[-1], file=sys.stderr)
    print_table(rows, list(rows[0]))
    write_json(args.json, {"machine": machine(), "results": rows})


if __name__ == "__main__":
    main()
