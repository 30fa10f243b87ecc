"""Style mixing (StyleGAN §3.1, Fig. 3): each cell is the row seed's image with the ws listed in --styles taken
from the column seed. As the official style_mixing.py: truncation w_avg + psi (w - w_avg) first, then
w[styles] = w_col[styles]; writes {row}-{col}.png per cell and grid.png with the sources as header row/column.

--styles takes w indices (0-6, 0,2,4) or the names coarse | middle | fine (combinable: coarse,middle). The names
follow the StyleGAN paper's split of an 18-w network (coarse 0-3 = 4²-8², middle 4-7 = 16²-32², fine 8-17),
scaled to the network's num_ws: a = max(1, round(num_ws*4/18)), b = max(a+1, round(num_ws*8/18)),
coarse = [0, a), middle = [a, b), fine = [b, num_ws). `stylegan mix ... --styles coarse` prints the ranges used.

Examples:
  stylegan mix --network ffhq.safetensors --rows 85,100,75 --cols 55,821,1789 --styles 0-6 --outdir mix
  stylegan mix --network model.safetensors --rows 0-3 --cols 4-7 --styles fine --trunc 0.7 --outdir mix
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UserError
from .common import (add_device_argument, add_network_argument, add_rendering_arguments, load_rendering_network,
                     output_dir)

HELP = "style-mixing grid: rows x cols seeds with chosen layers from the columns"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_network_argument(p)
    p.add_argument("--rows", required=True, metavar="SEEDS", help="seeds of the rows (they give the other ws)")
    p.add_argument("--cols", required=True, metavar="SEEDS", help="seeds of the columns (they give --styles)")
    p.add_argument("--styles", default="coarse", metavar="LAYERS",
                   help="w indices (0-6) or coarse|middle|fine taken from the columns (default: coarse)")
    add_rendering_arguments(p)
    p.add_argument("--outdir", type=output_dir, required=True, metavar="DIR",
                   help="where to write grid.png and {row}-{col}.png")
    add_device_argument(p)


def run(args) -> int:
    from ..edit.layers import describe_groups, parse_layers
    from ..edit.mixing import style_mixing_grid
    from ..edit.render import seeds_to_ws
    from ..images import provenance, save_png
    from ..latents import parse_seeds

    rows, cols = parse_seeds(args.rows), parse_seeds(args.cols)
    if not rows or not cols:
        raise UserError("--rows and --cols need at least one seed each")
    G = load_rendering_network(args)
    styles = parse_layers(args.styles, G.num_ws)
    print(f"num_ws {G.num_ws} ({describe_groups(G.num_ws)}); taking ws {styles} from the columns")
    ws = seeds_to_ws(G, rows + cols, psi=args.trunc, class_idx=args.class_idx)
    mix = style_mixing_grid(G, ws[: len(rows)], ws[len(rows):], styles, args.noise_mode)
    outdir = Path(args.outdir)
    common = dict(model_id=G.model_id, truncation_psi=args.trunc, noise_mode=args.noise_mode, styles=styles,
                  **{"class": args.class_idx})
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            save_png(outdir / f"{r}-{c}.png", mix.cells[i, j], provenance(row_seed=r, col_seed=c, **common))
    save_png(outdir / "grid.png", mix.grid(), provenance(rows=args.rows, cols=args.cols, **common))
    print(f"wrote {outdir / 'grid.png'} and {len(rows) * len(cols)} cells")
    return 0
