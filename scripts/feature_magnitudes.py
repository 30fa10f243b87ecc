"""Plot per-layer feature-map spike ratios of one or more generators, to show StyleGAN's "droplet" artifacts.

For each network: render the seeds, record every synthesis layer's channel-averaged |activation| map
(stylegan.models.inspect_features), and write into OUTDIR
  spike_ratios.png          one panel per network: per layer, the mean (bar) and max (tick) over seeds of
                            peak / mean |activation| on a log scale; droplets show as tall bars in middle/high layers;
  worst_layer_LABEL.png     the image next to the magnitude map of the layer and seed with the largest ratio;
  feature_magnitudes.json   the numbers.

Examples:
  python scripts/feature_magnitudes.py --network sg1.safetensors --network sg2.safetensors \
      --label stylegan1 --label stylegan2 --seeds 0-7 --outdir droplets
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import PIL.Image
import PIL.ImageDraw
import PIL.ImageFont
import torch

from stylegan.checkpoint import load, resolve_device
from stylegan.images import to_uint8
from stylegan.latents import class_to_c, parse_seeds, seeds_to_z
from stylegan.models.inspect_features import record_feature_magnitudes, worst_layer

BAR_W, GAP, PANEL_H, MARGIN_L, MARGIN_B, MARGIN_T = 22, 6, 220, 56, 34, 26
COLORS = [(200, 60, 40), (40, 100, 200), (60, 150, 60), (150, 80, 170)]


def analyze(G, seeds: list[int], psi: float, noise_mode: str, class_idx: int | None, device) -> dict:
    """Render the seeds and summarize every layer; returns plain data (plus the tensors needed for drawing)."""
    z = seeds_to_z(seeds, G.z_dim, device)
    c = class_to_c(class_idx, G.c_dim, len(seeds), device)
    img, layers = record_feature_magnitudes(G, z, c, truncation_psi=psi, noise_mode=noise_mode)
    li, si = worst_layer(layers)
    summary = [{"name": layer.name, "resolution": layer.resolution,
                "spike_ratio_mean": float(layer.spike_ratio.mean()), "spike_ratio_max": float(layer.spike_ratio.max())}
               for layer in layers]
    return {"layers": summary, "worst": {"layer": layers[li].name, "seed": seeds[si],
                                         "spike_ratio": float(layers[li].spike_ratio[si])},
            "_image": to_uint8(img[si: si + 1])[0], "_map": layers[li].magnitude[si].numpy(),
            "_resolution": layers[li].resolution}


def _font():
    return PIL.ImageFont.load_default()


def draw_spike_ratios(results: dict[str, dict]) -> PIL.Image.Image:
    """One panel per network, shared log10 y axis; bars = mean over seeds, ticks = max over seeds."""
    top = max(layer["spike_ratio_max"] for r in results.values() for layer in r["layers"])
    ymax = max(1.0, math.ceil(math.log10(max(top, 10.0)) * 2) / 2)  # Decades, rounded up to half a decade.
    n_layers = max(len(r["layers"]) for r in results.values())
    width = max(MARGIN_L + n_layers * (BAR_W + GAP) + 20, 420)
    canvas = PIL.Image.new("RGB", (width, len(results) * (PANEL_H + MARGIN_B + MARGIN_T)), "white")
    d, font = PIL.ImageDraw.Draw(canvas), _font()
    for p, (label, r) in enumerate(results.items()):
        y0 = p * (PANEL_H + MARGIN_B + MARGIN_T) + MARGIN_T  # Top of the plot area.
        yb = y0 + PANEL_H  # Baseline (ratio 1).
        to_y = lambda v: yb - PANEL_H * min(math.log10(max(v, 1.0)) / ymax, 1.0)  # noqa: E731
        d.text((MARGIN_L, y0 - 20), f"{label}: peak / mean |activation| per layer (log scale)", fill="black", font=font)
        for k in range(int(ymax * 2) + 1):  # Grid line every half decade.
            v = 10 ** (k / 2)
            d.line([(MARGIN_L - 4, to_y(v)), (width - 10, to_y(v))], fill=(225, 225, 225) if k % 2 else (190,) * 3)
            if k % 2 == 0:
                d.text((4, to_y(v) - 6), f"{v:g}", fill="black", font=font)
        color = COLORS[p % len(COLORS)]
        for i, layer in enumerate(r["layers"]):
            x = MARGIN_L + i * (BAR_W + GAP)
            d.rectangle([x, to_y(layer["spike_ratio_mean"]), x + BAR_W, yb], fill=color)
            ym = to_y(layer["spike_ratio_max"])
            d.line([(x, ym), (x + BAR_W, ym)], fill="black", width=2)
            d.text((x + 2, yb + 4), str(layer["resolution"]), fill="black", font=font)
        d.line([(MARGIN_L - 4, yb), (width - 10, yb)], fill="black")
        d.text((MARGIN_L, yb + 18), "layers by resolution; bar: mean over seeds, tick: max", fill=(90,) * 3, font=font)
    return canvas


def heatmap(m: np.ndarray) -> np.ndarray:
    """[H, W] >= 0 -> [H, W, 3] uint8, black -> red -> yellow -> white, scaled to the map's maximum."""
    t = np.clip(m / max(float(m.max()), 1e-12), 0, 1)
    rgb = np.stack([np.clip(3 * t, 0, 1), np.clip(3 * t - 1, 0, 1), np.clip(3 * t - 2, 0, 1)], axis=-1)
    return (rgb * 255).astype(np.uint8)


