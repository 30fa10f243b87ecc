"""Training speed: seconds per step, sec/kimg, peak memory and MFU of the full StyleGAN training step (G main, D main
and the lazy regularizers at their intervals), per mode, measured side by side (interleaved repeats, median).

Run (CPU, the `small` preset at 32x32, batch 32, at its widths and at the earlier wider ones):
    python benchmarks/bench_train.py --json train_cpu.json
Run (CUDA, 256x256, batch 32: StyleGAN2 paper256 widths and StyleGAN3-T; official numbers: 21.6-24.2 s/kimg on
one V100 for StyleGAN2, 49.8 s/kimg on one A100 for StyleGAN3-T):
    python benchmarks/bench_train.py --device cuda --configs sg2-256,sg3t-256 \\
        --modes ref,fast,fast-bf16,fast-compile,fast-bf16-compile --aug-p 0.2 --json train_cuda.json
Modes: ref (op for op the official pure-PyTorch path) | fast (nn/impl.py), each with the official mixed precision
(FP16 in the 4 highest resolutions on CUDA; --fp32 turns it off); CUDA only: -bf16 / -fp16 (autocast the forward
passes, with the networks' FP16 layers off as `stylegan train --fp32` gives), -compile (torch.compile of the G/D
main forwards, mode max-autotune-no-cudagraphs), -tf32. These are the STYLEGAN_AUTOCAST / STYLEGAN_COMPILE /
STYLEGAN_TF32 settings of nn/perf.py that `stylegan train` reads.
A step's cost is averaged over the regularization schedule: t = t_main + t_Greg / g_interval + t_Dreg / d_interval,
each term measured on a step index where that phase is due. A mode that fails is reported and the others still run.
Mode official (StyleGAN2 configs, no augmentation): the official networks and loss (training/networks_stylegan2.py,
training/loss.py of a local NVlabs/stylegan3 checkout, --official PATH, whose requirements such as requests and
setuptools<81 must be installed) at the same config, driven phase by phase as its training loop does (zero_grad,
accumulate_gradients, gradient cleanup with nan_to_num, Adam step; G_ema update):
    python benchmarks/bench_train.py --configs small-32 --modes official,ref,fast --official ~/src/stylegan3
  (add --as-shipped to run each mode in a process of its own, the official code with glibc's default allocator)
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
import traceback
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (AS_SHIPPED_HELP, add_speedups, device_arg, import_official, machine, peak_memory_mb,  # noqa: E402
                    peak_tflops, print_table, reset_peak, run_as_shipped, sync, write_json)

from stylegan.flops import training_flops  # noqa: E402
from stylegan.models.official import discriminator_config_from_official, generator_config_from_official  # noqa: E402
from stylegan.nn import perf  # noqa: E402
from stylegan.nn.impl import use_impl  # noqa: E402
from stylegan.train import distributed  # noqa: E402
from stylegan.train.options import TrainOptions, resolve_config  # noqa: E402
from stylegan.train.setup import build_nets  # noqa: E402
from stylegan.train.step import (StepState, Stats, d_reg_interval, g_reg_interval, make_optimizers,  # noqa: E402
                                 train_step)

# name: (cfg, preset, res, overrides)
CONFIGS = {
    "small-32": ("stylegan2", "small", 32, {}),  # The preset as it is (cbase 1024, cmax 64 since the re-tuning).
    "small-32-wide": ("stylegan2", "small", 32, dict(cbase=4096, cmax=128)),  # The preset's earlier widths.
    "small-32-pl": ("stylegan2", "small", 32, dict(pl_weight=2.0)),  # With path-length regularization (Greg).
    "sg2-256": ("stylegan2", "paper256", 256, dict(batch=32, mbstd_group=4)),
    "sg3t-256": ("stylegan3-t", "stylegan2", 256, dict(batch=32, mbstd_group=4, gamma=2.0)),  # cbase 32768, as official
}
OFFICIAL = {"sg2-256": "21.6-24.2 s/kimg (1x V100, official CUDA kernels)",
            "sg3t-256": "49.8 s/kimg (1x A100, official CUDA kernels)"}


class FakeReals:
    """Stands in for RealImages: fixed random 'real' images, no labels."""

    def __init__(self, img: torch.Tensor):
        self.img = img

    def step(self, step):
        return [(self.img, torch.zeros([self.img.shape[0], 0], device=self.img.device))]

    def random_labels(self, n):
        return torch.zeros([n, 0], device=self.img.device)


def official_kwargs(cfg) -> tuple[dict, dict]:
    """The stylegan3-repository Generator / Discriminator kwargs of a StyleGAN2 run config (checked by converting
    them back)."""
    G, S, D = cfg.G, cfg.G.synthesis, cfg.D
    if G.arch != "stylegan2":
        raise ValueError(f"mode official supports StyleGAN2 configs, not {G.arch}")
    g = dict(z_dim=G.z_dim, c_dim=G.c_dim, w_dim=G.w_dim, img_resolution=G.img_resolution, img_channels=G.img_channels,
             mapping_kwargs=dict(num_layers=G.mapping.num_layers), channel_base=S.channel_base,
             channel_max=S.channel_max, num_fp16_res=S.num_fp16_res, conv_clamp=S.conv_clamp,
             architecture=S.architecture, use_noise=S.use_noise)
    d = dict(c_dim=D.c_dim, img_resolution=D.img_resolution, img_channels=D.img_channels, architecture=D.architecture,
             channel_base=D.channel_base, channel_max=D.channel_max, num_fp16_res=D.num_fp16_res,
             conv_clamp=D.conv_clamp, epilogue_kwargs=dict(mbstd_group_size=D.mbstd_group_size,
                                                           mbstd_num_channels=D.mbstd_num_channels))
    if generator_config_from_official(g, writer="stylegan3") != G or \
            discriminator_config_from_official(d) != D:
        raise ValueError("this config has settings the official kwargs above do not carry")
    return g, d


class OfficialStep:
    """One training step of the official code: its networks and StyleGAN2Loss, phases run as its training loop runs
    them (zero_grad, requires_grad on the phase's module, accumulate_gradients, gradients cleaned with nan_to_num,
    Adam step), then the G_ema update."""

    def __init__(self, repo: str, cfg, device: torch.device, reals: FakeReals):
        networks = import_official(repo, "training.networks_stylegan2")
        loss = import_official(repo, "training.loss")
        g, d = official_kwargs(cfg)
        self.G = networks.Generator(**g).train().requires_grad_(False).to(device)
        self.D = networks.Discriminator(**d).train().requires_grad_(False).to(device)
        self.G_ema = copy.deepcopy(self.G).eval()
        self.loss = loss.StyleGAN2Loss(device=device, G=self.G, D=self.D, r1_gamma=cfg.gamma,
                                       style_mixing_prob=cfg.style_mixing, pl_weight=cfg.pl_weight,
                                       pl_batch_shrink=cfg.pl_batch_shrink, pl_decay=cfg.pl_decay)
        self.opt = {m: torch.optim.Adam(net.parameters(), lr=lr, betas=(0.0, 0.99), eps=1e-8)
                    for m, net, lr in (("G", self.G, cfg.glr), ("D", self.D, cfg.dlr))}
        self.cfg, self.device, self.reals = cfg, device, reals

    def step(self, step: int) -> None:
        real_img, real_c = self.reals.step(step)[0]
        schedule = (("Gmain", 1), ("Greg", g_reg_interval(self.cfg)), ("Dmain", 1), ("Dreg", d_reg_interval(self.cfg)))
        for name, interval in schedule:
            if interval is None or step % interval:
                continue
            module, opt = (self.G, self.opt["G"]) if name[0] == "G" else (self.D, self.opt["D"])
            opt.zero_grad(set_to_none=True)
            module.requires_grad_(True)
            z = torch.randn([real_img.shape[0], self.G.z_dim], device=self.device)
            self.loss.accumulate_gradients(phase=name, real_img=real_img, real_c=real_c, gen_z=z, gen_c=real_c,
                                           gain=interval, cur_nimg=0)
            module.requires_grad_(False)
            params = [p for p in module.parameters() if p.grad is not None]
            if params:
                flat = torch.cat([p.grad.flatten() for p in params])
                torch.nan_to_num(flat, nan=0, posinf=1e5, neginf=-1e5, out=flat)
                for p, grad in zip(params, flat.split([p.numel() for p in params])):
                    p.grad = grad.reshape(p.shape)
            opt.step()
        with torch.no_grad():
            for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
                p_ema.copy_(p.lerp(p_ema, 0.99))
            for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
                b_ema.copy_(b)


def parse_mode(mode: str) -> tuple[str, perf.Speed]:
    parts = mode.split("-")
    impl = parts[0]
    if mode == "official":
        return "official", perf.Speed()
    if impl not in ("ref", "fast"):
        raise ValueError(f"mode must be official or start with ref or fast, got {mode!r}")
    autocast = next((p for p in parts if p in ("bf16", "fp16")), None)
    return impl, perf.Speed(autocast=autocast, compile="max-autotune-no-cudagraphs" if "compile" in parts else None,
                            tf32="tf32" in parts)


def make_run(name: str, device: torch.device, batch: int | None, aug_p: float, fp32: bool):
    cfg_name, preset, res, over = CONFIGS[name]
    over = dict(over)
    if batch is not None:
        over["batch"] = batch
    opts = TrainOptions(outdir="-", data="-", cfg=cfg_name, preset=preset, fp32=fp32,
                        aug="fixed" if aug_p > 0 else "noaug", p=aug_p if aug_p > 0 else None, **over)
    cfg = resolve_config(opts, res=res, channels=3, label_dim=0)
    nets = build_nets(cfg, device)
    opt = make_optimizers(nets, cfg, list(nets.D.parameters()))
    torch.manual_seed(123)
    reals = FakeReals(torch.randn([cfg.batch_gpu, 3, res, res], device=device).clamp(-1, 1))
    return cfg, nets, opt, reals


def phase_steps(cfg) -> dict[str, int]:
    """Step index at which each phase is due: main (step 1), +Greg (step g_reg_interval), +Dreg (a multiple of
    d_reg_interval, so also Greg when both are on)."""
    g, d = g_reg_interval(cfg), d_reg_interval(cfg)
    out = {"main": 1}
    if g:
        out["Greg"] = g
    if d:
        out["Dreg"] = d * g if g and d % g else d
    return out


def average_step(med: dict[str, float], cfg) -> float:
    """Per-step cost over the lazy-regularization schedule."""
    g, d = g_reg_interval(cfg), d_reg_interval(cfg)
    greg = med["Greg"] - med["main"] if g else 0.0
    dreg = med["Dreg"] - med["main"] - greg if d else 0.0
    return med["main"] + (greg / g if g else 0.0) + (dreg / d if d else 0.0)


def run_step(run, dev, step):
    cfg, nets, opt, reals, impl, speed = run
    if impl == "official":
        nets.step(step)
        return
    perf.set_speed(speed)
    with use_impl(impl):
        st = StepState(step=step, cur_nimg=0, pl_mean=torch.zeros([], device=dev.device))
        train_step(nets, opt, cfg, reals, dev, [0], st, Stats())


def bench_config(name, args, device, dev) -> list[dict]:
    runs, rows = {}, {}
    for mode in args.modes.split(","):
        try:
            impl, speed = parse_mode(mode)
            torch.manual_seed(0)
            fp32 = args.fp32 or speed.autocast is not None  # Autocast replaces the FP16 layers (`train --fp32`).
            cfg, nets, opt, reals = make_run(name, device, args.batch, args.aug_p, fp32)
            if impl == "official":
                if not args.official:
                    raise ValueError("mode official needs --official PATH (a checkout of NVlabs/stylegan3)")
                if args.aug_p > 0:
                    raise ValueError("mode official runs without augmentation (--aug-p 0)")
                nets, opt = OfficialStep(args.official, cfg, device, reals), None
            runs[mode] = (cfg, nets, opt, reals, impl, speed)
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            rows[mode] = {"config": name, "mode": mode, "error": f"{type(e).__name__}: {e}"[:200]}
    if not runs:
        return list(rows.values())
    cfg0 = next(iter(runs.values()))[0]
    steps = phase_steps(cfg0)
    times = {m: {k: [] for k in steps} for m in runs}
    for m in list(runs):  # Warm up (and compile) every phase once; drop modes that fail.
        try:
            for s in steps.values():
                run_step(runs[m], dev, s)
            sync(device)
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            rows[m] = {"config": name, "mode": m, "error": f"{type(e).__name__}: {e}"[:200]}
            del runs[m]
    for _ in range(args.repeat):  # Interleaved: every mode sees the same machine load.
        for m, run in runs.items():
            for k, s in steps.items():
                sync(device)
                t = time.perf_counter()
                run_step(run, dev, s)
                sync(device)
                times[m][k].append(time.perf_counter() - t)
    flops = None
    if not args.no_flops:
        try:
            nets0 = next(r[1] for r in runs.values() if r[4] != "official")
            flops = training_flops(nets0.G, nets0.D, cfg0.batch, g_reg_interval(cfg0), d_reg_interval(cfg0),
                                   cfg0.pl_batch_shrink)["step_avg"]
        except Exception:  # noqa: BLE001 - no MFU column then, the timings still count.
            traceback.print_exc()
    for m, run in runs.items():
        cfg, nets, opt, reals, impl, speed = run
        med = {k: statistics.median(v) for k, v in times[m].items()}
        avg = average_step(med, cfg)
        reset_peak(device)
        run_step(run, dev, max(steps.values()))
        sync(device)
        compiled = getattr(nets, "_compiled_main", None)
        fell_back = compiled is not None and (compiled[1].D._run.failed or compiled[1].G.synthesis._run.failed)
        row = {"config": name, "mode": m, "device": device.type, "threads": torch.get_num_threads(),
               "batch": cfg.batch, "res": cfg.G.img_resolution, "s/step(main)": round(med["main"], 4),
               **{f"s/step(+{k})": round(med[k], 4) for k in steps if k != "main"},
               "s/step(avg)": round(avg, 4), "sec/kimg": round(avg / cfg.batch * 1000, 2),
               "img/s": round(cfg.batch / avg, 1), "peak_mem_MB": round(peak_memory_mb(device)),
               **({"cpu_allocator": "tuned" if perf.cpu_allocator_tuned() else "glibc default"}
                  if device.type == "cpu" else {}),
               "setup": ("official code" if impl == "official" else
                         f"impl={impl} {speed.for_device(device).describe()}") + (" (compile FAILED: eager)"
                                                                              if fell_back else "")}
        if flops:
            row["TFLOP/s"] = round(flops / avg / 1e12, 3)
            if peak_tflops(device):
                row["MFU"] = round(flops / avg / 1e12 / peak_tflops(device), 3)
        if device.type == "cuda" and name in OFFICIAL:
            row["official"] = OFFICIAL[name]
        rows[m] = row
        print(row, file=sys.stderr)
    out = [rows[m] for m in args.modes.split(",") if m in rows]
    add_speedups(out, "s/step(avg)", higher_is_faster=False)
    runs.clear()  # Free GPU memory before the next config.
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", type=device_arg, default="cpu")
    p.add_argument("--configs", default="small-32,small-32-wide", help=f"comma list of {', '.join(CONFIGS)}")
    p.add_argument("--modes", default="ref,fast", help="official, ref, fast, fast-bf16, fast-fp16, fast-compile, "
                                                        "fast-tf32, combinations like fast-bf16-compile")
    p.add_argument("--official", default=None, metavar="PATH",
                   help="a local checkout of NVlabs/stylegan3: mode official trains its networks with its loss")
    p.add_argument("--batch", type=int, default=None, help="override the preset's batch")
    p.add_argument("--aug-p", type=float, default=0.0, help="fixed ADA probability (0 = no augmentation)")
    p.add_argument("--fp32", action="store_true", help="no FP16 layers on CUDA (default: official mixed precision)")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--malloc", choices=["tuned", "default", "own"], default="tuned",
                   help="CPU: keep freed memory for reuse (nn/perf.py, what training does), glibc's default, or own: "
                        "left to the code measured (the same as tuned for our training)")
    p.add_argument("--as-shipped", action="store_true", help=AS_SHIPPED_HELP)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--no-flops", action="store_true", help="skip the FLOP count (MFU)")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    # build_nets tunes the allocator on CPU; --malloc default undoes that choice by disabling it beforehand.
    if args.malloc == "default":
        import os
        os.environ["STYLEGAN_TUNE_MALLOC"] = "0"
    dev = distributed.Dist(rank=0, world=1, local_rank=0, device=device)
    rows = []
    if args.as_shipped:
        rows = run_as_shipped(__file__, sys.argv[1:], args.modes.split(","), args.repeat, "s/step(avg)", False)
    else:
        for name in args.configs.split(","):
            rows += bench_config(name, args, device, dev)
    perf.set_speed(perf.Speed.from_env())
    cols = ["config", "mode", "device", "threads", "batch", "res", "s/step(main)", "s/step(+Greg)", "s/step(+Dreg)",
            "s/step(avg)", "sec/kimg", "img/s", "speedup_vs_ref", "speedup_vs_official", "peak_mem_MB", "TFLOP/s",
            "MFU", "official", "rounds", "error"]
    print_table(rows, [c for c in cols if any(c in r for r in rows)])
    for r in rows:
        if "setup" in r:
            print(f"  {r['config']} {r['mode']}: {r['setup']}")
    write_json(args.json, {"machine": machine(), "args": vars(args), "results": rows})


if __name__ == "__main__":
    main()
