"""Which ws a name or index list refers to (coarse / middle / fine), and which style affines read which w.

Coarse / middle / fine follow StyleGAN (Karras et al. 2019, §3.1 and Fig. 3): for the 18 ws of a 1024² network,
coarse = the 4²–8² layers (ws 0–3), middle = 16²–32² (ws 4–7), fine = 64²–1024² (ws 8–17). Every other network
gets the same proportions of its num_ws, so the rule depends on num_ws only and works for every generation:

    a = max(1, round(num_ws * 4 / 18)),  b = max(a + 1, round(num_ws * 8 / 18))
    coarse = [0, a),  middle = [a, b),  fine = [b, num_ws)

e.g. num_ws 18 -> 0-3 | 4-7 | 8-17;  16 (StyleGAN3, or StyleGAN2 at 512²) -> 0-3 | 4-6 | 7-15;
14 (256²) -> 0-2 | 3-5 | 6-13;  6 (16²) -> 0 | 1-2 | 3-5.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import UserError
from ..latents import parse_int_list
from ..nn import EqualizedLinear

GROUP_NAMES = ("coarse", "middle", "fine")


def layer_groups(num_ws: int) -> dict[str, list[int]]:
    """{"coarse": [...], "middle": [...], "fine": [...]}: w indices by the rule in the module docstring."""
    if num_ws < 3:
        raise ValueError(f"coarse/middle/fine needs at least 3 ws, got num_ws={num_ws}")
    a = max(1, round(num_ws * 4 / 18))
    b = min(num_ws - 1, max(a + 1, round(num_ws * 8 / 18)))
    return {"coarse": list(range(a)), "middle": list(range(a, b)), "fine": list(range(b, num_ws))}


def parse_layers(text: str, num_ws: int) -> list[int]:
    """'coarse', 'middle,fine', 'all', '0-6' or '0,2,4' -> sorted unique w indices, validated against num_ws."""
    text = str(text).strip().lower()
    if text == "all":
        return list(range(num_ws))
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise UserError("empty layer list: expected coarse, middle, fine, all or indices like 0-6")
    if all(p in GROUP_NAMES for p in parts):
        groups = layer_groups(num_ws)
        return sorted({i for p in parts for i in groups[p]})
    if not all(re.fullmatch(r"\d+(\s*-\s*\d+)?", p) for p in parts):
        bad = next(p for p in parts if p not in GROUP_NAMES and not re.fullmatch(r"\d+(\s*-\s*\d+)?", p))
        raise UserError(f"unknown layer name {bad!r}: expected coarse, middle, fine, all or indices like 0-6")
    idx = parse_int_list(text, "layer list")
    bad = [i for i in idx if i >= num_ws]
    if bad:
        raise UserError(f"layer {bad[0]} out of range: this network has ws 0..{num_ws - 1} (num_ws={num_ws})")
    return sorted(set(idx))


def describe_groups(num_ws: int) -> str:
    """'coarse 0-3, middle 4-7, fine 8-17' for help texts and pages."""
    def span(ix: list[int]) -> str:
        return f"{ix[0]}-{ix[-1]}" if len(ix) > 1 else str(ix[0])

    return ", ".join(f"{name} {span(ix)}" for name, ix in layer_groups(num_ws).items())


@dataclass(frozen=True)
class StyleAffine:
    name: str  # Module path inside G.synthesis, e.g. "b8.conv0.affine" (for display only).
    w_index: int  # Which of the num_ws ws this affine reads.
    module: EqualizedLinear


@torch.no_grad()
def style_affines(synthesis: nn.Module, num_ws: int, w_dim: int) -> list[StyleAffine]:
    """Every `affine` EqualizedLinear reachable from the synthesis network, in forward order, with its w index.

    Found by walking modules, then tracing one forward pass with distinct ws: each affine's input row tells which
    w it reads. This works for every generation without knowing how its blocks slice ws.
    """
    candidates = {m.affine: f"{name}.affine" if name else "affine" for name, m in synthesis.named_modules()
                  if isinstance(getattr(m, "affine", None), EqualizedLinear)}
    device = next(synthesis.parameters()).device
    gen = torch.Generator().manual_seed(0)
    ws = torch.randn([1, num_ws, w_dim], generator=gen).to(device)
    seen: list[StyleAffine] = []

    def hook(module, inputs, _output):
        w = inputs[0].detach().to(torch.float32)[0]
        dist = (ws[0] - w.to(device)).abs().amax(dim=1)
        if module in candidates and not any(s.module is module for s in seen):
            seen.append(StyleAffine(candidates[module], int(dist.argmin()), module))

    handles = [m.register_forward_hook(hook) for m in candidates]
    try:
        synthesis(ws, noise_mode="const", force_fp32=True)
    finally:
        for h in handles:
            h.remove()
    return seen