def draw_worst_layer(label: str, r: dict, size: int = 256) -> PIL.Image.Image:
    img = PIL.Image.fromarray(r["_image"].squeeze(-1) if r["_image"].shape[-1] == 1 else r["_image"])
    hm = PIL.Image.fromarray(heatmap(r["_map"]))
    canvas = PIL.Image.new("RGB", (2 * size + 30, size + 40), "white")
    canvas.paste(img.convert("RGB").resize((size, size), PIL.Image.NEAREST), (10, 30))
    canvas.paste(hm.resize((size, size), PIL.Image.NEAREST), (size + 20, 30))
    w, res = r["worst"], r["_resolution"]
    PIL.ImageDraw.Draw(canvas).text(
        (10, 8), f"{label}  seed {w['seed']}  |  {w['layer']} ({res}x{res}) mean |activation|, "
                 f"peak/mean {w['spike_ratio']:.1f}", fill="black", font=_font())
    return canvas


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--network", action="append", required=True, metavar="PATH", help="network file (repeatable)")
    p.add_argument("--label", action="append", metavar="STR", help="name per network (default: file name)")
    p.add_argument("--seeds", default="0-7", help="seeds to render (default: 0-7)")
    p.add_argument("--trunc", type=float, default=1.0, help="truncation psi (default: 1)")
    p.add_argument("--noise-mode", default="const", choices=["const", "random", "none"], help="(default: const)")
    p.add_argument("--class", dest="class_idx", type=int, help="class index for conditional networks")
    p.add_argument("--outdir", required=True, metavar="DIR")
    p.add_argument("--device", default="auto", help="cpu | cuda | auto (default: auto)")
    args = p.parse_args(argv)
    labels = args.label or [Path(n).stem for n in args.network]
    if len(labels) != len(args.network):
        p.error("give one --label per --network")
    torch.set_num_threads(min(torch.get_num_threads(), 4))
    device = resolve_device(args.device)
    seeds = parse_seeds(args.seeds)
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    results = {}
    for label, path in zip(labels, args.network):
        G = load(path, device=device)
        results[label] = analyze(G, seeds, args.trunc, args.noise_mode, args.class_idx, device)
        results[label]["network"] = str(path)
        results[label]["arch"] = G.config.arch
        draw_worst_layer(label, results[label]).save(outdir / f"worst_layer_{label}.png")
        w = results[label]["worst"]
        print(f"{label} ({G.config.arch}): worst layer {w['layer']}, seed {w['seed']}, "
              f"peak/mean {w['spike_ratio']:.1f}")
    draw_spike_ratios(results).save(outdir / "spike_ratios.png")
    clean = {k: {kk: vv for kk, vv in r.items() if not kk.startswith("_")} for k, r in results.items()}
    (outdir / "feature_magnitudes.json").write_text(json.dumps(clean, indent=2))
    print(f"wrote {outdir / 'spike_ratios.png'}, worst_layer_*.png and feature_magnitudes.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
