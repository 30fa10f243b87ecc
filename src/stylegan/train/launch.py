"""From command-line arguments to a run: a new run (resolve options against the dataset, create the run
directory), a continued run (`--resume RUN_DIR`), or transfer learning (`--resume FILE`)."""

from __future__ import annotations

import dataclasses
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..files import write_text_atomic
from .config import TrainConfig, preset_resolution
from .options import TrainOptions, resolve_config
from .rundir import create_run_dir, read_config, run_name, write_config

# What may change when continuing a run; anything else would make it a different run.
RESUME_OVERRIDES = ("kimg", "tick", "snap", "metrics", "workers")
NOT_HYPERPARAMETERS = ("command", "resume", "dry_run", "device", "gpus", "detector", "vgg")  # How to run, not what.


@dataclass
class PreparedRun:
    config: TrainConfig
    run_dir: Path | None  # None for --dry-run.
    resume: bool
    final: Path | None = None  # A run already at --kimg whose samples.png is missing (stopped while writing it).


def prepare_run(args) -> PreparedRun:
    if args.resume and not Path(args.resume).exists():
        raise UserError(f"--resume {args.resume}: no such run directory or file")
    if args.resume and Path(args.resume).is_dir():
        return _continue_run(args)
    if not args.outdir or not args.data:
        raise UserError("--outdir and --data are required for a new run (or --resume RUN_DIR to continue one)")
    from ..data.dataset import open_dataset

    preset_name = args.preset or "auto"
    resolution = args.resolution or preset_resolution(preset_name)
    dataset = open_dataset(_absolute(args.data), use_labels=args.cond, resolution=resolution, max_size=args.subset)
    given = {k: v for k, v in (("cfg", args.cfg), ("workers", args.workers)) if v is not None}  # Else TrainOptions'.
    opts = TrainOptions(
        outdir=args.outdir, data=_absolute(args.data), preset=preset_name, gpus=args.gpus,
        batch=args.batch, batch_gpu=args.batch_gpu, gamma=args.gamma, mirror=args.mirror, cond=args.cond,
        subset=args.subset, cbase=args.cbase, cmax=args.cmax, map_depth=args.map_depth, glr=args.glr, dlr=args.dlr,
        mbstd_group=args.mbstd_group, kimg=args.kimg, tick=args.tick, snap=args.snap, seed=args.seed, fp32=args.fp32,
        desc=args.desc, metrics=_metric_list(args.metrics), aug=args.aug, p=args.p, target=args.target,
        augpipe=args.augpipe, ada_kimg=args.ada_kimg, loss=args.loss, resume_from=args.resume, freezed=args.freezed,
        grid=args.grid, **given,
    )
    cfg = resolve_config(opts, dataset.resolution, dataset.num_channels, dataset.label_dim)
    if args.resume:
        cfg = _transfer_config(cfg, args, dataset)
    if cfg.freezed:
        from .setup import check_freezed

        check_freezed(cfg)
    if args.dry_run:
        return PreparedRun(cfg, None, resume=False)
    _check_detectors(cfg.metrics)
    run_dir = create_run_dir(args.outdir, run_name(cfg, dataset.name))
    write_config(run_dir, cfg, dataset)
    return PreparedRun(cfg, run_dir, resume=False)


def _absolute(data: str) -> str:
    """--data as an absolute path (a run resumes from any working directory); builtin: names as given."""
    return data if data.startswith("builtin:") else str(Path(data).expanduser().absolute())


def _metric_list(text: str | None) -> tuple[str, ...]:
    """--metrics as names, checked now (not at the first snapshot)."""
    if not text or text.strip().lower() == "none":
        return ()
    from ..metrics.registry import check_names

    names = tuple(m.strip() for m in text.split(",") if m.strip())
    check_names(list(names), two_set=False, flag="--metrics")
    return names


def _check_detectors(metrics: tuple[str, ...]) -> None:
    """The detector files the run's metrics need, found (or downloaded) now: missing at the first snapshot, they
    would stop the run there."""
    from ..metrics.detectors import resolve_detector
    from ..metrics.registry import METRICS

    for which in sorted(set().union(*(METRICS[m].detectors for m in metrics))):
        try:
            resolve_detector(which)
        except UserError as e:
            raise UserError(f"--metrics {','.join(metrics)}: {e}") from None


