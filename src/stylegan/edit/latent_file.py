"""projected_w.npz, the official projector's output: key `w` float32 [N, num_ws, w_dim].

We also store the fitted noise maps as `noise_00`, `noise_01`, ... (forward order of the synthesis network's
`noise_const` buffers) so the projection re-renders exactly; the official generate.py ignores extra keys.
Files are read with allow_pickle=False.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from ..files import atomic_path, read_npz
from .project import noise_buffers


def save_projected_w(path: str | Path, ws: torch.Tensor, noise: list[torch.Tensor] | None = None) -> None:
    arrays = {"w": ws.detach().to("cpu", torch.float32).numpy()}
    for i, n in enumerate(noise or []):
        arrays[f"noise_{i:02d}"] = n.detach().to("cpu", torch.float32).numpy()
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def load_projected_w(path: str | Path, G) -> tuple[torch.Tensor, list[torch.Tensor] | None]:
    """(ws [N, num_ws, w_dim] on G's device, noise maps or None). Validates the shape against G."""
    path = Path(path)
    arrays = read_npz(path)
    if "w" not in arrays:
        raise UserError(f"{path}: has no array 'w' (found: {', '.join(sorted(arrays)) or 'nothing'})")
    w = arrays["w"]
    if w.ndim != 3 or tuple(w.shape[1:]) != (G.num_ws, G.w_dim) or w.shape[0] < 1:
        raise UserError(f"{path}: 'w' has shape {list(w.shape)}, this network needs [N, {G.num_ws}, {G.w_dim}]")
    if not np.issubdtype(w.dtype, np.floating) or not np.isfinite(w).all():
        raise UserError(f"{path}: 'w' must hold finite floating-point numbers")
    device = next(G.parameters()).device
    ws = torch.from_numpy(w.astype(np.float32)).to(device)
    names = sorted(k for k in arrays if k.startswith("noise_"))
    if not names:
        return ws, None
    bufs = noise_buffers(G)
    if len(names) != len(bufs) or any(arrays[k].shape != tuple(b.shape) for k, b in zip(names, bufs)):
        print(f"warning: {path}: its noise maps do not fit this network; using the network's own", file=sys.stderr)
        return ws, None
    return ws, [torch.from_numpy(arrays[k].astype(np.float32)).to(device) for k in names]
