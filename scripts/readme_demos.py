"""Reproduce the README's demonstrations: ADA on 200 images, fine-tuning vs training from scratch, and StyleGAN1 vs
StyleGAN2 (droplets). Runs `stylegan train` as subprocesses, `--parallel` at a time, one thread each; each pair is
compared at the same kimg. Writes PNGs into OUTDIR (and the runs into OUTDIR/runs).

Examples:
  python scripts/readme_demos.py --outdir demos                      # all three (about an hour on 2 CPU cores)
  python scripts/readme_demos.py --outdir demos --only ada --ada-length 40
  python scripts/readme_demos.py --outdir demos --device cuda --parallel 4 --ada-length 200 --drop-kimg 1000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import PIL.Image
import PIL.ImageDraw
import torch

from stylegan.checkpoint import load
from stylegan.images import make_grid, to_uint8
from stylegan.latents import seeds_to_z
from stylegan.plot import Series, line_chart

ALL_EMOJI = "builtin:emoji-all"  # All 1,979 emoji, people included: the ADA and StyleGAN1/2 demos' data.


def run_commands(cmds: list[list[str]], parallel: int, log_dir: Path) -> None:
    """Run training commands, `parallel` at a time, one thread each; stop on the first failure. A run whose
    directory already holds its final snapshot (from an earlier call with the same OUTDIR) is not run again."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    pending, running = [c for c in cmds if not finished(log_dir, c)], []
    while pending or running:
        while pending and len(running) < parallel:
            cmd = pending.pop(0)
            log = open(log_dir / f"{cmd[cmd.index('--desc') + 1]}.log", "w")
            print("$", " ".join(cmd), flush=True)
            running.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), cmd))
        proc, cmd = running.pop(0)
        if proc.wait() != 0:
            raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}; see {log_dir}")


def train_cmd(outdir: Path, desc: str, data: str, kimg: float, device: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "stylegan", "train", "--outdir", str(outdir), "--data", data, "--preset", "small",
            "--kimg", str(kimg), "--tick", "2", "--snap", "1", "--device", device, "--workers", "0",
            "--desc", desc, *extra]


def finished(outdir: Path, cmd: list[str]) -> bool:
    desc, kimg = cmd[cmd.index("--desc") + 1], float(cmd[cmd.index("--kimg") + 1])
    if not any(p.is_dir() and p.name.endswith("-" + desc) for p in outdir.iterdir()):
        return False
    if snapshot_at(run_dir(outdir, desc), int(kimg)).is_file():
        print(f"reusing finished run {run_dir(outdir, desc)}", flush=True)
        return True
    raise SystemExit(f"{run_dir(outdir, desc)} is unfinished; delete it or choose another --outdir")


def run_dir(outdir: Path, desc: str) -> Path:
    (path,) = [p for p in outdir.iterdir() if p.is_dir() and p.name.endswith("-" + desc)]
    return path


def stats(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines() if line.strip()]


def snapshot_at(run: Path, kimg: int) -> Path:
    return run / f"network-snapshot-{kimg:06d}.safetensors"


def common_kimg(*runs: Path) -> int:
    kimgs = [{int(p.stem.split("-")[-1]) for p in r.glob("network-snapshot-*.safetensors")} for r in runs]
    return max(set.intersection(*kimgs))


@torch.no_grad()
def labelled_grid(path: Path, label: str, seeds: list[int], cols: int = 6) -> np.ndarray:
    G = load(path)
    img = make_grid(to_uint8(G(seeds_to_z(seeds, G.z_dim), None, noise_mode="const")), cols, pad=2)
    img = np.asarray(PIL.Image.fromarray(img).resize((img.shape[1] * 2, img.shape[0] * 2), PIL.Image.NEAREST))
    panel = PIL.Image.new("RGB", (img.shape[1], img.shape[0] + 22), "white")
    panel.paste(PIL.Image.fromarray(img), (0, 22))
    PIL.ImageDraw.Draw(panel).text((4, 5), label, fill="black")
    return np.asarray(panel)


def side_by_side(panels: list[np.ndarray]) -> np.ndarray:
    h = max(p.shape[0] for p in panels)
    padded = [np.pad(p, [(0, h - p.shape[0]), (0, 16), (0, 0)], constant_values=255) for p in panels]
    return np.concatenate(padded, axis=1)[:, :-16]


