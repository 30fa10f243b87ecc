"""Truncation sweep: each seed rendered with each psi (w' = w_avg + psi (w - w_avg), StyleGAN §3). psi = 1 is the
untruncated image, psi = 0 the average image, negative psi the "opposite" of the seed.

Writes grid.png (rows: seeds, columns: psi values) and seed{SEED:04d}-psi{PSI}.png for each cell.

Examples:
  stylegan truncation --network model.safetensors --seeds 0-7 --psi -1,-0.5,0,0.5,0.7,1 --outdir trunc
  stylegan truncation --network sg3.safetensors --seeds 3,5 --psi 0,0.5,1 --trunc-cutoff 8 --outdir trunc
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from ..errors import UserError
from .common import (add_device_argument, add_network_argument, add_rendering_arguments, load_rendering_network,
                     number_for_name, output_dir, parse_nonempty_seeds)

HELP = "render a seeds x psi truncation grid"


def accept_negative_lists(p: argparse.ArgumentParser) -> None:
    """Let values such as `--psi -1,-0.5` start with a minus sign (Python >= 3.13 does this by itself)."""
    p._negative_number_matcher = re.compile(r"^-\.?\d")


def add_arguments(p: argparse.ArgumentParser) -> None:
    accept_negative_lists(p)
    add_network_argument(p)
    p.add_argument("--seeds", required=True, metavar="LIST", help="seeds, e.g. 0-7 or 0,3,5-9")
    p.add_argument("--psi", default="-1,-0.5,0,0.5,0.7,1", metavar="LIST",
                   help="comma-separated psi values (default: -1,-0.5,0,0.5,0.7,1)")
    p.add_argument("--trunc-cutoff", type=int, default=None, metavar="N", help="truncate only the first N ws")
    add_rendering_arguments(p, trunc=False)
    p.add_argument("--outdir", type=output_dir, required=True, metavar="DIR",
                   help="where to write grid.png and the cells")
    add_device_argument(p)


def parse_finite_list(text: str, flag: str) -> list[float]:
    import math

    from ..latents import MAX_MAGNITUDE, parse_float_list

    values = parse_float_list(text, flag)
    if not values or not all(math.isfinite(v) and abs(v) <= MAX_MAGNITUDE for v in values):
        raise UserError(f"bad {flag} list {text!r}: expected comma-separated finite numbers within +-{MAX_MAGNITUDE:g}")
    return values


def run(args) -> int:
    from ..edit.render import header_grid, seeds_to_ws
    from ..edit.truncation import truncation_sweep
    from ..images import provenance, save_png

    seeds = parse_nonempty_seeds(args.seeds)
    psis = parse_finite_list(args.psi, "--psi")
    G = load_rendering_network(args)
    if args.trunc_cutoff is not None and not 0 <= args.trunc_cutoff <= G.num_ws:
        raise UserError(f"--trunc-cutoff must be in 0..{G.num_ws} for this network, got {args.trunc_cutoff}")
    ws = seeds_to_ws(G, seeds, class_idx=args.class_idx)
    cells = truncation_sweep(G, ws, psis, args.noise_mode, args.trunc_cutoff)
    outdir = Path(args.outdir)
    common = dict(model_id=G.model_id, truncation_cutoff=args.trunc_cutoff, noise_mode=args.noise_mode,
                  **{"class": args.class_idx})
    for i, seed in enumerate(seeds):
        for j, psi in enumerate(psis):
            save_png(outdir / f"seed{seed:04d}-psi{number_for_name(psi)}.png", cells[i, j],
                     provenance(seed=seed, truncation_psi=psi, **common))
    save_png(outdir / "grid.png", header_grid(cells, None, None), provenance(seeds=args.seeds, psi=args.psi, **common))
    n_cells = cells.shape[0] * cells.shape[1]
    print(f"wrote {outdir / 'grid.png'} ({len(seeds)} seeds x {len(psis)} psi values) and {n_cells} cells")
    return 0
