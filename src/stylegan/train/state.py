"""Snapshots of a run: `network-snapshot-KKKKKK.safetensors` (G_ema + G + D, our checkpoint format) and
`training-state-KKKKKK.pt` (optimizers, counters, pl_mean, ADA, RNG; tensors and plain values only, so it loads
with torch.load(weights_only=True)). The state names the model id of its network file; resume takes the newest
pair that matches, so a crash between the two writes falls back to the previous complete snapshot."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from .. import checkpoint
from ..files import atomic_path

NET = "network-snapshot-{kimg:06d}.safetensors"
STATE = "training-state-{kimg:06d}.pt"
KEEP_STATES = 2  # Training states are large (optimizer moments); keep only the newest few.


def save_snapshot(run_dir: Path, kimg: int, G_ema, G, D, state: dict, metadata: dict) -> Path:
    net_path = run_dir / NET.format(kimg=kimg)
    state = {**state, "model_id": checkpoint.model_id(G_ema)}
    with atomic_path(run_dir / STATE.format(kimg=kimg)) as tmp:
        torch.save(state, tmp)
    checkpoint.save(G_ema, net_path, D=D, G_train=G, metadata=metadata)
    for old in sorted(run_dir.glob("training-state-*.pt"))[:-KEEP_STATES]:
        old.unlink(missing_ok=True)
    return net_path


def load_state(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def latest_snapshot(run_dir: Path) -> tuple[Path, dict] | None:
    """Newest (network file, training state) pair whose model ids agree, or None."""
    for state_path in sorted(run_dir.glob("training-state-*.pt"), reverse=True):
        kimg = int(re.search(r"(\d+)\.pt$", state_path.name).group(1))
        net_path = run_dir / NET.format(kimg=kimg)
        if not net_path.is_file():
            continue
        try:
            state = load_state(state_path)
            if checkpoint.read(net_path).model_id == state.get("model_id"):
                return net_path, state
        except Exception:  # A damaged pair: fall back to an older one.
            continue
    return None
