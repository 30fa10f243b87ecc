"""Run directories: `OUTDIR/NNNNN-<cfg>-<dataset>-gpus<G>-batch<B>-gamma<g>[-desc]/` with config.json (resolved
config, package/torch/CUDA versions, dataset identity, git revision)."""

from __future__ import annotations

import contextlib
import json
import platform
import re
import subprocess
from pathlib import Path

import torch

from ..errors import UserError
from ..files import write_text_atomic
from .config import TrainConfig


def run_name(cfg: TrainConfig, dataset_name: str) -> str:
    desc = f"{cfg.cfg}-{dataset_name}-gpus{cfg.gpus}-batch{cfg.batch}-gamma{cfg.gamma:g}"
    if cfg.desc:
        desc += f"-{cfg.desc}"
    return re.sub(r"[^\w.=+-]", "_", desc)


def create_run_dir(outdir: str | Path, name: str) -> Path:
    """OUTDIR/NNNNN-name with the next free number (another run started at the same moment takes the next one)."""
    outdir = Path(outdir)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        while True:
            ids = [int(m.group(1)) for p in outdir.iterdir() if (m := re.match(r"^(\d+)-", p.name))]
            run_dir = outdir / f"{max(ids, default=-1) + 1:05d}-{name}"
            with contextlib.suppress(FileExistsError):
                run_dir.mkdir()
                return run_dir
    except OSError as e:
        raise UserError(f"--outdir {outdir}: cannot create a run directory there ({e.strerror or e})") from None


def environment() -> dict:
    from .. import __version__

    env = {"stylegan": __version__, "torch": torch.__version__, "cuda": torch.version.cuda,
           "python": platform.python_version(), "platform": platform.platform(), "packages": package_versions()}
    if torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(0)
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent)
        if rev.returncode == 0:
            env["git_revision"] = rev.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return env


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("numpy", "scipy", "pillow", "safetensors", "tqdm", "imageio", "imageio-ffmpeg"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def write_config(run_dir: Path, cfg: TrainConfig, dataset) -> None:
    doc = {"train": cfg.to_dict(), "environment": environment(),
           "dataset": {"spec": cfg.data, "path": str(dataset.path), "name": dataset.name,
                       "content_hash": dataset.content_hash, "num_images": len(dataset),
                       "resolution": dataset.resolution, "channels": dataset.num_channels,
                       "label_dim": dataset.label_dim}}
    write_text_atomic(run_dir / "config.json", json.dumps(doc, indent=2, sort_keys=True) + "\n")


def read_config(run_dir: Path) -> TrainConfig:
    path = run_dir / "config.json"
    if not path.is_file():
        raise UserError(f"--resume {run_dir}: not a run directory (no config.json)")
    try:
        return TrainConfig.from_dict(json.loads(path.read_text())["train"])
    except (ValueError, KeyError, TypeError) as e:
        raise UserError(f"{path}: unreadable run config ({e})") from None
