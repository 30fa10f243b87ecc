"""Train a StyleGAN on your images (a prepared dataset, a raw folder, or builtin:emoji), with the StyleGAN2 recipe.

Flags keep the official names. --preset picks hyperparameters (official table plus `small`, a 32x32 model that
trains on 2 CPU cores); explicit flags override it; --dry-run prints the resolved config. Progress goes to the
terminal, RUN_DIR/log.txt and RUN_DIR/stats.jsonl; snapshots are RUN_DIR/network-snapshot-KKKKKK.safetensors
(KKKKKK_III if a snapshot already has that kimg). Ctrl-C (SIGTERM, SIGHUP) writes a snapshot and exits (status
130), a second one stops at once; `--resume RUN_DIR` continues exactly where it stopped. `--resume FILE`
(our snapshot or an official .pkl) starts a new run from those weights (transfer learning).

Examples:
  stylegan train --outdir runs --data builtin:emoji --preset small
  stylegan train --outdir runs --data ~/cats --gpus 1 --batch 32 --gamma 8.2 --mirror
  stylegan train --resume runs/00000-stylegan2-emoji-gpus1-batch32-gamma2 --kimg 400
  torchrun --nproc_per_node 4 -m stylegan train --outdir runs --data ffhq.zip --gpus 4 --batch 64 --gamma 1
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import sys
from pathlib import Path

from ..errors import UserError
from ..files import exclusive_folder
from ..train.augment_presets import AUGMENT_PRESETS
from .common import bounded, output_dir

HELP = "train a network (StyleGAN2 recipe, ADA, exact resume, torchrun)"


def bool_arg(text: str) -> bool:
    v = str(text).strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean, got {text!r}")


def grid_arg(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WxH like 8x4, got {text!r}") from None
    if not (1 <= w <= 64 and 1 <= h <= 64):
        raise argparse.ArgumentTypeError(f"grid {text!r} out of range (1..64 each)")
    return w, h


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("run")
    g.add_argument("--outdir", type=output_dir, metavar="DIR",
                   help="where run directories are created (required for new runs)")
    g.add_argument("--data", metavar="PATH", help="prepared dataset (folder/zip), raw image folder, or builtin:emoji")
    g.add_argument("--resolution", type=int, metavar="N", help="train at N x N, downscaling the dataset by a power "
                   "of two on load (default: the dataset's; 32 for --preset small)")
    g.add_argument("--cfg", default=None, help="network generation: stylegan2 | stylegan1 | stylegan3-t | "
                   "stylegan3-r (default: stylegan2)")
    g.add_argument("--preset", default=None, help="hyperparameters: auto | stylegan2 | paper256 | paper512 | "
                   "paper1024 | cifar | small (default: auto)")
    g.add_argument("--resume", metavar="RUN_DIR|FILE", help="continue a run directory, or start from weights")
    g.add_argument("--kimg", type=bounded(float, above=0), metavar="KIMG", help="total training length in kimg")
    g.add_argument("--tick", type=bounded(float, above=0), metavar="KIMG", help="progress report interval in kimg")
    g.add_argument("--snap", type=bounded(int, 0), metavar="TICKS",
                   help="snapshot interval in ticks (0 = only at the end)")
    g.add_argument("--seed", type=bounded(int, 0, 2**32 - 1), default=0, help="random seed (default: 0)")
    g.add_argument("--desc", metavar="STR", help="string appended to the run directory name")
    g.add_argument("--metrics", default=None, metavar="LIST",
                   help="metrics after each snapshot (not a stopped run's), or none")
    g.add_argument("--detector", metavar="PATH|URL", help="Inception detector for --metrics (the same as "
                   "STYLEGAN_INCEPTION=PATH; default: cache, else download)")
    g.add_argument("--vgg", metavar="PATH|URL", help="VGG16 detector for --metrics ppl* (as STYLEGAN_VGG16=PATH)")
    g.add_argument("--device", default="auto", metavar="DEV", help="cpu | cuda | cuda:N | mps | auto (default: auto)")
    g.add_argument("--grid", type=grid_arg, metavar="WxH", help="snapshot image grid, e.g. 8x4 (default: automatic)")
    g.add_argument("--dry-run", "-n", action="store_true", help="print the resolved config as JSON and exit")
    g = p.add_argument_group("hyperparameters (default: from --preset)")
    g.add_argument("--gpus", type=bounded(int, 1), default=1, help="processes; >1 launches torchrun (default: 1)")
    g.add_argument("--batch", type=bounded(int, 1), help="total batch size")
    g.add_argument("--batch-gpu", type=bounded(int, 1), help="batch per process; gradients accumulate when smaller")
    g.add_argument("--gamma", type=bounded(float, 0), help="R1 regularization weight")
    g.add_argument("--subset", type=bounded(int, 1), metavar="N", help="train on a random subset of N images (seeded)")
    g.add_argument("--mirror", type=bool_arg, nargs="?", const=True, default=False, help="x-flip augmentation")
    g.add_argument("--cond", type=bool_arg, nargs="?", const=True, default=False, help="train on dataset labels")
    g.add_argument("--cbase", type=bounded(int, 1), help="channel base")
    g.add_argument("--cmax", type=bounded(int, 1), help="max channels")
    g.add_argument("--map-depth", type=bounded(int, 1), help="mapping network depth")
    g.add_argument("--glr", type=bounded(float, above=0), help="G learning rate")
    g.add_argument("--dlr", type=bounded(float, above=0), help="D learning rate")
    g.add_argument("--mbstd-group", type=bounded(int, 1), help="minibatch std group size")
    g.add_argument("--fp32", type=bool_arg, nargs="?", const=True, default=False, help="disable mixed precision")
    g.add_argument("--workers", type=bounded(int, 0), default=None, help="data loader processes (default: 3)")
    g.add_argument("--loss", default="stylegan2", choices=["stylegan2", "r3gan"], help="GAN loss (default: stylegan2)")
    g = p.add_argument_group("augmentation and transfer learning")
    g.add_argument("--aug", default="ada", choices=["ada", "fixed", "noaug"], help="augmentation mode (default: ada)")
    g.add_argument("--p", type=bounded(float, 0, 1), help="augment probability for --aug fixed (default 0.2)")
    g.add_argument("--target", type=bounded(float, 0, 1), help="ADA target (default: 0.6)")
    g.add_argument("--augpipe", default=None, choices=AUGMENT_PRESETS, metavar="PIPE",
                   help=f"augmentation ops: {', '.join(AUGMENT_PRESETS)} (default: bgc)")
    g.add_argument("--ada-kimg", type=bounded(float, above=0), help="ADA speed (default: 500, 100 when fine-tuning)")
    g.add_argument("--freezed", type=bounded(int, 0), default=0, help="freeze the first N D layers (Freeze-D)")


def run(args) -> int:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    for flag, value, env in (("--detector", args.detector, "STYLEGAN_INCEPTION"),
                             ("--vgg", args.vgg, "STYLEGAN_VGG16")):
        if value:  # Through the environment: the metrics read it, and torchrun's processes inherit it.
            os.environ[env] = _detector_path(flag, value)
    if args.gpus > 1 and world == 1 and not args.dry_run:
        if args.resume and Path(args.resume).is_dir():
            with exclusive_folder(args.resume, "--resume"):  # Refused here in one line, not by N processes.
                pass
        return _launch_torchrun(args)
    from ..train.loop import stop_signals

    # Until the training loop takes them over, SIGTERM and SIGHUP stop as Ctrl-C does (a new run then leaves nothing).
    previous = {s: signal.signal(s, _interrupt) for s in stop_signals() if s != signal.SIGINT}
    try:
        return _run(args, world)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _detector_path(flag: str, text: str) -> str:
    if "://" in text:
        return text
    path = Path(text).expanduser()
    if not path.is_file():
        raise UserError(f"{flag} {text}: no such file")
    return str(path.resolve())  # (A resumed run may start elsewhere.)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _run(args, world: int) -> int:
    from ..train.distributed import init
    from ..checkpoint import resolve_device

    device = resolve_device(args.device)  # A bad --device is an error before a run directory exists.
    d = init(device.type) if world > 1 else None
    if d is not None and args.gpus != world:
        raise UserError(f"--gpus {args.gpus} does not match torchrun's {world} processes")
    # Rank 0 alone prepares the dataset cache and the run directory, then shares the resolved config.
    with contextlib.ExitStack() as held:
        if args.resume and Path(args.resume).is_dir() and not args.dry_run and (d is None or d.is_main):
            held.enter_context(exclusive_folder(args.resume, "--resume"))  # Before config.json is rewritten.
        return _prepare_and_train(args, device, d)


def _prepare_and_train(args, device, d) -> int:
    from ..train.config import TrainConfig
    from ..train.distributed import gather_objects
    from ..progress import console_may_close
    from ..train.launch import prepare_run

    with console_may_close():  # `stylegan train ... | head`: preparing the data goes on, as training does.
        prepared = prepare_run(args) if d is None or d.is_main else None
    if args.dry_run:
        print(json.dumps(prepared.config.to_dict(), indent=2, sort_keys=True))
        return 0
    if d is not None:
        payload = (prepared.config.to_dict(), str(prepared.run_dir), prepared.resume,
                   prepared.final and str(prepared.final)) if prepared else None
        cfg_dict, run_dir, resume, final = gather_objects(payload, d)[0]
        cfg, run_dir = TrainConfig.from_dict(cfg_dict), Path(run_dir)
    else:
        cfg, run_dir, resume, final = prepared.config, prepared.run_dir, prepared.resume, prepared.final
    if final is not None:  # A finished run whose samples.png was missing: only that is written.
        if d is None or d.is_main:
            _say(f"samples: {_write_samples(Path(final), run_dir / 'samples.png')}")
        return 0
    from ..train.loop import train

    try:
        last, finished = train(cfg, run_dir, device=device, resume=resume)
    except BaseException as e:  # An error, or Ctrl-C before the loop took over the signal (or a second one).
        if d is None or d.is_main:
            if not resume:
                _remove_untrained(run_dir)
            if isinstance(e, KeyboardInterrupt) and run_dir.is_dir():
                _say(f"continue from the last snapshot with: stylegan train --resume {shlex.quote(str(run_dir))}",
                     sys.stderr)
        raise
    if d is None or d.is_main:
        if last is not None and finished:
            samples = _write_samples(last, run_dir / "samples.png")
            _say(f"network: {last}\nsamples: {samples}")
        _say(f"run directory: {run_dir}")
        if not finished:
            _say(f"interrupted; continue with: stylegan train --resume {shlex.quote(str(run_dir))}", sys.stderr)
    return 0 if finished else 130  # (As for Ctrl-C: scripts can tell a stopped run from a finished one.)


def _say(text: str, file=None) -> None:
    """A closing message; a console that has gone (closed pipe or terminal) does not turn a run's end into an error."""
    with contextlib.suppress(OSError):
        print(text, file=file or sys.stdout, flush=True)


