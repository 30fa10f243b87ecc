"""Snapshots of a run: `network-snapshot-KKKKKK.safetensors` (G_ema + G + D, our checkpoint format; KKKKKK is the
whole kimg, as the official names) and `training-state-KKKKKK[.III].pt` (optimizers, counters, pl_mean, ADA, RNG;
tensors and plain values only, so it loads with torch.load(weights_only=True); .III is the kimg's fraction in images
when there is one, so states never share a name). The state records the model id of its network file and is written
first; resume takes the newest pair that matches. A crash between the two writes therefore leaves the previous
network file in place and its state beside it, even when the new network would have replaced it (ticks under 1 kimg
give several snapshots the same network name)."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from .. import checkpoint
from ..files import atomic_path

NET = "network-snapshot-{kimg:06d}.safetensors"
_STATE_NAME = re.compile(r"training-state-(\d{6,})(?:\.(\d{3}))?\.pt")
KEEP_STATES = 2  # Training states are large (optimizer moments); keep only the newest few.


def state_name(nimg: int) -> str:
    kimg, rest = divmod(nimg, 1000)
    return f"training-state-{kimg:06d}" + (f".{rest:03d}" if rest else "") + ".pt"


def _states(run_dir: Path) -> list[tuple[int, Path]]:
    """(nimg, path) of the run's training states, oldest first."""
    found = [(m, p) for p in run_dir.glob("training-state-*.pt") if (m := _STATE_NAME.fullmatch(p.name))]
    return sorted((int(m.group(1)) * 1000 + int(m.group(2) or 0), p) for m, p in found)


def save_snapshot(run_dir: Path, nimg: int, G_ema, G, D, state: dict, metadata: dict) -> Path:
    net_path = run_dir / NET.format(kimg=nimg // 1000)
    state = {**state, "model_id": checkpoint.model_id(G_ema)}
    with atomic_path(run_dir / state_name(nimg)) as tmp:  # First: see the module docstring.
        torch.save(state, tmp)
    checkpoint.save(G_ema, net_path, D=D, G_train=G, metadata=metadata)
    for _, old in _states(run_dir)[:-KEEP_STATES]:
        old.unlink(missing_ok=True)
    return net_path


def load_state(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def latest_snapshot(run_dir: Path) -> tuple[Path, dict] | None:
    """Newest (network file, training state) pair whose model ids agree, or None."""
    for nimg, state_path in reversed(_states(run_dir)):
        net_path = run_dir / NET.format(kimg=nimg // 1000)
        if not net_path.is_file():
            continue
        try:
            state = load_state(state_path)
            if checkpoint.read(net_path).model_id == state.get("model_id"):
                return net_path, state
        except Exception:  # A damaged pair: fall back to an older one.
            continue
    return None
