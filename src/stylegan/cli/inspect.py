"""Print the provenance metadata of a PNG written by stylegan, or a summary of a network file.

Examples:
  stylegan inspect out/seed0003.png
  stylegan inspect network-snapshot-000100.safetensors
  stylegan inspect network-snapshot-000100.safetensors --flops    # + parameters and GFLOP per image of G and D
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import UserError

HELP = "show provenance of an image, or the config of a network file"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", metavar="FILE", help="a PNG, a .safetensors checkpoint or an official .pkl")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--flops", action="store_true",
                   help="networks: also count the parameters and the forward GFLOP per image of G_ema and D "
                        "(stylegan.flops: convolutions incl. FIR filters and matmuls, multiply-add = 2 FLOPs)")


def run(args) -> int:
    from ..models.official import is_official_pickle

    path = Path(args.path)
    if not path.is_file():
        what = "a folder; pass a network file or an image" if path.is_dir() else "no such file"
        raise UserError(f"{path}: {what}")
    if path.suffix.lower() == ".png":
        if args.flops:
            raise UserError(f"{path}: --flops needs a network file, not an image")
        from ..images import read_png_text

        try:
            info = read_png_text(path)
        except Exception:
            raise UserError(f"{path}: not a readable PNG") from None
    elif is_official_pickle(path):
        from ..checkpoint import model_id
        from ..models.official import load_official_pickle

        snap = load_official_pickle(path)
        if snap.G_ema is None:
            raise UserError(f"{path}: holds no G_ema")
        info = {"format": "official pickle", "model_id": model_id(snap.G_ema), "G_config": snap.G_ema.config.to_dict()}
        if args.flops:
            info.update(_size(snap.G_ema, snap.D))
    else:
        from ..checkpoint import read

        ck = read(path)
        info = {k.removeprefix("stylegan."): _maybe_json(v) for k, v in ck.metadata.items()}
        info["contents"] = [w for w in ("G_ema", "G", "D") if ck.has(w)]
        if args.flops:
            info.update(_size(ck.generator(), ck.discriminator() if "D" in info["contents"] else None))
    if args.json:
        print(json.dumps(info, indent=2, sort_keys=True))
    elif not info:
        print(f"{path}: no metadata")
    else:
        width = max(len(k) for k in info)
        for k, v in info.items():
            print(f"{k:<{width}}  {v if isinstance(v, str) else json.dumps(v)}")
    return 0


def _size(G, D) -> dict:
    """Parameters and forward GFLOP per image (batch 1, constant noise) of G and, if given, D."""
    from ..flops import discriminator_flops, generator_flops

    out = {"G_params": sum(p.numel() for p in G.parameters()), "G_GFLOP_per_image": _gflop(generator_flops(G))}
    if D is not None:
        out.update(D_params=sum(p.numel() for p in D.parameters()), D_GFLOP_per_image=_gflop(discriminator_flops(D)))
    return out


def _gflop(flops: int) -> float:
    return float(f"{flops / 1e9:.4g}")  # Four significant digits, also for tiny networks.


def _maybe_json(v: str):
    try:
        return json.loads(v)
    except (ValueError, TypeError):
        return v