def _remove_untrained(run_dir: Path) -> None:
    """A new run that failed before its training loop started (a damaged image while loading the data) holds only its
    config: delete it, so that failed attempts do not pile up as run directories. Once the loop has started, log.txt
    records the error and the directory stays."""
    if any(p.name not in ("config.json", "reals.png", "fakes_init.png") for p in run_dir.iterdir()):
        return
    import shutil

    shutil.rmtree(run_dir, ignore_errors=True)
    print(f"removed {run_dir}: the run stopped before training started", file=sys.stderr)


def _write_samples(network: Path, path: Path, seeds: int = 64) -> Path:
    """An uncurated grid of the first `seeds` seeds from the final G_ema (psi 1, constant noise)."""
    import numpy as np

    from ..checkpoint import load
    from ..generate import generate_images
    from ..images import make_grid, provenance, save_png

    G = load(network, device="cpu")
    class_idx = 0 if G.c_dim else None
    images = np.stack([img for _, img in generate_images(G, list(range(seeds)), class_idx=class_idx)])
    save_png(path, make_grid(images, 8), provenance(model_id=G.model_id, seeds=f"0-{seeds - 1}", truncation_psi=1,
                                                     noise_mode="const", network=network.name))
    return path


def _launch_torchrun(args) -> int:
    """`--gpus N` on one machine: relaunch this command under torchrun with N processes, and wait for it. Ctrl-C
    reaches torchrun from the terminal (one process group); SIGTERM and SIGHUP sent to this process are passed on.
    torchrun then stops its processes with SIGTERM, each writing its snapshot."""
    import subprocess

    from ..train.loop import stop_signals

    cmd = [sys.executable, "-m", "stylegan.train.torchrun", "--standalone", f"--nproc_per_node={args.gpus}",
           "-m", "stylegan", *args._argv]
    proc, stopped = subprocess.Popen(cmd), []

    def pass_on(signum, frame):
        stopped.append(signum)
        if signum != signal.SIGINT:
            proc.send_signal(signal.SIGTERM)

    previous = {s: signal.signal(s, pass_on) for s in stop_signals()}
    try:
        rc = proc.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 130 if stopped and rc != 0 else rc
