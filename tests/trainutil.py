"""Helpers for tests that run training through the CLI on tiny toy data."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import PIL.Image

from stylegan import checkpoint
from stylegan.cli import main

# A tiny 16x16 StyleGAN2 run: one step is 8 images.
TINY = ["--preset", "small", "--resolution", "16", "--cbase", "256", "--cmax", "32", "--batch", "8",
        "--mbstd-group", "4", "--device", "cpu", "--workers", "0", "--metrics", "none", "--grid", "4x2"]


def disc_images(root: Path, res: int, n: int = 40, gray: bool = False, seed: int = 0) -> Path:
    """n pictures of a colored disc on white, res x res, as a raw folder."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[:res, :res]
    for i in range(n):
        img = np.full((res, res, 3), 255, np.uint8)
        cy, cx = rng.uniform(res / 3, 2 * res / 3, 2)
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < (res / rng.uniform(2.5, 5)) ** 2] = rng.randint(0, 255, 3)
        PIL.Image.fromarray(img[:, :, 0] if gray else img).save(root / f"{i:02d}.png")
    return root


def run_train(*args) -> None:
    assert main(["train", *args]) == 0


def only_run(outdir: Path) -> Path:
    (run,) = [p for p in Path(outdir).iterdir() if p.is_dir()]
    return run


def run_stats(run: Path) -> list[dict]:
    """The run's stats.jsonl, one dict per tick."""
    return [json.loads(line) for line in (Path(run) / "stats.jsonl").read_text().splitlines()]


def initial_nets(run: Path):
    """The networks the run started from, rebuilt (seeded) from its config.json."""
    import torch

    from stylegan.train.config import TrainConfig
    from stylegan.train.setup import build_nets

    cfg = TrainConfig.from_dict(json.loads((Path(run) / "config.json").read_text())["train"])
    return build_nets(cfg, torch.device("cpu"))


def final_snapshot(run: Path) -> checkpoint.Checkpoint:
    return checkpoint.read(sorted(Path(run).glob("network-snapshot-*.safetensors"))[-1])


def cli(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stylegan", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
