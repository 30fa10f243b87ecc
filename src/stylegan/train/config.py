"""Training configuration: the resolved, typed description of a run (saved as RUN_DIR/config.json), the official
hyperparameter presets (stylegan2-ada-pytorch `cfg_specs`), and the per-generation recipes."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Literal

from ..models import DiscriminatorConfig, GeneratorConfig, MappingConfig, StyleGAN2SynthesisConfig
from ..models.config import (StyleGAN1SynthesisConfig, StyleGAN3RSynthesisConfig, StyleGAN3SynthesisConfig,
                             _from_dict)

Generation = Literal["stylegan1", "stylegan2", "stylegan3-t", "stylegan3-r"]
GENERATIONS = ("stylegan1", "stylegan2", "stylegan3-t", "stylegan3-r")


@dataclass(frozen=True)
class Hyper:
    """The knobs a preset sets (official cfg_specs columns plus our network widths)."""

    batch: int
    mbstd_group: int
    cbase: int
    cmax: int
    glr: float
    dlr: float
    gamma: float
    ema_kimg: float
    ema_rampup: float | None
    map_depth: int
    kimg: float
    style_mixing: float = 0.9
    pl_weight: float = 2.0
    d_architecture: str = "resnet"
    z_dim: int = 512
    w_dim: int = 512
    tick: float = 4.0  # kimg per tick
    snap: int = 50  # ticks per snapshot
    use_noise: bool = True  # Per-pixel noise inputs (StyleGAN1/2).


def preset_resolution(name: str) -> int | None:
    """Training resolution a preset implies (the dataset is downscaled on load), or None = the dataset's own."""
    return {"small": 32}.get(name)