def ada_demo(args, runs: Path) -> None:
    """Emoji cut to 200 images, with and without ADA: D's overfitting statistic and p over time, and samples."""
    common = ["--subset", "200", "--ada-kimg", str(args.ada_speed)]
    if args.ada_gamma is not None:
        common += ["--gamma", str(args.ada_gamma)]
    run_commands([train_cmd(runs, "ada", ALL_EMOJI, args.ada_length, args.device, *common, "--aug", "ada"),
                  train_cmd(runs, "noaug", ALL_EMOJI, args.ada_length, args.device, *common, "--aug", "noaug")],
                 args.parallel, runs)
    on, off = run_dir(runs, "ada"), run_dir(runs, "noaug")
    s_on, s_off = stats(on), stats(off)
    series = [Series("E[sign D(real)], no augmentation", [r["kimg"] for r in s_off], [r["signs_real"] for r in s_off]),
              Series("E[sign D(real)], ADA", [r["kimg"] for r in s_on], [r["signs_real"] for r in s_on]),
              Series("augment p (ADA)", [r["kimg"] for r in s_on], [r["augment_p"] for r in s_on])]
    chart = line_chart(series, "200 emoji: discriminator overfitting without and with ADA", hlines={"target": 0.6})
    PIL.Image.fromarray(chart).save(args.outdir / "ada_curves.png")
    k = common_kimg(on, off)
    seeds = list(range(24))
    grid = side_by_side([labelled_grid(snapshot_at(off, k), f"no augmentation, {k} kimg", seeds),
                         labelled_grid(snapshot_at(on, k), f"ADA, {k} kimg", seeds)])
    PIL.Image.fromarray(grid).save(args.outdir / "ada_grids.png")


def finetune_demo(args, runs: Path) -> None:
    """Train on smileys, then fine-tune on the animal faces; compare with the animals trained from scratch."""
    run_commands([train_cmd(runs, "smileys", "builtin:emoji-smileys", args.base_kimg, args.device)], 1, runs)
    base = sorted(run_dir(runs, "smileys").glob("network-snapshot-*.safetensors"))[-1]
    animals = "builtin:emoji-animals"
    run_commands([train_cmd(runs, "finetune", animals, args.ft_kimg, args.device, "--resume", str(base)),
                  train_cmd(runs, "scratch", animals, args.ft_kimg, args.device)],
                 args.parallel, runs)
    ft, sc = run_dir(runs, "finetune"), run_dir(runs, "scratch")
    k = common_kimg(ft, sc)
    seeds = list(range(24))
    grid = side_by_side([labelled_grid(base, "start: trained on smileys", seeds),
                         labelled_grid(snapshot_at(ft, k), f"fine-tuned on 64 animal faces, {k} kimg", seeds),
                         labelled_grid(snapshot_at(sc, k), f"from scratch on 64 animal faces, {k} kimg", seeds)])
    PIL.Image.fromarray(grid).save(args.outdir / "finetune_grids.png")


def droplet_demo(args, runs: Path) -> None:
    """StyleGAN1 and StyleGAN2 with identical settings; samples and per-layer feature-map spike ratios."""
    extra = ["--resolution", str(args.drop_res), "--aug", "noaug"]
    run_commands([train_cmd(runs, "sg1", ALL_EMOJI, args.drop_kimg, args.device, "--cfg", "stylegan1", *extra),
                  train_cmd(runs, "sg2", ALL_EMOJI, args.drop_kimg, args.device, "--cfg", "stylegan2", *extra)],
                 args.parallel, runs)
    r1, r2 = run_dir(runs, "sg1"), run_dir(runs, "sg2")
    k = common_kimg(r1, r2)
    seeds = list(range(24))
    grid = side_by_side([labelled_grid(snapshot_at(r1, k), f"StyleGAN (AdaIN), {k} kimg", seeds),
                         labelled_grid(snapshot_at(r2, k), f"StyleGAN2 (demodulation), {k} kimg", seeds)])
    PIL.Image.fromarray(grid).save(args.outdir / "sg1_vs_sg2.png")
    subprocess.run([sys.executable, str(Path(__file__).parent / "feature_magnitudes.py"),
                    "--network", str(snapshot_at(r1, k)), "--label", "stylegan1",
                    "--network", str(snapshot_at(r2, k)), "--label", "stylegan2",
                    "--seeds", "0-15", "--outdir", str(args.outdir)], check=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--outdir", type=Path, default=Path("demos"))
    p.add_argument("--only", choices=["ada", "finetune", "droplets"], default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--parallel", type=int, default=2, help="training runs at a time (default: 2)")
    p.add_argument("--ada-length", type=float, default=40, help="length of both ADA runs in kimg (default: 40)")
    p.add_argument("--ada-speed", type=float, default=20, help="--ada-kimg of the ADA run (official: 500; default 20 "
                   "so that p can react within a short run)")
    p.add_argument("--ada-gamma", type=float, default=None, help="R1 gamma of both ADA runs (default: the preset's)")
    p.add_argument("--base-kimg", type=float, default=30, help="smileys pre-training length (default: 30)")
    p.add_argument("--ft-kimg", type=float, default=10, help="fine-tuning / scratch length (default: 10)")
    p.add_argument("--drop-kimg", type=float, default=40, help="StyleGAN1/2 run length (default: 40)")
    p.add_argument("--drop-res", type=int, default=32, help="StyleGAN1/2 resolution (default: 32)")
    args = p.parse_args()
    runs = args.outdir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    for name, demo in (("ada", ada_demo), ("finetune", finetune_demo), ("droplets", droplet_demo)):
        if args.only in (None, name):
            demo(args, runs)
    print(f"wrote demos to {args.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
