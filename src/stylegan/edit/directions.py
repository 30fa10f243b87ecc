"""Label-free semantic directions in W, and applying them.

SeFa (Shen & Zhou 2021, "Closed-Form Factorization of Latent Semantics in GANs", Eq. 5): a direction n that
changes the styles s = A w of the chosen layers most is an eigenvector of AᵀA with a large eigenvalue, where A
stacks the style-affine weights of those layers. Like the authors' release we scale each output channel's weight
row to unit length first, so wide layers do not outvote narrow ones. Strength is in units of w (unit vectors).

GANSpace (Härkönen et al. 2020, §2): PCA of sampled w = M(z); the principal axes are the directions and edits are
measured in units of each axis's standard deviation σ_k.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from ..files import atomic_path, read_npz
from ..latents import class_to_c
from .layers import style_affines
from .render import device_of, render_ws, seeds_to_ws

METHODS = ("sefa", "ganspace")


@dataclass
class Directions:
    method: str  # "sefa" | "ganspace"
    directions: torch.Tensor  # [K, w_dim], orthonormal rows, most important first.
    values: torch.Tensor  # [K] eigenvalues (SeFa: of AᵀA; GANSpace: variances).
    scales: torch.Tensor  # [K] length of a unit of strength (SeFa: 1; GANSpace: σ_k).
    layers: list[int]  # w indices the directions belong to; edits apply there by default.

    def __len__(self) -> int:
        return self.directions.shape[0]


def _top_eigenvectors(M: torch.Tensor, num: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Largest `num` eigenpairs of a symmetric matrix: (values [num], vectors as rows [num, D])."""
    values, vectors = torch.linalg.eigh(M.to(torch.float64))  # Ascending.
    order = values.flip(0)[:num], vectors.flip(1)[:, :num].T
    return order[0].to(torch.float32), order[1].to(torch.float32).contiguous()


@torch.no_grad()
def sefa(G, layers: list[int], num: int = 10, normalize_rows: bool = True) -> Directions:
    """SeFa directions from the style affines that read the ws in `layers` (Eq. 5: eigenvectors of AᵀA)."""
    if not 1 <= num <= G.w_dim:
        raise UserError(f"--num must be in 1..{G.w_dim} (w_dim), got {num}")
    chosen = [a for a in style_affines(G.synthesis, G.num_ws, G.w_dim) if a.w_index in set(layers)]
    if not chosen:
        raise UserError(f"no style affines read ws {layers} in this network")
    A = torch.cat([a.module.weight.detach().to(torch.float64) * a.module.weight_gain for a in chosen])  # [ΣC, w_dim]
    if normalize_rows:
        A = A / A.norm(dim=1, keepdim=True).clamp_min(1e-12)
    values, vectors = _top_eigenvectors(A.T @ A, num)
    return Directions("sefa", vectors, values, torch.ones(num), sorted(set(layers)))


@torch.no_grad()
def ganspace(G, num: int = 10, num_samples: int = 10000, seed: int = 0, class_idx: int | None = None,
             batch_size: int = 1000) -> Directions:
    """GANSpace directions: principal axes of w = M(z) for `num_samples` z ~ N(0, I) from `seed`."""
    if not 1 <= num <= G.w_dim:
        raise UserError(f"--num must be in 1..{G.w_dim} (w_dim), got {num}")
    if num_samples <= num:  # n samples span at most n - 1 directions.
        raise UserError(f"--samples must be more than --num ({num}), got {num_samples}")
    device = device_of(G)
    rng = np.random.RandomState(seed)
    ws = []
    for i in range(0, num_samples, batch_size):
        n = min(batch_size, num_samples - i)
        z = torch.from_numpy(rng.randn(n, G.z_dim)).to(device, torch.float32)
        ws.append(G.mapping(z, class_to_c(class_idx, G.c_dim, n, device))[:, 0].to(torch.float64))
    w = torch.cat(ws)  # [N, w_dim]
    w = w - w.mean(dim=0, keepdim=True)
    values, vectors = _top_eigenvectors(w.T @ w / (num_samples - 1), num)
    return Directions("ganspace", vectors, values, values.clamp_min(0).sqrt(), list(range(G.num_ws)))


def apply_direction(ws: torch.Tensor, direction: torch.Tensor, strength: float, layers: list[int]) -> torch.Tensor:
    """ws [N, num_ws, w_dim] moved by strength * direction [w_dim] at the w indices in `layers`."""
    ws = ws.clone()
    ws[:, layers] += strength * direction.to(ws)
    return ws


@torch.no_grad()
def edit_grid(G, seeds: list[int], dirs: Directions, index: int, strengths: list[float], layers: list[int],
              psi: float = 1.0, noise_mode: str = "const", class_idx: int | None = None) -> np.ndarray:
    """uint8 [len(seeds), len(strengths), H, W, C]: seed i moved along direction `index` by strength j."""
    if not 0 <= index < len(dirs):
        raise UserError(f"--index {index} out of range: the file holds directions 0..{len(dirs) - 1}")
    ws = seeds_to_ws(G, seeds, psi=psi, class_idx=class_idx)
    step = dirs.directions[index] * dirs.scales[index]
    edited = torch.stack([apply_direction(ws, step, s, layers) for s in strengths], dim=1)
    images = render_ws(G, edited.flatten(0, 1), noise_mode)
    return images.reshape(len(seeds), len(strengths), *images.shape[1:])


def save_directions(path: str | Path, dirs: Directions, model_id: str = "") -> None:
    arrays = {"method": np.array(dirs.method), "directions": dirs.directions.cpu().numpy(),
              "values": dirs.values.cpu().numpy(), "scales": dirs.scales.cpu().numpy(),
              "layers": np.array(dirs.layers, dtype=np.int64), "model_id": np.array(model_id)}
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def load_directions(path: str | Path, w_dim: int, num_ws: int, model_id: str | None = None) -> Directions:
    """Read a directions .npz (allow_pickle=False), checking it fits a network with this w_dim and num_ws; warns
    if it records another network's `model_id` (directions of one network mean nothing in another's W)."""
    path = Path(path)
    data = read_npz(path)
    stored = str(data.get("model_id", ""))
    if model_id and stored and stored != model_id:
        warnings.warn(f"{path}: computed for another network (model id {stored[:12]}…, this one {model_id[:12]}…)",
                      stacklevel=2)
    d = data.get("directions")
    if d is None or d.ndim != 2 or d.shape[1] != w_dim or d.shape[0] < 1:
        shape = "missing" if d is None else f"shape {list(d.shape)}"
        raise UserError(f"{path}: 'directions' is {shape}, this network needs [K, {w_dim}] (from stylegan directions)")
    K = d.shape[0]
    scales = data.get("scales", np.ones(K))
    layers = [int(i) for i in data.get("layers", np.arange(num_ws))]
    if scales.shape != (K,) or any(not 0 <= i < num_ws for i in layers):
        raise UserError(f"{path}: its scales/layers do not fit this network (num_ws={num_ws})")
    return Directions(str(data.get("method", "unknown")), torch.from_numpy(d.astype(np.float32)),
                      torch.from_numpy(data.get("values", np.zeros(K)).astype(np.float32)),
                      torch.from_numpy(scales.astype(np.float32)), layers)
