"""Generate images from seeds. `z` for seed s is numpy.random.RandomState(s).randn(1, z_dim), as in the official
tools, so seed 3 is the same image here and there. Each PNG carries provenance (see `stylegan inspect`).

Examples:
  stylegan generate --network model.safetensors --seeds 0-7 --outdir out
  stylegan generate --network network-snapshot.pkl --seeds 0,5,9 --trunc 0.7 --grid --outdir out
  stylegan generate --network cond.safetensors --seeds 0-3 --class 2 --noise-mode none --outdir out
  stylegan generate --network stylegan3.safetensors --seeds 0 --translate 0.1,0 --rotate 15 --outdir out
  stylegan generate --network model.safetensors --projected-w proj/projected_w.npz --outdir out
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from ..errors import UserError
from .common import (add_device_argument, add_network_argument, finite_float, load_network, output_dir,
                     parse_nonempty_seeds)

HELP = "generate images from seeds"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_network_argument(p)
    p.add_argument("--seeds", default=None, metavar="LIST", help="seeds, e.g. 0-7 or 0,3,5-9")
    p.add_argument("--projected-w", default=None, metavar="FILE.npz",
                   help="render the ws saved by `stylegan project` (key w, [N, num_ws, w_dim]) as projNN.png instead")
    p.add_argument("--trunc", type=finite_float, default=1.0, metavar="PSI", help="truncation psi (default: 1)")
    p.add_argument("--trunc-cutoff", type=int, default=None, metavar="N",
                   help="truncate only the first N ws (default: all)")
    p.add_argument("--noise-mode", choices=["const", "random", "none"], default="const",
                   help="per-pixel noise (default: const)")
    p.add_argument("--class", dest="class_idx", type=int, default=None, metavar="K",
                   help="class index for conditional networks")
    p.add_argument("--outdir", type=output_dir, required=True, metavar="DIR", help="where to write seedNNNN.png")
    p.add_argument("--grid", action="store_true", help="also write grid.png with all images")
    p.add_argument("--batch", type=int, default=8, metavar="N", help="images per forward pass (default: 8)")
    p.add_argument("--translate", type=_xy, default=None, metavar="X,Y",
                   help="StyleGAN3 only: translate the output, in image widths (default: the network's own transform)")
    p.add_argument("--rotate", type=finite_float, default=None, metavar="DEG",
                   help="StyleGAN3 only: rotate the output by DEG degrees (default: the network's own transform)")
    add_device_argument(p)


PROGRESS_FROM = 16  # Seeds: fewer are quick enough to need no progress bar.


def run(args) -> int:
    from ..generate import generate_images
    from ..progress import progress_bar
    from ..files import make_output_dir
    from ..images import make_grid, provenance, save_png
    from ..latents import class_to_c

    if args.projected_w is not None:
        return run_projected(args)
    if args.seeds is None:
        raise UserError("pass --seeds (or --projected-w FILE.npz)")
    seeds = parse_nonempty_seeds(args.seeds)
    if args.batch < 1:
        raise UserError(f"--batch must be >= 1, got {args.batch}")
    G = load_network(args.network, args.device)
    transform = apply_transform_args(G, args)
    class_to_c(args.class_idx, G.c_dim)  # Validate before rendering anything.
    if args.trunc_cutoff is not None and not 0 <= args.trunc_cutoff <= G.num_ws:
        raise UserError(f"--trunc-cutoff must be in 0..{G.num_ws} for this network, got {args.trunc_cutoff}")
    outdir = make_output_dir(args.outdir)  # Before rendering: a folder that cannot be made is a one-line error.
    images = []
    rendered = generate_images(G, seeds, args.trunc, args.trunc_cutoff, args.noise_mode, args.class_idx, args.batch)
    for seed, img in progress_bar(rendered, total=len(seeds), desc="generate", unit="img",
                                  enabled=len(seeds) > PROGRESS_FROM):
        text = provenance(model_id=G.model_id, seed=seed, truncation_psi=args.trunc,
                          truncation_cutoff=args.trunc_cutoff, noise_mode=args.noise_mode, **{"class": args.class_idx},
                          **transform)
        save_png(outdir / f"seed{seed:04d}.png", img, text)
        images.append(img)
    print(f"wrote {len(set(seeds))} image(s) to {outdir}")  # (A repeated seed rewrites its file.)
    if args.grid:
        cols = math.ceil(math.sqrt(len(images)))
        text = provenance(model_id=G.model_id, seeds=args.seeds, truncation_psi=args.trunc,
                          truncation_cutoff=args.trunc_cutoff, noise_mode=args.noise_mode, **{"class": args.class_idx},
                          **transform)
        save_png(outdir / "grid.png", make_grid(np.stack(images), cols), text)
        print(f"wrote {outdir / 'grid.png'}")
    return 0


def run_projected(args) -> int:
    """Render ws from a projected_w.npz (with its fitted noise maps when present), as the official generate.py."""
    from ..edit.latent_file import load_projected_w
    from ..edit.project import set_noise
    from ..edit.render import render_ws
    from ..images import provenance, save_png
    from .common import warn

    if args.seeds is not None:
        warn("--seeds is ignored with --projected-w")
    G = load_network(args.network, args.device)
    ws, noise = load_projected_w(args.projected_w, G)
    if noise is not None:
        set_noise(G, noise)
    outdir = Path(args.outdir)
    for i, img in enumerate(render_ws(G, ws, args.noise_mode, args.batch)):
        text = provenance(model_id=G.model_id, projected_w=Path(args.projected_w).name, index=i,
                          noise_mode=args.noise_mode)
        save_png(outdir / f"proj{i:02d}.png", img, text)
    print(f"wrote {len(ws)} image(s) to {outdir}")
    return 0


def _xy(text: str) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected X,Y (e.g. 0.1,-0.2), got {text!r}")
    return finite_float(parts[0]), finite_float(parts[1])


def apply_transform_args(G, args) -> dict[str, str]:
    """--translate/--rotate -> G's input transform (official gen_images convention); returns provenance fields."""
    if args.translate is None and args.rotate is None:
        return {}
    from ..models.synthesis_v3 import has_input_transform, set_input_transform

    if not has_input_transform(G):
        raise UserError(f"--translate/--rotate need a StyleGAN3 network; this {G.config.arch} network has no input "
                        "transform")
    translate, rotate = args.translate or (0.0, 0.0), args.rotate or 0.0
    set_input_transform(G, translate, rotate)
    return {"translate": f"{translate[0]:g},{translate[1]:g}", "rotate": f"{rotate:g}"}
