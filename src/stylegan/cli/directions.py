"""Find label-free semantic directions in W and save them for `stylegan edit`.

--method sefa (Shen & Zhou 2021): closed form, no sampling: the top eigenvectors of AᵀA, where A stacks the
style-affine weights of the layers in --layers (all | coarse | middle | fine | indices; see `stylegan mix --help`
for the groups). Directions of coarse layers tend to change pose and shape, of fine layers colour and texture.
--method ganspace (Härkönen et al. 2020): PCA of --samples mapped latents w; strength is in standard deviations.

Output .npz: directions [num, w_dim] (orthonormal rows, most important first), values, scales, layers, method,
model_id.

Examples:
  stylegan directions --network model.safetensors --method sefa --num 10 --out dirs.npz
  stylegan directions --network model.safetensors --method sefa --layers coarse --num 5 --out pose.npz
  stylegan directions --network model.safetensors --method ganspace --samples 100000 --num 20 --out pca.npz
"""

from __future__ import annotations

import argparse

from ..errors import UserError
from .common import add_device_argument, add_network_argument, load_network, output_file

HELP = "compute semantic directions (SeFa or GANSpace)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_network_argument(p)
    p.add_argument("--method", choices=["sefa", "ganspace"], default="sefa", help="(default: sefa)")
    p.add_argument("--num", type=int, default=10, metavar="N", help="number of directions (default: 10)")
    p.add_argument("--layers", default="all", metavar="LAYERS",
                   help="sefa: ws whose style affines are factorized (all, coarse, middle, fine, 0-3; default: all)")
    p.add_argument("--samples", type=int, default=10000, metavar="N", help="ganspace: sampled ws (default: 10000)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="ganspace: sampling seed (default: 0)")
    p.add_argument("--class", dest="class_idx", type=int, default=None, metavar="K", help="ganspace: class to sample")
    p.add_argument("--out", type=output_file(".npz"), required=True, metavar="FILE", help="output .npz")
    add_device_argument(p)


def run(args) -> int:
    from ..edit.directions import ganspace, save_directions, sefa
    from ..edit.layers import parse_layers

    G = load_network(args.network, args.device)
    if args.method == "sefa":
        if args.class_idx is not None:
            raise UserError("--class applies to ganspace; sefa directions come from the weights alone")
        dirs = sefa(G, parse_layers(args.layers, G.num_ws), args.num)
    else:
        if args.layers != "all":
            raise UserError("--layers applies to sefa; ganspace directions use all ws (choose layers in `edit`)")
        dirs = ganspace(G, args.num, args.samples, args.seed, args.class_idx)
    save_directions(args.out, dirs, G.model_id)
    top = ", ".join(f"{v:.3g}" for v in dirs.values[:5].tolist())
    print(f"wrote {args.out}: {len(dirs)} {args.method} directions for ws {dirs.layers} (top values: {top})")
    return 0
