"""Convert an official StyleGAN snapshot pickle to our .safetensors format, without executing code from the pickle.

Reads pickles from both stylegan2-ada-pytorch and the stylegan3 repository. Only an allow-list of globals is
resolved; the embedded module source is never run. By default the output holds G_ema (for inference); use
--which all to keep G, D and G_ema (for fine-tuning with `stylegan train --resume`).

Examples:
  stylegan convert network-snapshot-000120.pkl ffhq.safetensors
  stylegan convert network-snapshot-000120.pkl d.safetensors --which D
  stylegan convert network-snapshot-000120.pkl all.safetensors --which all
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import UserError
from .common import output_file

HELP = "convert an official .pkl to our .safetensors (safely)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("src", metavar="SRC.pkl", help="official network snapshot pickle")
    p.add_argument("dst", type=output_file(".safetensors"), metavar="DST.safetensors", help="output file")
    p.add_argument("--which", choices=["G_ema", "G", "D", "all"], default="G_ema",
                   help="which network(s) to write (default: G_ema; D comes with G_ema, which every checkpoint "
                        "holds; all = G_ema, G and D)")


def run(args) -> int:
    from ..checkpoint import save
    from ..models.official import load_official_pickle

    src = Path(args.src)
    if not src.is_file():
        raise UserError(f"{src}: " + ("is a folder, not a network file" if src.is_dir() else "no such file"))
    snap = load_official_pickle(src)
    meta = {"source": f"official pickle ({snap.writer})", "source_file": src.name}
    if snap.training_set_kwargs:
        meta["training_set_kwargs"] = json.dumps(snap.training_set_kwargs)
    if snap.augment_p is not None:
        meta["augment_p"] = repr(snap.augment_p)
    if args.which == "D":
        if snap.D is None:
            raise UserError(f"{src}: holds no D")
        # A D-only file still needs a generator entry to be a valid checkpoint; store G_ema (or G) beside D.
        G = snap.G_ema or snap.G
        model_id = save(G, args.dst, D=snap.D, metadata=meta)
    else:
        G = snap.G_ema if args.which in ("G_ema", "all") else snap.G
        if G is None:
            raise UserError(f"{src}: holds no {args.which}")
        kw = dict(D=snap.D, G_train=snap.G) if args.which == "all" else {}
        model_id = save(G, args.dst, metadata=meta, **kw)
    print(f"wrote {args.dst} (model id {model_id[:16]}…, {G.config.arch}, {G.img_resolution}x{G.img_resolution})")
    return 0
