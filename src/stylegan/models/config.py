"""Network configurations: frozen dataclasses that are saved with the weights and are enough to rebuild a network."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Literal

Arch = Literal["stylegan1", "stylegan2", "stylegan3-t", "stylegan3-r"]


@dataclass(frozen=True)
class MappingConfig:
    num_layers: int = 8  # Fully connected layers z -> w.
    lr_multiplier: float = 0.01  # Learning-rate multiplier of the mapping layers.
    w_avg_beta: float | None = 0.998  # Decay of the tracked average w (truncation centre); None = no w_avg.
    embed_features: int | None = None  # Label-embedding width; None = w_dim.
    layer_features: int | None = None  # Hidden width; None = w_dim.


@dataclass(frozen=True)
class StyleGAN2SynthesisConfig:
    channel_base: int = 32768  # Channels at resolution r = min(channel_base // r, channel_max).
    channel_max: int = 512
    architecture: Literal["orig", "skip", "resnet"] = "skip"
    num_fp16_res: int = 0  # Run the top-N resolutions in FP16 on CUDA.
    conv_clamp: float | None = None  # Clamp conv outputs to +-conv_clamp (256 with mixed precision); None = off.
    resample_filter: tuple[int, ...] = (1, 3, 3, 1)
    use_noise: bool = True


# Filled in by the other generations' modules (stylegan1, stylegan3) through register_synthesis_config.
SYNTHESIS_CONFIGS: dict[str, type] = {"stylegan2": StyleGAN2SynthesisConfig}


def register_synthesis_config(arch: str, cls: type) -> None:
    SYNTHESIS_CONFIGS[arch] = cls


@dataclass(frozen=True)
class GeneratorConfig:
    arch: Arch = "stylegan2"
    z_dim: int = 512
    c_dim: int = 0  # Number of classes (one-hot labels); 0 = unconditional.
    w_dim: int = 512
    img_resolution: int = 256
    img_channels: int = 3
    mapping: MappingConfig = field(default_factory=MappingConfig)
    synthesis: Any = field(default_factory=StyleGAN2SynthesisConfig)  # The arch's synthesis config dataclass.

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> "GeneratorConfig":
        d = dict(d)
        arch = d.get("arch", "stylegan2")
        if arch not in SYNTHESIS_CONFIGS:
            raise ValueError(f"unknown generator architecture {arch!r}; known: {', '.join(sorted(SYNTHESIS_CONFIGS))}")
        d["mapping"] = _from_dict(MappingConfig, d.get("mapping", {}))
        d["synthesis"] = _from_dict(SYNTHESIS_CONFIGS[arch], d.get("synthesis", {}))
        return _from_dict(cls, d)


@dataclass(frozen=True)
class DiscriminatorConfig:
    c_dim: int = 0
    img_resolution: int = 256
    img_channels: int = 3
    architecture: Literal["orig", "skip", "resnet"] = "resnet"
    channel_base: int = 32768
    channel_max: int = 512
    num_fp16_res: int = 0
    conv_clamp: float | None = None
    cmap_dim: int | None = None  # Width of the label projection; None = channels at 4x4.
    mbstd_group_size: int | None = 4  # Minibatch-stddev group size; None = whole minibatch.
    mbstd_num_channels: int = 1  # 0 disables the minibatch-stddev layer.
    mapping_layers: int = 8  # Depth of the label-embedding mapping (conditional D only).
    resample_filter: tuple[int, ...] = (1, 3, 3, 1)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> "DiscriminatorConfig":
        return _from_dict(cls, d)


def _from_dict(cls, d: dict):
    """Build a dataclass from a dict, rejecting unknown keys and turning lists back into tuples."""
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(d) - set(names)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s): {', '.join(sorted(unknown))}")
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
    return cls(**kwargs)
