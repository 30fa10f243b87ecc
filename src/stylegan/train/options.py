"""From what the user asked (TrainOptions: None = not given) to a fully resolved TrainConfig.

Precedence: preset < generation recipe < explicit options. Validation errors are UserErrors naming the value.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError
from .config import GENERATIONS, PRESETS, TrainConfig, network_configs, preset


@dataclass
class TrainOptions:
    outdir: str
    data: str
    cfg: str = "stylegan2"
    preset: str = "auto"
    gpus: int = 1
    batch: int | None = None
    batch_gpu: int | None = None
    gamma: float | None = None
    mirror: bool = False
    cond: bool = False
    subset: int | None = None
    cbase: int | None = None
    cmax: int | None = None
    map_depth: int | None = None
    glr: float | None = None
    dlr: float | None = None
    mbstd_group: int | None = None
    kimg: float | None = None
    tick: float | None = None
    snap: int | None = None
    seed: int = 0
    fp32: bool = False
    workers: int = 3
    desc: str | None = None
    metrics: tuple[str, ...] = ()
    grid: tuple[int, int] | None = None
    aug: str = "ada"
    p: float | None = None
    target: float | None = None  # None: 0.6 for --aug ada (an error with the other modes, as in the official code).
    augpipe: str | None = None  # None: "bgc" (an error with --aug noaug).
    ada_kimg: float | None = None
    loss: str = "stylegan2"
    ema_kimg: float | None = None
    style_mixing: float | None = None
    pl_weight: float | None = None
    resume_from: str | None = None
    freezed: int = 0


def recipe(cfg: str, batch: int, preset_name: str) -> dict:
    """Per-generation official defaults that override the preset (stylegan3 train.py). With the `auto` preset a
    StyleGAN3 run takes that train.py's widths and D learning rate too (cbase 32768 at every resolution, where
    StyleGAN2-ADA's `auto` halves them below 512; dlr 0.002)."""
    if cfg in ("stylegan3-t", "stylegan3-r"):
        r = dict(map_depth=2, glr=0.0025, style_mixing=0.0, pl_weight=0.0)
        if preset_name == "auto":
            r.update(cbase=32768, dlr=0.002)
        if cfg == "stylegan3-r":
            r.update(blur_init_sigma=10.0, blur_fade_kimg=batch * 200 / 32)
        return r
    if cfg == "stylegan1":
        # StyleGAN (2019): 8-layer mapping, style mixing 0.9, no path-length regularization. R1 gamma, lr and the
        # discriminator (StyleGAN2's resnet D) come from the preset, so a comparison with stylegan2 isolates G.
        return dict(map_depth=8, style_mixing=0.9, pl_weight=0.0)
    return {}


