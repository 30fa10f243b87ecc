"""Print the provenance metadata of a PNG written by stylegan, or a summary of a network file.

Examples:
  stylegan inspect out/seed0003.png
  stylegan inspect network-snapshot-000100.safetensors
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


def run(args) -> int:
    path = Path(args.path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    if path.suffix.lower() == ".png":
        from ..images import read_png_text

        try:
            info = read_png_text(path)
        except Exception:
            raise UserError(f"{path}: not a readable PNG") from None
    elif path.suffix.lower() == ".pkl":
        from ..checkpoint import load

        G = load(path)
        info = {"format": "official pickle", "model_id": G.model_id, "G_config": G.config.to_dict()}
    else:
        from ..checkpoint import read

        ck = read(path)
        info = {k.removeprefix("stylegan."): _maybe_json(v) for k, v in ck.metadata.items()}
        info["contents"] = [w for w in ("G_ema", "G", "D") if ck.has(w)]
    if args.json:
        print(json.dumps(info, indent=2, sort_keys=True))
    elif not info:
        print(f"{path}: no metadata")
    else:
        width = max(len(k) for k in info)
        for k, v in info.items():
            print(f"{k:<{width}}  {v if isinstance(v, str) else json.dumps(v)}")
    return 0


def _maybe_json(v: str):
    try:
        return json.loads(v)
    except (ValueError, TypeError):
        return v
