"""Our checkpoint format: one .safetensors file, weights as tensors and configs as JSON metadata. Never pickle.

Tensor names are `G_ema.<key>` (the generator used for inference), and optionally `G.<key>` (the raw training
generator) and `D.<key>`. Metadata (all strings): `stylegan.format` (FORMAT_VERSION), `stylegan.G_config` and
`stylegan.D_config` (JSON), `stylegan.model_id` (sha256 of the G_ema tensors, see `model_id`), `stylegan.version`,
plus any caller-supplied `stylegan.*` entries (e.g. training progress).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import safetensors
import safetensors.torch
import torch
from torch import nn

from .errors import UserError
from .files import atomic_path
from .models import Discriminator, DiscriminatorConfig, Generator, GeneratorConfig

FORMAT_VERSION = "1"


class CheckpointError(UserError):
    """The file is not a stylegan checkpoint we can read."""


def model_id(G: nn.Module) -> str:
    """sha256 over the generator's tensors (sorted names, dtype, shape, bytes): identical weights, identical id."""
    h = hashlib.sha256()
    for k, v in sorted(G.state_dict().items()):
        v = v.detach().to("cpu").contiguous()
        h.update(f"{k}|{v.dtype}|{list(v.shape)}|".encode())
        h.update(v.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def save(
    G: Generator,  # The generator for inference (G_ema during training).
    path: str | Path,
    *,
    D: Discriminator | None = None,
    G_train: Generator | None = None,  # The raw (non-EMA) training generator, for resuming/fine-tuning.
    metadata: dict[str, str] | None = None,  # Extra entries; keys are prefixed with "stylegan." if not already.
) -> str:
    """Write a checkpoint atomically; returns the model id."""
    tensors = {f"G_ema.{k}": v for k, v in G.state_dict().items()}
    meta = {"stylegan.format": FORMAT_VERSION, "stylegan.G_config": G.config.to_json(),
            "stylegan.model_id": model_id(G)}
    if G_train is not None:
        tensors.update({f"G.{k}": v for k, v in G_train.state_dict().items()})
    if D is not None:
        tensors.update({f"D.{k}": v for k, v in D.state_dict().items()})
        meta["stylegan.D_config"] = D.config.to_json()
    from . import __version__

    meta["stylegan.version"] = __version__
    for k, v in (metadata or {}).items():
        meta[k if k.startswith("stylegan.") else f"stylegan.{k}"] = v if isinstance(v, str) else json.dumps(v)
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        safetensors.torch.save_file(tensors, str(tmp), metadata=meta)
    return meta["stylegan.model_id"]


@dataclass
class Checkpoint:
    path: Path
    metadata: dict[str, str]
    tensors: dict[str, torch.Tensor] = field(repr=False)

    @property
    def model_id(self) -> str:
        return self.metadata.get("stylegan.model_id", "")

    def has(self, which: str) -> bool:
        return any(k.startswith(which + ".") for k in self.tensors)

    def state_dict(self, which: str) -> dict[str, torch.Tensor]:
        prefix = which + "."
        return {k[len(prefix):]: v for k, v in self.tensors.items() if k.startswith(prefix)}

    def generator(self, which: str = "G_ema") -> Generator:
        if not self.has(which):
            raise CheckpointError(f"{self.path}: holds no {which} weights")
        G = self._build(Generator, GeneratorConfig, "stylegan.G_config")
        _load_strict(G, self.state_dict(which), self.path)
        return G

    def discriminator(self) -> Discriminator:
        if not self.has("D") or "stylegan.D_config" not in self.metadata:
            raise CheckpointError(f"{self.path}: holds no discriminator")
        D = self._build(Discriminator, DiscriminatorConfig, "stylegan.D_config")
        _load_strict(D, self.state_dict("D"), self.path)
        return D

    def _build(self, network_cls, config_cls, key: str) -> nn.Module:
        """The network its stored JSON config describes; a CheckpointError naming the file if the config is bad."""
        try:
            return network_cls(config_cls.from_dict(json.loads(self.metadata[key])))
        except (ValueError, TypeError, KeyError, AttributeError, AssertionError) as e:
            raise CheckpointError(f"{self.path}: invalid {key} ({type(e).__name__}: {str(e)[:200]})") from None


def _load_strict(module: nn.Module, sd: dict[str, torch.Tensor], path: Path) -> None:
    try:
        module.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[:2]
        raise CheckpointError(f"{path}: weights do not match the stored config ({' '.join(first)[:300]})") from None


def read(path: str | Path) -> Checkpoint:
    """Read a checkpoint (no networks built yet)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    try:
        with safetensors.safe_open(str(path), framework="pt") as f:
            meta = dict(sorted((f.metadata() or {}).items()))  # (safetensors gives them in no fixed order.)
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:
        raise CheckpointError(f"{path}: not a safetensors file ({type(e).__name__})") from None
    if "stylegan.format" not in meta or "stylegan.G_config" not in meta:
        raise CheckpointError(f"{path}: a safetensors file, but not a stylegan checkpoint (no stylegan metadata)")
    if meta["stylegan.format"] != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format {meta['stylegan.format']!r} is not supported "
                              f"(this version reads format {FORMAT_VERSION})")
    return Checkpoint(path=path, metadata=meta, tensors=tensors)


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """'auto'/None -> cuda if available, else mps, else cpu. Validates explicit choices."""
    if device is None or str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise UserError(f"unknown device {str(device)!r} (expected cpu, cuda, cuda:N, mps or auto)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda requested, but no CUDA device is available")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UserError("--device mps requested, but MPS is not available")
    return dev


def load(path: str | Path, device: str | torch.device | None = "cpu", which: str = "G_ema") -> Generator:
    """Load a generator ready for inference (eval mode, no grad) from our .safetensors or an official .pkl.

    `G.model_id` and `G.metadata` are set. `which` picks G_ema (default) or G.
    """
    from .models.official import is_official_pickle, load_official_pickle

    if which not in ("G_ema", "G"):
        raise ValueError(f"which must be 'G_ema' or 'G' (a generator), got {which!r}")
    path = Path(path)
    if is_official_pickle(path):
        snap = load_official_pickle(path)
        G = getattr(snap, which, None)
        if G is None:
            raise CheckpointError(f"{path}: holds no {which}")
        meta = {"stylegan.source": "official-pickle", "stylegan.writer": snap.writer}
    else:
        ckpt = read(path)
        G = ckpt.generator(which)
        meta = ckpt.metadata
    G.model_id = model_id(G)  # Of the weights as read: a stored id is only checked against it.
    stored = meta.get("stylegan.model_id")
    if stored and which == "G_ema" and stored != G.model_id:
        warnings.warn(f"{path}: the stored model id {stored[:12]}… does not match the weights' ({G.model_id[:12]}…): "
                      "the file was changed after it was written; using the weights' id", stacklevel=2)
    bad = sum(int((~torch.isfinite(t)).sum()) for t in G.state_dict().values() if t.is_floating_point())
    if bad:
        warnings.warn(f"{path}: {bad} of the {which} weights are NaN or infinite (did its training diverge?); its "
                      "images will be blank or noise", stacklevel=2)
    G = G.to(resolve_device(device)).eval().requires_grad_(False)
    G.metadata = meta
    return G