def resolve_config(o: TrainOptions, res: int, channels: int, label_dim: int) -> TrainConfig:
    """Resolve options against the dataset (resolution, channels, number of classes)."""
    if o.cfg not in GENERATIONS:
        raise UserError(f"--cfg must be one of {', '.join(GENERATIONS)}, got {o.cfg!r}")
    if o.preset not in PRESETS:
        raise UserError(f"--preset must be one of {', '.join(PRESETS)}, got {o.preset!r}")
    if res < 4 or res & (res - 1):
        raise UserError(f"dataset resolution {res} is not a power of two >= 4; prepare it with `stylegan dataset`")
    if o.gpus < 1:
        raise UserError(f"--gpus must be >= 1, got {o.gpus}")
    if o.cond and label_dim == 0:
        raise UserError("--cond requires a dataset with labels (dataset.json labels), but this one has none")
    h = preset(o.preset, res, o.gpus)
    batch = o.batch or h.batch
    r = recipe(o.cfg, batch, o.preset)
    pick = lambda name, default: getattr(o, name) if getattr(o, name) is not None else r.get(name, default)  # noqa
    batch_gpu = o.batch_gpu or batch // o.gpus
    mbstd_group = pick("mbstd_group", h.mbstd_group)
    if batch % o.gpus:
        raise UserError(f"--batch {batch} must be a multiple of --gpus {o.gpus}")
    if batch % (o.gpus * batch_gpu):
        raise UserError(f"--batch {batch} must be a multiple of --gpus {o.gpus} x --batch-gpu {batch_gpu}")
    per_gpu = f"--batch-gpu {batch_gpu}" if o.batch_gpu else f"--batch {batch} (per GPU: {batch_gpu})"
    if batch_gpu < mbstd_group:
        raise UserError(f"{per_gpu} cannot be smaller than --mbstd-group {mbstd_group}")
    if batch_gpu % mbstd_group:
        raise UserError(f"{per_gpu} must be a multiple of --mbstd-group {mbstd_group}")
    if o.aug not in ("ada", "fixed", "noaug"):
        raise UserError(f"--aug must be ada, fixed or noaug, got {o.aug!r}")
    if o.p is not None and o.aug != "fixed":
        raise UserError(f"--p applies to --aug fixed only (--aug {o.aug}: "
                        + ("ADA adjusts p itself)" if o.aug == "ada" else "no augmentation)"))
    if o.target is not None and o.aug != "ada":
        raise UserError(f"--target applies to --aug ada only, not --aug {o.aug}")
    if o.augpipe is not None and o.aug == "noaug":
        raise UserError("--augpipe cannot be used with --aug noaug")
    target = 0.6 if o.target is None else o.target
    if not 0 <= target <= 1:
        raise UserError(f"--target must be in [0, 1], got {target}")
    if o.loss not in ("stylegan2", "r3gan"):
        raise UserError(f"--loss must be stylegan2 or r3gan, got {o.loss!r}")
    cbase, cmax = pick("cbase", h.cbase), pick("cmax", h.cmax)
    g_channels = (cbase * 2, cmax * 2) if o.cfg == "stylegan3-r" else (cbase, cmax)  # Official: -R doubles G's.
    G, D = network_configs(o.cfg, h, res, channels, label_dim if o.cond else 0, o.fp32, batch, g_channels,
                           (cbase, cmax), pick("map_depth", h.map_depth), mbstd_group)
    ema_kimg = o.ema_kimg if o.ema_kimg is not None else (h.ema_kimg if o.preset != "auto" else batch * 10 / 32)
    return TrainConfig(
        outdir=o.outdir, data=o.data, cfg=o.cfg, preset=o.preset, desc=o.desc, seed=o.seed,
        kimg=o.kimg if o.kimg is not None else h.kimg, tick=o.tick if o.tick is not None else h.tick,
        snap=o.snap if o.snap is not None else h.snap, metrics=tuple(o.metrics), grid=o.grid, cond=o.cond,
        mirror=o.mirror, subset=o.subset,
        workers=o.workers, G=G, D=D, gpus=o.gpus, batch=batch, batch_gpu=batch_gpu,
        glr=pick("glr", h.glr), dlr=pick("dlr", h.dlr), loss=o.loss,
        gamma=o.gamma if o.gamma is not None else h.gamma, style_mixing=pick("style_mixing", h.style_mixing),
        pl_weight=pick("pl_weight", h.pl_weight), ema_kimg=ema_kimg,
        ema_rampup=None if o.resume_from else h.ema_rampup,
        blur_init_sigma=0.0 if o.resume_from else r.get("blur_init_sigma", 0.0),
        blur_fade_kimg=r.get("blur_fade_kimg", 0.0), fp32=o.fp32, aug=o.aug, augpipe=o.augpipe or "bgc",
        p=o.p if o.p is not None else (0.2 if o.aug == "fixed" else 0.0), target=target,
        ada_kimg=o.ada_kimg if o.ada_kimg is not None else (100 if o.resume_from else 500),
        resume_from=o.resume_from, freezed=o.freezed,
    )


