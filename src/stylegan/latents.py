"""Seeds, latents and labels as the official tools define them, so "seed 3" is the same image everywhere."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from .errors import UserError

if TYPE_CHECKING:  # (torch is imported where it is used: the command line parses seeds without it.)
    import torch

MAX_SEED = 2**32 - 1


MAX_LIST = 10_000_000  # Seeds in one list: more than any run renders, few enough to hold in memory.


def parse_seeds(text: str) -> list[int]:
    """'0,3,5-9' -> [0, 3, 5, 6, 7, 8, 9] (ranges inclusive, order kept)."""
    seeds: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", part)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            if hi < lo:
                raise UserError(f"bad seed range {part!r}: end before start")
            if len(seeds) + hi - lo + 1 > MAX_LIST:  # Before building it: 0-4294967295 would need ~200 GB.
                raise UserError(f"seed list {text!r} is too long (more than {MAX_LIST:,} seeds)")
            seeds.extend(range(lo, hi + 1))
        elif re.fullmatch(r"\d+", part):
            seeds.append(int(part))
        else:
            raise UserError(f"bad seed list {text!r}: expected numbers and ranges like 0,3,5-9")
    for s in seeds:
        if s > MAX_SEED:
            raise UserError(f"seed {s} out of range 0..{MAX_SEED}")
    return seeds


def parse_int_list(text: str, what: str = "list") -> list[int]:
    """'0-6' or '0,2,4' -> ints (same syntax as seeds)."""
    try:
        return parse_seeds(text)
    except UserError:
        raise UserError(f"bad {what} {text!r}: expected numbers and ranges like 0,3,5-9") from None


MAX_MAGNITUDE = 1e6  # Bound on a user's psi, strength, translation, angle: ~1e20 already overflows float32 (NaNs).


def parse_float_list(text: str, what: str = "value") -> list[float]:
    try:
        return [float(v) for v in str(text).split(",")]  # (An empty item, as in '0,,1', is an error too.)
    except ValueError:
        raise UserError(f"bad {what} list {text!r}: expected comma-separated numbers") from None


def seed_to_z(seed: int, z_dim: int) -> np.ndarray:
    """z for a seed, exactly as the official gen_images.py: RandomState(seed).randn(1, z_dim), float64 [1, z_dim]."""
    return np.random.RandomState(seed).randn(1, z_dim)


def seeds_to_z(seeds: list[int], z_dim: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """[len(seeds), z_dim] float32."""
    import torch

    z = np.concatenate([seed_to_z(s, z_dim) for s in seeds]) if seeds else np.zeros([0, z_dim])
    return torch.from_numpy(z).to(device=device, dtype=torch.float32)


def class_to_c(class_idx: int | None, c_dim: int, n: int = 1, device: torch.device | str = "cpu") -> torch.Tensor:
    """One-hot labels [n, c_dim]; empty [n, 0] for unconditional networks. Validates the class index."""
    import torch

    c = torch.zeros([n, c_dim], device=device)
    if c_dim == 0:
        if class_idx is not None:
            raise UserError("--class given, but this network is unconditional")
        return c
    if class_idx is None:
        raise UserError(f"this network is conditional ({c_dim} classes): pass --class 0..{c_dim - 1}")
    if not 0 <= class_idx < c_dim:
        raise UserError(f"class {class_idx} out of range: this network has classes 0..{c_dim - 1}")
    c[:, class_idx] = 1
    return c
