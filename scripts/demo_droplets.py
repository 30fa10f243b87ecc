"""Train StyleGAN (stylegan1) and StyleGAN2 on builtin:emoji with identical settings, then compare their samples
and per-layer feature-map spike ratios (the "droplet" artifacts of StyleGAN2 paper §2.1).

Writes into OUTDIR: runs/ (the two training runs), grids.png (the same seeds from both generators, side by side),
and from scripts/feature_magnitudes.py: spike_ratios.png, worst_layer_stylegan1.png, worst_layer_stylegan2.png,
feature_magnitudes.json. Both runs share everything except the generator: preset, batch, kimg, seed, D (StyleGAN2
resnet), 8-layer mapping, style mixing 0.9, no path-length regularization, ADA, FP32.

Droplets are learned over time: expect them after a few thousand kimg rather than in the short default run.

Examples:
  python scripts/demo_droplets.py --device cuda --kimg 200 --outdir droplets
  python scripts/demo_droplets.py --device cuda --kimg 3000 --outdir droplets-long
  python scripts/demo_droplets.py --device cpu --kimg 0.1 --batch 8 --cbase 256 --cmax 32 --outdir smoke  # smoke test
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import PIL.Image
import PIL.ImageDraw
import PIL.ImageFont
import torch

from stylegan.checkpoint import load, resolve_device
from stylegan.data.dataset import open_dataset
from stylegan.images import make_grid, to_uint8
from stylegan.latents import parse_seeds, seeds_to_z
from stylegan.train.loop import train
from stylegan.train.options import TrainOptions, resolve_config
from stylegan.train.rundir import create_run_dir, run_name, write_config

GENERATIONS = ("stylegan1", "stylegan2")


def train_generation(gen: str, args, dataset) -> Path:
    """One run with the shared settings; returns its last snapshot."""
    opts = TrainOptions(outdir=str(args.outdir / "runs"), data=args.data, cfg=gen, preset=args.preset, batch=args.batch,
                        cbase=args.cbase, cmax=args.cmax, map_depth=8, style_mixing=0.9, pl_weight=0.0,
                        kimg=args.kimg, tick=args.tick, snap=args.snap, seed=args.seed, fp32=True,
                        workers=args.workers, desc="droplets")
    cfg = resolve_config(opts, dataset.resolution, dataset.num_channels, dataset.label_dim)
    run_dir = create_run_dir(opts.outdir, run_name(cfg, dataset.name))
    write_config(run_dir, cfg, dataset)
    print(f"== training {gen} for {args.kimg} kimg in {run_dir}", flush=True)
    last = train(cfg, run_dir, device=args.device)
    if last is None:
        raise SystemExit(f"{gen}: training wrote no snapshot")
    return last


def side_by_side_grids(nets: dict[str, Path], seeds: list[int], device) -> np.ndarray:
    """The same seeds (noise const, psi 1) from each network, one labelled grid per network, left to right."""
    font = PIL.ImageFont.load_default()
    panels = []
    for label, path in nets.items():
        G = load(path, device=device)
        with torch.no_grad():
            img = G(seeds_to_z(seeds, G.z_dim, device), None, noise_mode="const")
        grid = make_grid(to_uint8(img), cols=int(np.ceil(np.sqrt(len(seeds)))), pad=2)
        panel = PIL.Image.new("RGB", (grid.shape[1], grid.shape[0] + 20), "white")
        panel.paste(PIL.Image.fromarray(grid), (0, 20))
        PIL.ImageDraw.Draw(panel).text((2, 4), label, fill="black", font=font)
        panels.append(np.asarray(panel))
    h = max(p.shape[0] for p in panels)
    gap = np.full([h, 16, 3], 255, np.uint8)
    row = [np.pad(p, [(0, h - p.shape[0]), (0, 0), (0, 0)], constant_values=255) for p in panels]
    return np.concatenate([x for p in row for x in (p, gap)][:-1], axis=1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kimg", type=float, default=200, help="training length of each run in kimg (default: 200)")
    p.add_argument("--device", default="auto", help="cpu | cuda | auto (default: auto)")
    p.add_argument("--outdir", type=Path, default=Path("droplets"), help="output folder (default: droplets)")
    p.add_argument("--data", default="builtin:emoji", help="dataset (default: builtin:emoji, 64x64)")
    p.add_argument("--preset", default="small", help="hyperparameter preset for both runs (default: small)")
    p.add_argument("--batch", type=int, help="batch size (default: from the preset)")
    p.add_argument("--cbase", type=int, help="channel base (default: from the preset)")
    p.add_argument("--cmax", type=int, help="max channels (default: from the preset)")
    p.add_argument("--tick", type=float, help="kimg per progress report (default: from the preset)")
    p.add_argument("--snap", type=int, help="ticks per snapshot (default: from the preset)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2, help="data loader processes (default: 2)")
    p.add_argument("--seeds", default="0-15", help="seeds for the grids and the analysis (default: 0-15)")
    args = p.parse_args(argv)
    device = resolve_device(args.device)
    args.outdir.mkdir(parents=True, exist_ok=True)

    dataset = open_dataset(args.data)
    nets = {gen: train_generation(gen, args, dataset) for gen in GENERATIONS}
    seeds = parse_seeds(args.seeds)
    PIL.Image.fromarray(side_by_side_grids(nets, seeds, device)).save(args.outdir / "grids.png")

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import feature_magnitudes

    nets_args = [a for gen, path in nets.items() for a in ("--network", str(path), "--label", gen)]
    feature_magnitudes.main([*nets_args, "--seeds", args.seeds, "--outdir", str(args.outdir),
                             "--device", str(device)])
    print(f"compare {args.outdir / 'grids.png'} and {args.outdir / 'spike_ratios.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
