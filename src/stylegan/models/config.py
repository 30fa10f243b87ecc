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


@dataclass(frozen=True)
class StyleGAN1SynthesisConfig:
    """StyleGAN (Karras et al. 2019) synthesis: AdaIN, per-layer noise, [1,2,1] blur after upsampling."""

    channel_base: int = 16384  # Channels at resolution r = min(channel_base // r, channel_max); fmap_base x 2.
    channel_max: int = 512
    blur_filter: tuple[int, ...] = (1, 2, 1)  # FIR taps applied after each upsampling conv (Appendix C).
    use_noise: bool = True


@dataclass(frozen=True)
class StyleGAN3SynthesisConfig:
    """StyleGAN3-T defaults (Karras et al. 2021); StyleGAN3RSynthesisConfig holds the -R ones."""

    channel_base: int = 32768  # Channels of layer i = rint(min(channel_base / 2 / cutoff_i, channel_max)).
    channel_max: int = 512
    num_layers: int = 14  # Synthesis layers excluding ToRGB; num_ws = num_layers + 2.
    num_critical: int = 2  # Critically sampled layers at the end.
    first_cutoff: float = 2.0  # Cutoff of the first layer (cycles per image).
    first_stopband: float = 2**2.1  # Minimum stopband of the first layer.
    last_stopband_rel: float = 2**0.3  # Minimum stopband of the last layer, relative to its cutoff.
    margin_size: int = 10  # Extra pixels on each side of the feature maps.
    output_scale: float = 0.25  # Scale of the output image.
    num_fp16_res: int = 4  # Layers whose sampling rate exceeds img_resolution / 2**num_fp16_res run in FP16 on CUDA.
    conv_kernel: int = 3  # 1 for StyleGAN3-R.
    filter_size: int = 6  # Low-pass filter taps per resampling factor.
    lrelu_upsampling: int = 2  # Oversampling of the nonlinearity.
    use_radial_filters: bool = False  # Radially symmetric down-filters (StyleGAN3-R).
    conv_clamp: float | None = 256.0  # Clamp after the nonlinearity; None = off.
    magnitude_ema_beta: float = 0.999  # Decay of the input-magnitude EMA (training sets 0.5 ** (batch / 20000)).


@dataclass(frozen=True)
class StyleGAN3RSynthesisConfig(StyleGAN3SynthesisConfig):
    """StyleGAN3-R: 1x1 convolutions, radial filters, doubled channels (official train.py --cfg=stylegan3-r)."""

    channel_base: int = 65536
    channel_max: int = 1024
    conv_kernel: int = 1
    use_radial_filters: bool = True


# Generation name -> the dataclass of its synthesis network's configuration.
SYNTHESIS_CONFIGS: dict[str, type] = {
    "stylegan1": StyleGAN1SynthesisConfig,
    "stylegan2": StyleGAN2SynthesisConfig,
    "stylegan3-t": StyleGAN3SynthesisConfig,
    "stylegan3-r": StyleGAN3RSynthesisConfig,
}


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


def generator_defaults(arch: Arch, **fields) -> GeneratorConfig:
    """GeneratorConfig with the official defaults of `arch`: its synthesis config, mapping depth 8 (StyleGAN3: 2)."""
    mapping = MappingConfig(num_layers=2 if arch.startswith("stylegan3") else 8)
    kw = dict(synthesis=SYNTHESIS_CONFIGS[arch](), mapping=mapping)
    return GeneratorConfig(arch=arch, **{**kw, **fields})


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
