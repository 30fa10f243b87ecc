"""Building a run's networks: from scratch, from a snapshot of this run (resume), or from other weights
(transfer learning: our snapshot or an official pickle), with Freeze-D."""

from __future__ import annotations

import copy
from pathlib import Path

import torch

from .. import checkpoint
from ..errors import UserError
from ..models import Discriminator, Generator
from ..nn import perf
from .config import TrainConfig
from .phases import Nets


def build_nets(cfg: TrainConfig, device: torch.device) -> Nets:
    if device.type == "cpu":
        perf.tune_cpu_allocator()  # Reuse freed activation memory instead of page-faulting fresh maps (same results).
    elif device.type == "cuda":
        perf.configure_cuda(tf32=perf.speed().tf32)  # cuDNN autotuning; TF32 only if STYLEGAN_TF32=1.
    torch.manual_seed(cfg.seed)  # Identical initial weights on every process.
    G = Generator(cfg.G).train().requires_grad_(False).to(device)
    D = Discriminator(cfg.D).train().requires_grad_(False).to(device)
    G_ema = copy.deepcopy(G).eval()
    augment = None
    if cfg.aug != "noaug":
        from .augment import AugmentPipe, augment_config

        augment = AugmentPipe(augment_config(cfg.augpipe)).train().requires_grad_(False).to(device)
        augment.p.fill_(cfg.p)
    return Nets(G=G, D=D, G_ema=G_ema, augment=augment)


def load_run_snapshot(n: Nets, net_path: Path) -> None:
    """Restore G, D, G_ema exactly from one of this run's snapshots."""
    ck = checkpoint.read(net_path)
    for name, module in (("G_ema", n.G_ema), ("G", n.G), ("D", n.D)):
        module.load_state_dict(ck.state_dict(name))


def load_transfer_weights(n: Nets, path: str) -> dict:
    """Start from other weights: G, D and G_ema from our snapshot (G falls back to G_ema) or an official pickle.

    The networks were built from the checkpoint's own configs (see `transfer_configs`), so shapes agree."""
    src = source_networks(path)
    n.G.load_state_dict((src["G"] or src["G_ema"]).state_dict())
    n.G_ema.load_state_dict(src["G_ema"].state_dict())
    if src["D"] is not None:
        n.D.load_state_dict(src["D"].state_dict())
    return {"augment_p": src["augment_p"], "has_D": src["D"] is not None}


def source_networks(path: str) -> dict:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"--resume {path}: no such file or run directory")
    from ..models.official import is_official_pickle, load_official_pickle

    if is_official_pickle(p):
        s = load_official_pickle(p)
        if s.G_ema is None and s.G is None:
            raise UserError(f"{p}: holds no generator")
        return {"G": s.G, "G_ema": s.G_ema or s.G, "D": s.D, "augment_p": s.augment_p}
    ck = checkpoint.read(p)
    return {"G": ck.generator("G") if ck.has("G") else None, "G_ema": ck.generator("G_ema"),
            "D": ck.discriminator() if ck.has("D") else None, "augment_p": None}


def frozen_layers(D: Discriminator, freezed: int) -> list[torch.nn.Module]:
    """Freeze-D (Mo et al. 2020): the first `freezed` layers from the input side."""
    layers = D.layers()
    if freezed > len(layers):
        raise UserError(f"--freezed {freezed}: this discriminator has only {len(layers)} layers")
    return layers[:freezed]


def check_freezed(cfg: TrainConfig) -> None:
    """--freezed against the discriminator `cfg` describes: a UserError before a run directory exists, not after."""
    frozen_layers(Discriminator(cfg.D), cfg.freezed)


def trainable_D_params(D: Discriminator, freezed: int) -> list[torch.nn.Parameter]:
    frozen = {id(p) for layer in frozen_layers(D, freezed) for p in layer.parameters()}
    return [p for p in D.parameters() if id(p) not in frozen]
