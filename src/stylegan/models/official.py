"""Import of official NVlabs networks: constructor kwargs -> our configs, state_dicts, and snapshot pickles.

Two official code bases write these files: stylegan2-ada-pytorch (`training/networks.py`, nested `synthesis_kwargs`)
and the stylegan3 repository (`training/networks_stylegan2.py` / `networks_stylegan3.py`, flat kwargs). Their
class defaults differ (e.g. conv_clamp None vs 256), so missing kwargs are filled with the defaults of the writer.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from .config import (DiscriminatorConfig, GeneratorConfig, MappingConfig, StyleGAN2SynthesisConfig,
                     StyleGAN3RSynthesisConfig, StyleGAN3SynthesisConfig)
from .discriminator import Discriminator
from .generator import Generator
from .safe_pickle import PersistentStub, UnsafePickleError, flatten_state_dict, safe_load


class OfficialFormatError(ValueError):
    """The file is readable but is not an official network we understand."""


# Keyword arguments that only affect speed or memory layout in the official code.
_IGNORED_KWARGS = {"fused_modconv_default", "fp16_channels_last", "channels_last", "use_fp16", "epochs"}
_SG2ADA = "stylegan2-ada-pytorch"
_SG3REPO = "stylegan3"


def _mapping_config(kw: dict, writer: str) -> MappingConfig:
    kw = dict(kw)
    kw.pop("activation", None) if kw.get("activation", "lrelu") == "lrelu" else None
    known = {"num_layers", "lr_multiplier", "w_avg_beta", "embed_features", "layer_features"}
    _check_unknown(kw, known, "mapping_kwargs")
    default_beta = 0.995 if writer == _SG2ADA else 0.998
    return MappingConfig(
        num_layers=int(kw.get("num_layers", 8)), lr_multiplier=float(kw.get("lr_multiplier", 0.01)),
        w_avg_beta=kw.get("w_avg_beta", default_beta), embed_features=kw.get("embed_features"),
        layer_features=kw.get("layer_features"),
    )


def _check_unknown(kw: dict, known: set, where: str) -> None:
    unknown = set(kw) - known - _IGNORED_KWARGS
    if unknown:
        raise OfficialFormatError(f"unsupported official {where}: {', '.join(sorted(unknown))}")


def _stylegan2_synthesis(kw: dict, writer: str) -> StyleGAN2SynthesisConfig:
    kw = dict(kw)
    for k, v in (("activation", "lrelu"), ("kernel_size", 3)):
        if kw.pop(k, v) != v:
            raise OfficialFormatError(f"unsupported official synthesis {k}")
    known = {f.name for f in dataclasses.fields(StyleGAN2SynthesisConfig)}
    _check_unknown(kw, known, "synthesis kwargs")
    defaults = dict(num_fp16_res=0, conv_clamp=None) if writer == _SG2ADA else dict(num_fp16_res=4, conv_clamp=256)
    kw = {**defaults, **{k: v for k, v in kw.items() if k in known}}
    if "resample_filter" in kw:
        kw["resample_filter"] = tuple(kw["resample_filter"])
    return StyleGAN2SynthesisConfig(**kw)


def _stylegan3_synthesis(kw: dict, writer: str) -> StyleGAN3SynthesisConfig:
    # Missing kwargs take the official class defaults, which are the -T ones even for -R networks.
    fields = {f.name: f for f in dataclasses.fields(StyleGAN3SynthesisConfig)}
    _check_unknown(kw, set(fields), "StyleGAN3 synthesis kwargs")
    cfg = dataclasses.asdict(StyleGAN3SynthesisConfig())
    for k, v in kw.items():
        if k in fields:  # numpy scalars -> plain Python numbers of the field's type.
            kind = str(fields[k].type).split(" ")[0]
            cfg[k] = v if v is None or kind == "bool" else (int(v) if kind == "int" else float(v))
    cls = StyleGAN3RSynthesisConfig if cfg["use_radial_filters"] else StyleGAN3SynthesisConfig
    return cls(**cfg)


# arch -> function(synthesis kwargs, writer) -> synthesis config.
OFFICIAL_SYNTHESIS_CONVERTERS: dict[str, Callable[[dict, str], object]] = {
    "stylegan2": _stylegan2_synthesis, "stylegan3-t": _stylegan3_synthesis, "stylegan3-r": _stylegan3_synthesis}


def generator_config_from_official(init_kwargs: dict, arch: str = "stylegan2", writer: str | None = None):
    """Official Generator constructor kwargs -> GeneratorConfig."""
    kw = dict(init_kwargs)
    writer = writer or (_SG2ADA if "synthesis_kwargs" in kw else _SG3REPO)
    synthesis_kw = dict(kw.pop("synthesis_kwargs", {}))
    mapping_kw = dict(kw.pop("mapping_kwargs", {}))
    if arch.startswith("stylegan3"):
        mapping_kw.setdefault("num_layers", 2)  # The StyleGAN3 MappingNetwork class default.
    top = {k: kw.pop(k) for k in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels") if k in kw}
    synthesis_kw.update(kw)  # stylegan3 repo: synthesis kwargs are flat.
    return GeneratorConfig(arch=arch, **{k: int(v) for k, v in top.items()},
                           mapping=_mapping_config(mapping_kw, writer),
                           synthesis=OFFICIAL_SYNTHESIS_CONVERTERS[arch](synthesis_kw, writer))


def discriminator_config_from_official(init_kwargs: dict, writer: str = _SG3REPO) -> DiscriminatorConfig:
    kw = dict(init_kwargs)
    block_kw = dict(kw.pop("block_kwargs", {}) or {})
    block_kw.pop("freeze_layers", None)  # Freeze-D is a training choice, not part of the network.
    mapping_kw = dict(kw.pop("mapping_kwargs", {}) or {})
    epilogue_kw = dict(kw.pop("epilogue_kwargs", {}) or {})
    _check_unknown(block_kw, set(), "D block_kwargs")
    _check_unknown(mapping_kw, {"num_layers"}, "D mapping_kwargs")
    _check_unknown(epilogue_kw, {"mbstd_group_size", "mbstd_num_channels"}, "D epilogue_kwargs")
    known = {"c_dim", "img_resolution", "img_channels", "architecture", "channel_base", "channel_max",
             "num_fp16_res", "conv_clamp", "cmap_dim"}
    _check_unknown(kw, known, "Discriminator kwargs")
    defaults = dict(num_fp16_res=0, conv_clamp=None) if writer == _SG2ADA else dict(num_fp16_res=4, conv_clamp=256)
    kw = {**defaults, **{k: v for k, v in kw.items() if k in known}}
    return DiscriminatorConfig(**kw, mbstd_group_size=epilogue_kw.get("mbstd_group_size", 4),
                               mbstd_num_channels=epilogue_kw.get("mbstd_num_channels", 1),
                               mapping_layers=mapping_kw.get("num_layers", 8))


def load_official_state_dict(module: nn.Module, state_dict: dict[str, torch.Tensor]) -> None:
    """Copy an official state_dict into our module; official constant buffers we recompute are dropped."""
    ours = module.state_dict()
    sd = {k: v for k, v in state_dict.items() if k in ours or not _is_derived_buffer(k)}
    missing = sorted(set(ours) - set(sd))
    unexpected = sorted(set(sd) - set(ours))
    if missing or unexpected:
        raise OfficialFormatError(f"state_dict mismatch: missing {missing[:5]}, unexpected {unexpected[:5]}")
    for k, v in sd.items():
        if ours[k].shape != v.shape:
            raise OfficialFormatError(f"shape mismatch at {k}: ours {list(ours[k].shape)}, file {list(v.shape)}")
    module.load_state_dict(sd)


def _is_derived_buffer(key: str) -> bool:
    # Filters that the official code stores but that are pure functions of the config.
    return key.rsplit(".", 1)[-1] in {"resample_filter", "up_filter", "down_filter", "Hz_geom", "Hz_fbank"}


def generator_arch(stub: PersistentStub) -> str:
    synthesis = stub.child("synthesis")
    if synthesis is not None and synthesis.child("input") is not None:
        kw = stub.init_kwargs
        return "stylegan3-r" if kw.get("use_radial_filters", False) else "stylegan3-t"
    return "stylegan2"


def generator_from_stub(stub: PersistentStub) -> Generator:
    if stub.class_name != "Generator":
        raise OfficialFormatError(f"expected an official Generator, found {stub.class_name}")
    arch = generator_arch(stub)
    G = Generator(generator_config_from_official(stub.init_kwargs, arch=arch))
    load_official_state_dict(G, flatten_state_dict(stub))
    return G.eval().requires_grad_(False)


def discriminator_from_stub(stub: PersistentStub, writer: str) -> Discriminator:
    if stub.class_name != "Discriminator":
        raise OfficialFormatError(f"expected an official Discriminator, found {stub.class_name}")
    D = Discriminator(discriminator_config_from_official(stub.init_kwargs, writer))
    load_official_state_dict(D, flatten_state_dict(stub))
    return D.eval().requires_grad_(False)


@dataclass
class OfficialSnapshot:
    G: Generator | None
    D: Discriminator | None
    G_ema: Generator | None
    augment_p: float | None  # ADA probability at the time of the snapshot (augment_pipe.p), None without ADA.
    augment_kwargs: dict | None  # The AugmentPipe's constructor kwargs (which ops were enabled).
    training_set_kwargs: dict | None
    writer: str  # "stylegan2-ada-pytorch" or "stylegan3".


def starts_like_pickle(path: str | Path) -> bool:
    """Whether the file begins with the PROTO opcode of pickle protocol 2-5 (every official snapshot does)."""
    try:
        with open(path, "rb") as f:
            head = f.read(2)
    except OSError:
        return False
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def is_official_pickle(path: str | Path) -> bool:
    """A .pkl name, or pickle bytes under another name (a snapshot saved as .pt, .bin, or without a suffix)."""
    return Path(path).suffix.lower() == ".pkl" or starts_like_pickle(path)


def load_official_pickle(path: str | Path) -> OfficialSnapshot:
    """Read an official network-snapshot-*.pkl without executing anything from it."""
    path = Path(path)
    if path.is_file() and not starts_like_pickle(path):
        raise OfficialFormatError(f"{path}: not a pickle file (official snapshots begin with pickle's protocol "
                                  f"header)")
    try:
        with open(path, "rb") as f:
            data = safe_load(f)
    except UnsafePickleError as e:
        raise UnsafePickleError(f"{path}: {e}") from None
    except Exception as e:  # Truncated or not a pickle at all.
        raise OfficialFormatError(f"{path}: not a readable StyleGAN pickle ({type(e).__name__}: {e})") from None
    if isinstance(data, tuple):
        raise OfficialFormatError(f"{path}: TensorFlow-era pickle (G, D, Gs); convert it with the official legacy.py "
                                  "first, or use a PyTorch snapshot")
    if not isinstance(data, dict) or not any(isinstance(data.get(k), PersistentStub) for k in ("G", "D", "G_ema")):
        raise OfficialFormatError(f"{path}: not an official StyleGAN snapshot (no G/D/G_ema networks inside)")
    first = next(data[k] for k in ("G_ema", "G", "D") if isinstance(data.get(k), PersistentStub))
    writer = _SG2ADA if "synthesis_kwargs" in first.init_kwargs or list(data)[0] == "training_set_kwargs" else _SG3REPO
    pipe = data.get("augment_pipe")
    augment_p = augment_kwargs = None
    if isinstance(pipe, PersistentStub):
        p = pipe.state.get("_buffers", {}).get("p")
        augment_p = float(p) if p is not None else None
        augment_kwargs = pipe.init_kwargs

    def get(key: str, build):
        if not isinstance(data.get(key), PersistentStub):
            return None
        try:
            return build(data[key])
        except OfficialFormatError as e:
            raise OfficialFormatError(f"{path}: {key}: {e}") from None
        except (ValueError, TypeError, KeyError, AttributeError, RuntimeError) as e:  # Out-of-range kwargs, bad state.
            raise OfficialFormatError(f"{path}: {key} is not a valid StyleGAN network ({type(e).__name__}: {e})") \
                from None

    tsk = data.get("training_set_kwargs")
    return OfficialSnapshot(
        G=get("G", generator_from_stub), D=get("D", lambda s: discriminator_from_stub(s, writer)),
        G_ema=get("G_ema", generator_from_stub), augment_p=augment_p, augment_kwargs=augment_kwargs,
        training_set_kwargs=dict(tsk) if isinstance(tsk, dict) else None, writer=writer,
    )
