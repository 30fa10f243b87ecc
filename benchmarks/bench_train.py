"""Training speed: seconds per step and sec/kimg of a full StyleGAN2 training step (G main, D main and the lazy
regularizers at their intervals), impl "ref" (op for op the official CPU path) vs "fast", measured side by side.

Run (CPU, the `small` preset at 32x32, batch 32, the lead's narrower widths and the preset's):
    python benchmarks/bench_train.py --json train_cpu.json
Run (CUDA, 256x256 StyleGAN2 `paper256`-like and StyleGAN3-T, batch 32, ref vs fast vs fast+compile):
    python benchmarks/bench_train.py --device cuda --configs sg2-256,sg3t-256 --modes ref,fast,fast-compile
A step's cost is averaged over the regularization schedule: t = t_main + (t_Greg + t_Dreg terms) / interval, where
each term is measured by running one step at a step index where that phase is due.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, peak_memory_mb, print_table, reset_peak, sync, write_json  # noqa: E402

from stylegan.nn import perf  # noqa: E402
from stylegan.nn.impl import use_impl  # noqa: E402
from stylegan.train import distributed  # noqa: E402
from stylegan.train.options import TrainOptions, resolve_config  # noqa: E402
from stylegan.train.setup import build_nets  # noqa: E402
from stylegan.train.step import StepState, Stats, make_optimizers, train_step  # noqa: E402

# name: (cfg, preset, res, overrides)
CONFIGS = {
    "small-32-narrow": ("stylegan2", "small", 32, dict(cbase=1024, cmax=64)),
    "small-32": ("stylegan2", "small", 32, {}),
    "small-32-pl": ("stylegan2", "small", 32, dict(pl_weight=2.0)),  # With path-length regularization (Greg).
    "sg2-256": ("stylegan2", "paper256", 256, dict(batch=32, mbstd_group=4)),
    "sg3t-256": ("stylegan3-t", "auto", 256, dict(batch=32)),
}


class FakeReals:
    """Stands in for RealImages: fixed random 'real' images, no labels."""

    def __init__(self, img: torch.Tensor):
        self.img = img

    def step(self, step):
        return [(self.img, torch.zeros([self.img.shape[0], 0], device=self.img.device))]

    def random_labels(self, n):
        return torch.zeros([n, 0], device=self.img.device)


def make_run(name: str, device: torch.device, batch: int | None, aug_p: float, fp32: bool):
    cfg_name, preset, res, over = CONFIGS[name]
    over = dict(over)
    if batch is not None:
        over["batch"] = batch
    opts = TrainOptions(outdir="-", data="-", cfg=cfg_name, preset=preset, fp32=fp32, aug="fixed" if aug_p > 0 else
                        "noaug", p=aug_p, **over)
    cfg = resolve_config(opts, res=res, channels=3, label_dim=0)
    nets = build_nets(cfg, device)
    opt = make_optimizers(nets, cfg, list(nets.D.parameters()))
    torch.manual_seed(123)
    reals = FakeReals(torch.randn([cfg.batch_gpu, 3, res, res], device=device).clamp(-1, 1))
    return cfg, nets, opt, reals


def phase_steps(cfg) -> dict[str, int]:
    """Step index at which each phase is due: main (step 1), +Greg (step g_reg_interval), +Dreg (a multiple of
    d_reg_interval, so also Greg when both are on)."""
    g = cfg.g_reg_interval if cfg.pl_weight > 0 else None
    d = cfg.d_reg_interval if cfg.gamma > 0 else None
    out = {"main": 1}
    if g:
        out["Greg"] = g
    if d:
        out["Dreg"] = d * g if g and d % g else d
    return out


def average_step(med: dict[str, float], cfg) -> float:
    """Per-step cost over the lazy-regularization schedule."""
    g = cfg.g_reg_interval if cfg.pl_weight > 0 else None
    d = cfg.d_reg_interval if cfg.gamma > 0 else None
    greg = med["Greg"] - med["main"] if g else 0.0
    dreg = med["Dreg"] - med["main"] - greg if d else 0.0
    return med["main"] + (greg / g if g else 0.0) + (dreg / d if d else 0.0)


def run_step(cfg, nets, opt, reals, dev, step):
    st = StepState(step=step, cur_nimg=0, pl_mean=torch.zeros([], device=dev.device))
    train_step(nets, opt, cfg, reals, dev, [0], st, Stats())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--configs", default="small-32-narrow,small-32")
    p.add_argument("--modes", default="ref,fast", help="comma list of ref, fast, fast-compile (CUDA: + autocast)")
    p.add_argument("--batch", type=int, default=None, help="override the preset's batch")
    p.add_argument("--aug-p", type=float, default=0.0, help="fixed ADA probability (0 = no augmentation)")
    p.add_argument("--fp32", action="store_true", help="no FP16 layers on CUDA (default: official mixed precision)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--malloc", choices=["tuned", "default"], default="tuned",
                   help="CPU: keep freed memory for reuse (nn/perf.py, what training does) or glibc's default")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    tuned = perf.tune_cpu_allocator() if device.type == "cpu" and args.malloc == "tuned" else False
    dev = distributed.Dist(rank=0, world=1, local_rank=0, device=device)
    rows = []
    for name in args.configs.split(","):
        runs = {}
        for mode in args.modes.split(","):
            torch.manual_seed(0)
            cfg, nets, opt, reals = make_run(name, device, args.batch, args.aug_p, args.fp32)
            impl = "ref" if mode == "ref" else "fast"
            runs[mode] = (cfg, nets, opt, reals, impl, {"impl": impl, "malloc_tuned": tuned})
        steps = phase_steps(next(iter(runs.values()))[0])
        times = {m: {k: [] for k in steps} for m in runs}
        for m, (cfg, nets, opt, reals, impl, setup) in runs.items():  # Warm-up (and compile) every phase once.
            with use_impl(impl):
                for k, s in steps.items():
                    run_step(cfg, nets, opt, reals, dev, s)
        for _ in range(args.repeat):  # Interleaved: ref, fast, ... per repeat, so load changes hit all alike.
            for m, (cfg, nets, opt, reals, impl, setup) in runs.items():
                with use_impl(impl):
                    for k, s in steps.items():
                        sync(device)
                        t = time.perf_counter()
                        run_step(cfg, nets, opt, reals, dev, s)
                        sync(device)
                        times[m][k].append(time.perf_counter() - t)
        for m, (cfg, nets, opt, reals, impl, setup) in runs.items():
            med = {k: statistics.median(v) for k, v in times[m].items()}
            main_t = med["main"]
            avg = average_step(med, cfg)
            reset_peak(device)
            with use_impl(impl):
                run_step(cfg, nets, opt, reals, dev, max(steps.values()))
            rows.append({"config": name, "mode": m, "device": device.type, "threads": torch.get_num_threads(),
                         "batch": cfg.batch, "res": cfg.G.img_resolution, "s/step(main)": round(main_t, 3),
                         **{f"s/step(+{k})": round(med[k], 3) for k in steps if k != "main"},
                         "s/step(avg)": round(avg, 3), "sec/kimg": round(avg / cfg.batch * 1000, 1),
                         "img/s": round(cfg.batch / avg, 1), "peak_mem_MB": round(peak_memory_mb(device)),
                         "setup": setup})
            print(rows[-1], file=sys.stderr)
        if "ref" in runs:
            base = next(r for r in rows if r["config"] == name and r["mode"] == "ref")["s/step(avg)"]
            for r in rows:
                if r["config"] == name:
                    r["speedup_vs_ref"] = round(base / r["s/step(avg)"], 2)
    cols = sorted({c for r in rows for c in r if c != "setup"}, key=lambda c: list(rows[0]).index(c)
                  if c in rows[0] else 99)
    print_table(rows, cols)
    write_json(args.json, {"machine": machine(), "args": vars(args), "results": rows})


if __name__ == "__main__":
    main()