def preset(name: str, res: int, gpus: int) -> Hyper:
    """Official presets (NOTES.md, stylegan2-ada-pytorch train.py) and our `small` CPU preset."""
    if name == "auto":
        mb = max(min(gpus * min(4096 // res, 32), 64), gpus)
        return Hyper(batch=mb, mbstd_group=min(mb // gpus, 4), cbase=32768 if res >= 512 else 16384, cmax=512,
                     glr=0.002 if res >= 1024 else 0.0025, dlr=0.002 if res >= 1024 else 0.0025,
                     gamma=0.0002 * res**2 / mb, ema_kimg=mb * 10 / 32, ema_rampup=0.05, map_depth=2, kimg=25000)
    table = {
        #             batch mbstd cbase  lr      gamma ema  ramp  map kimg
        "stylegan2": (32, 4, 32768, 0.002, 10, 10, None, 8, 25000),
        "paper256": (64, 8, 16384, 0.0025, 1, 20, None, 8, 25000),
        "paper512": (64, 8, 32768, 0.0025, 0.5, 20, None, 8, 25000),
        "paper1024": (32, 4, 32768, 0.002, 2, 10, None, 8, 25000),
        "cifar": (64, 32, 32768, 0.0025, 0.01, 500, 0.05, 2, 100000),
    }
    if name in table:
        mb, mbstd, cbase, lr, gamma, ema, ramp, depth, kimg = table[name]
        extra = dict(style_mixing=0.0, pl_weight=0.0, d_architecture="orig") if name == "cifar" else {}
        return Hyper(batch=mb, mbstd_group=mbstd, cbase=cbase, cmax=512, glr=lr, dlr=lr, gamma=gamma, ema_kimg=ema,
                     ema_rampup=ramp, map_depth=depth, kimg=kimg, **extra)
    if name == "small":
        # Ours: a 32x32 model that learns builtin:emoji in ~10 minutes on 2 CPU cores: narrow (32-64 channels),
        # shallow mapping, no path-length or mixing regularization, and no per-pixel noise (flat-colored emoji have no
        # stochastic detail; with noise, the faces filled with speckle). R1 gamma 2 keeps the small D from dominating:
        # at gamma 0.05 samples stayed blobs at 40 kimg, at gamma 2 they were faces with eyes and mouths.
        return Hyper(batch=32, mbstd_group=4, cbase=1024, cmax=64, glr=0.0025, dlr=0.0025, gamma=2, ema_kimg=5,
                     ema_rampup=0.05, map_depth=2, kimg=50, style_mixing=0.0, pl_weight=0.0, z_dim=128, w_dim=128,
                     tick=4, snap=5, use_noise=False)
    raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")


PRESETS = ("auto", "stylegan2", "paper256", "paper512", "paper1024", "cifar", "small")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run. Resolved once; saved to config.json; `train(cfg)` needs nothing else."""

    # Run.
    outdir: str
    data: str
    cfg: Generation = "stylegan2"
    preset: str = "auto"
    desc: str | None = None
    seed: int = 0
    kimg: float = 25000  # Total training length in thousands of real images shown to D.
    tick: float = 4  # kimg between progress reports.
    snap: int = 50  # Ticks between snapshots (0 = only at the end).
    metrics: tuple[str, ...] = ()
    grid: tuple[int, int] | None = None  # Snapshot image grid (columns, rows); None = automatic.
    # Data.
    cond: bool = False
    mirror: bool = False
    subset: int | None = None  # Train on a seeded random subset of this many images.
    workers: int = 3
    # Networks.
    G: GeneratorConfig = field(default_factory=GeneratorConfig)
    D: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    # Optimization (Adam, beta1 0, beta2 0.99, eps 1e-8).
    gpus: int = 1
    batch: int = 32  # Global batch.
    batch_gpu: int = 32  # Per-process micro-batch; gradients accumulate when batch_gpu * gpus < batch.
    glr: float = 0.002
    dlr: float = 0.002
    loss: Literal["stylegan2", "r3gan"] = "stylegan2"
    gamma: float = 10.0  # R1 weight (R1 and R2 for r3gan).
    d_reg_interval: int = 16  # Lazy R1 every N minibatches (StyleGAN2 §B).
    style_mixing: float = 0.9
    pl_weight: float = 2.0
    pl_batch_shrink: int = 2
    pl_decay: float = 0.01
    g_reg_interval: int = 4
    ema_kimg: float = 10.0  # Half-life of the generator EMA in kimg.
    ema_rampup: float | None = None  # EMA half-life is at most this fraction of images seen so far.
    blur_init_sigma: float = 0.0  # StyleGAN3-R: blur D inputs, fading out over blur_fade_kimg.
    blur_fade_kimg: float = 0.0
    fp32: bool = False
    # Augmentation (StyleGAN2-ADA).
    aug: Literal["ada", "fixed", "noaug"] = "ada"
    augpipe: str = "bgc"
    p: float = 0.0  # Initial (ada) or constant (fixed) augmentation probability.
    target: float = 0.6  # ADA target for E[sign(D(real))].
    ada_kimg: float = 500  # ADA adjustment speed: p can go 0 -> 1 in this many kimg.
    ada_interval: int = 4
    # Transfer learning.
    resume_from: str | None = None  # Weights to start a *new* run from (our snapshot or an official .pkl).
    freezed: int = 0  # Freeze-D: the first N discriminator layers.

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        d["G"] = GeneratorConfig.from_dict(d["G"])
        d["D"] = DiscriminatorConfig.from_dict(d["D"])
        return _from_dict(cls, d)


def network_configs(
    cfg: Generation, hyper: Hyper, res: int, channels: int, c_dim: int, fp32: bool, batch: int,
    g_channels: tuple[int, int], d_channels: tuple[int, int], map_depth: int, mbstd_group: int,
) -> tuple[GeneratorConfig, DiscriminatorConfig]:
    """G and D configs for a generation; *_channels = (channel_base, channel_max). Mixed precision on CUDA (top 4
    resolutions in FP16, conv outputs clamped to 256) unless fp32. D is the StyleGAN2 discriminator for every
    generation, as in the official StyleGAN3 code."""
    fp16_res, clamp = (0, None) if fp32 else (4, 256)
    w_avg_beta = 0.995 if cfg == "stylegan1" else MappingConfig.w_avg_beta  # StyleGAN's dlatent_avg_beta.
    G = GeneratorConfig(arch=cfg, z_dim=hyper.z_dim, c_dim=c_dim, w_dim=hyper.w_dim, img_resolution=res,
                        img_channels=channels, mapping=MappingConfig(num_layers=map_depth, w_avg_beta=w_avg_beta),
                        synthesis=synthesis_config(cfg, *g_channels, fp16_res, clamp, batch, hyper.use_noise))
    D = DiscriminatorConfig(c_dim=c_dim, img_resolution=res, img_channels=channels, architecture=hyper.d_architecture,
                            channel_base=d_channels[0], channel_max=d_channels[1], num_fp16_res=fp16_res,
                            conv_clamp=clamp, mbstd_group_size=mbstd_group)
    return G, D


def synthesis_config(cfg: Generation, cbase: int, cmax: int, fp16_res: int, clamp: float | None, batch: int,
                     use_noise: bool = True):
    if cfg == "stylegan2":
        return StyleGAN2SynthesisConfig(channel_base=cbase, channel_max=cmax, num_fp16_res=fp16_res, conv_clamp=clamp,
                                        use_noise=use_noise)
    if cfg in ("stylegan3-t", "stylegan3-r"):
        cls = StyleGAN3RSynthesisConfig if cfg == "stylegan3-r" else StyleGAN3SynthesisConfig
        return cls(channel_base=cbase, channel_max=cmax, num_fp16_res=fp16_res, conv_clamp=clamp,
                   magnitude_ema_beta=0.5 ** (batch / 20000))  # Official train.py: EMA over ~20k images.
    if cfg == "stylegan1":
        return StyleGAN1SynthesisConfig(channel_base=cbase, channel_max=cmax, use_noise=use_noise)  # FP32 (AdaIN).
    raise ValueError(f"--cfg {cfg} is not available in this version")
