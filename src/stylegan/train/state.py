"""Snapshots of a run: `network-snapshot-KKKKKK.safetensors` (G_ema + G + D, our checkpoint format; KKKKKK is the
whole kimg, as the official names), `fakesKKKKKK.png`, and `training-state-KKKKKK[_III].pt` (optimizers, counters,
pl_mean, ADA, RNG; tensors and plain values only, so it loads with torch.load(weights_only=True); _III: the images
past the whole kimg). A snapshot whose whole-kimg name an earlier one of the run already has (ticks under 1 kimg, a
finished run resumed to a fractional --kimg) is named KKKKKK_III instead, so none replaces another, and names sort in
training order. The state records its network file's name and model id and is written first; resume takes the newest
pair that matches, so a crash between the two writes leaves the previous pair in place. Only the newest KEEP_STATES
states are kept; states past the one a run resumed from (whose pairs resume found damaged) go at its next snapshot,
so that they never take the place of good ones."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from .. import checkpoint
from ..files import atomic_path

_STATE_NAME = re.compile(r"training-state-(\d{6,})(?:[._](\d{3}))?\.pt")  # "." in the thirteenth session's names.
KEEP_STATES = 2  # Training states are large (optimizer moments); keep only the newest few.


def exact_id(nimg: int) -> str:
    """KKKKKK, or KKKKKK_III at a fractional kimg."""
    kimg, rest = divmod(nimg, 1000)
    return f"{kimg:06d}" + (f"_{rest:03d}" if rest else "")


def snapshot_id(run_dir: Path, nimg: int) -> str:
    """The id in the names of the network file and fakes grid of the snapshot at nimg: the whole kimg while free."""
    whole = f"{nimg // 1000:06d}"
    return whole if not (run_dir / network_name(whole)).exists() else exact_id(nimg)


def network_name(snapshot: str) -> str:
    return f"network-snapshot-{snapshot}.safetensors"


def state_name(nimg: int) -> str:
    return f"training-state-{exact_id(nimg)}.pt"


def _states(run_dir: Path) -> list[tuple[int, Path]]:
    """(nimg, path) of the run's training states, oldest first."""
    found = [(m, p) for p in run_dir.glob("training-state-*.pt") if (m := _STATE_NAME.fullmatch(p.name))]
    return sorted((int(m.group(1)) * 1000 + int(m.group(2) or 0), p) for m, p in found)


def save_snapshot(run_dir: Path, nimg: int, G_ema, G, D, state: dict, metadata: dict) -> Path:
    net_path = run_dir / network_name(snapshot_id(run_dir, nimg))
    state = {**state, "network": net_path.name, "model_id": checkpoint.model_id(G_ema)}
    with atomic_path(run_dir / state_name(nimg)) as tmp:  # First: see the module docstring.
        torch.save(state, tmp)
    checkpoint.save(G_ema, net_path, D=D, G_train=G, metadata=metadata)
    states = _states(run_dir)
    later = [path for n, path in states if n > nimg]  # Left by a resume that fell back past their damaged pairs.
    for old in later + [path for n, path in states if n <= nimg][:-KEEP_STATES]:
        old.unlink(missing_ok=True)
    return net_path


def load_state(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def latest_snapshot(run_dir: Path) -> tuple[Path, dict] | None:
    """Newest (network file, training state) pair whose model ids agree, or None."""
    for nimg, state_path in reversed(_states(run_dir)):
        try:
            state = load_state(state_path)
            names = [state["network"]] if "network" in state else [  # Older states: the name from nimg.
                network_name(exact_id(nimg)), network_name(f"{nimg // 1000:06d}")]
            for net_path in (run_dir / name for name in names):
                if net_path.is_file() and checkpoint.read(net_path).model_id == state.get("model_id"):
                    return net_path, state
        except Exception:  # A damaged pair: fall back to an older one.
            continue
    return None