def _continue_run(args) -> PreparedRun:
    run_dir = Path(args.resume)
    cfg = read_config(run_dir)
    recorded_kimg = cfg.kimg
    ignored = [f"--{k.replace('_', '-')}" for k, v in vars(args).items()
               if not k.startswith("_") and k not in (*RESUME_OVERRIDES, *NOT_HYPERPARAMETERS)
               and v != args._parser.get_default(k)]
    if ignored:
        warnings.warn(f"--resume {run_dir} continues with the run's own config; ignored: {', '.join(ignored)} "
                      f"(only --{', --'.join(RESUME_OVERRIDES)} can change)", stacklevel=2)
    changes = {"kimg": args.kimg, "tick": args.tick, "snap": args.snap,  # None: not given, kept.
               "metrics": _metric_list(args.metrics) if args.metrics is not None else None, "workers": args.workers}
    cfg = dataclasses.replace(cfg, **{k: v for k, v in changes.items() if v is not None})
    if not args.dry_run:
        from .state import latest_snapshot

        snap = latest_snapshot(run_dir)
        if snap is None:
            raise UserError(f"--resume {run_dir}: no complete snapshot to continue from")
        if snap[1]["cur_nimg"] >= cfg.kimg * 1000:
            if args.kimg in (None, recorded_kimg) and not (run_dir / "samples.png").is_file():
                return PreparedRun(cfg, run_dir, resume=True, final=snap[0])
            raise UserError(f"--resume {run_dir}: already at kimg {snap[1]['cur_nimg'] / 1000:g}, at or past "
                            f"--kimg {cfg.kimg:g}; pass a larger --kimg to train on")
        if not cfg.data.startswith("builtin:") and not Path(cfg.data).expanduser().exists():
            raise UserError(f"--resume {run_dir}: its dataset {cfg.data} is not there (moved or deleted?)")
        _check_detectors(cfg.metrics)
        doc = json.loads((run_dir / "config.json").read_text())
        doc["dataset"] = _warn_if_data_changed(run_dir, cfg, doc.get("dataset") or {})
        doc["train"] = cfg.to_dict()
        write_text_atomic(run_dir / "config.json", json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return PreparedRun(cfg, run_dir, resume=True)


def _warn_if_data_changed(run_dir: Path, cfg: TrainConfig, recorded: dict) -> dict:
    """A run resumed on other images than it last trained on goes on (a grown dataset can be intended), but says so,
    once per change. Returns config.json's dataset record: the original, plus "last_resume" with what is there now."""
    from ..data.dataset import open_dataset

    dataset = open_dataset(cfg.data, resolution=cfg.G.img_resolution, use_labels=cfg.cond, max_size=cfg.subset)
    now = {"content_hash": dataset.content_hash, "num_images": len(dataset)}
    last = recorded.get("last_resume") or recorded
    if last.get("content_hash") not in (None, now["content_hash"]):
        warnings.warn(f"--resume {run_dir}: the dataset {cfg.data} changed since the run last trained "
                      f"({last.get('num_images')} images then, {len(dataset)} now); training goes on with what "
                      f"is there now", stacklevel=2)
    return {**recorded, "last_resume": now}


def _transfer_config(cfg: TrainConfig, args, dataset) -> TrainConfig:
    """Transfer learning: the architecture comes from the checkpoint; contradictions are errors, never a silent
    random init."""
    from .setup import source_networks

    src = source_networks(args.resume)
    G = src["G_ema"].config
    want = {"resolution": (dataset.resolution, G.img_resolution), "channels": (dataset.num_channels, G.img_channels),
            "classes": (cfg.G.c_dim, G.c_dim)}
    for what, (data_v, net_v) in want.items():
        if data_v != net_v:
            raise UserError(f"--resume {args.resume}: the network has {what} {net_v} but the dataset/flags give "
                            f"{data_v}; fine-tuning needs them to match")
    if args.cfg is not None and args.cfg != G.arch:
        raise UserError(f"--cfg {args.cfg} contradicts the network in {args.resume}, which is {G.arch}")
    for flag, value in (("cbase", args.cbase), ("cmax", args.cmax), ("map_depth", args.map_depth)):
        if value is not None:
            raise UserError(f"--{flag.replace('_', '-')} cannot be set with --resume FILE: the architecture comes "
                            f"from the network")
    if src["D"] is None:
        hint = "convert the official pickle with `stylegan convert --which all` to keep it"
        if args.freezed:
            raise UserError(f"--freezed {args.freezed}: {args.resume} holds no discriminator to freeze layers of; "
                            f"{hint}")
        warnings.warn(f"--resume {args.resume} holds no discriminator: D starts from random initialization "
                      f"({hint})", stacklevel=2)
    D = src["D"].config if src["D"] is not None else dataclasses.replace(cfg.D, c_dim=G.c_dim)
    return dataclasses.replace(cfg, cfg=G.arch, G=G, D=dataclasses.replace(D, mbstd_group_size=cfg.D.mbstd_group_size))
