"""Move seeds along a saved direction (from `stylegan directions`): a grid with one row per seed and one column
per strength. ws' = ws + strength * scale * direction at the ws in --layers (default: the layers the directions
were computed for); scale is 1 for SeFa and the standard deviation along the axis for GANSpace.
Writes grid.png and seed{SEED:04d}-s{STRENGTH}.png per cell.

Examples:
  stylegan edit --network model.safetensors --seeds 0-3 --directions dirs.npz --index 0 --strength -3,0,3 --outdir e
  stylegan edit --network model.safetensors --seeds 5 --directions pca.npz --index 2 --strength -2,-1,0,1,2 \\
      --layers coarse --outdir e
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import (add_device_argument, add_network_argument, add_rendering_arguments, load_rendering_network,
                     number_for_name, output_dir, parse_nonempty_seeds)
from .truncation import accept_negative_lists, parse_finite_list

HELP = "edit seeds along a semantic direction"


def add_arguments(p: argparse.ArgumentParser) -> None:
    accept_negative_lists(p)
    add_network_argument(p)
    p.add_argument("--seeds", required=True, metavar="LIST", help="seeds to edit")
    p.add_argument("--directions", required=True, metavar="FILE", help=".npz from `stylegan directions`")
    p.add_argument("--index", type=int, default=0, metavar="K", help="which direction (default: 0, the strongest)")
    p.add_argument("--strength", default="-3,0,3", metavar="LIST", help="strengths (default: -3,0,3)")
    p.add_argument("--layers", default=None, metavar="LAYERS", help="ws to move (coarse|middle|fine|all|0-3)")
    add_rendering_arguments(p)
    p.add_argument("--outdir", type=output_dir, required=True, metavar="DIR",
                   help="where to write grid.png and the cells")
    add_device_argument(p)


def run(args) -> int:
    from ..edit.directions import edit_grid, load_directions
    from ..edit.layers import parse_layers
    from ..edit.render import header_grid
    from ..images import provenance, save_png

    seeds = parse_nonempty_seeds(args.seeds)
    strengths = parse_finite_list(args.strength, "--strength")
    G = load_rendering_network(args)
    dirs = load_directions(args.directions, G.w_dim, G.num_ws, G.model_id)
    layers = parse_layers(args.layers, G.num_ws) if args.layers else dirs.layers
    cells = edit_grid(G, seeds, dirs, args.index, strengths, layers, args.trunc, args.noise_mode, args.class_idx)
    outdir = Path(args.outdir)
    common = dict(model_id=G.model_id, directions=Path(args.directions).name, method=dirs.method, index=args.index,
                  layers=layers, truncation_psi=args.trunc, noise_mode=args.noise_mode, **{"class": args.class_idx})
    for i, seed in enumerate(seeds):
        for j, s in enumerate(strengths):
            save_png(outdir / f"seed{seed:04d}-s{number_for_name(s)}.png", cells[i, j],
                     provenance(seed=seed, strength=s, **common))
    save_png(outdir / "grid.png", header_grid(cells, None, None), provenance(seeds=args.seeds, strength=args.strength,
                                                                            **common))
    print(f"wrote {outdir / 'grid.png'} ({len(seeds)} seeds x {len(strengths)} strengths, {dirs.method} "
          f"direction {args.index}, ws {layers})")
    return 0
