"""One training step: the four phases over this process's shards, gradient reduction, optimizer steps, EMA."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import torch

from ..nn import perf
from . import distributed, phases
from .config import TrainConfig
from .data import RealImages, seed_shard
from .ema import update_ema
from .schedule import blur_sigma, ema_beta, lazy_regularization_adam


@dataclass
class Optimizers:
    G: torch.optim.Optimizer
    D: torch.optim.Optimizer
    G_params: list  # What each optimizer updates (Freeze-D leaves frozen D layers out).
    D_params: list


def make_optimizers(n: phases.Nets, cfg: TrainConfig, D_params: list) -> Optimizers:
    """Adam(beta1 0, beta2 0.99, eps 1e-8); with lazy regularization, lr and betas are corrected for the interval
    and the same optimizer serves the main and the regularization phase (StyleGAN2 Appendix B)."""
    def adam(params, lr, interval):
        betas = (0.0, 0.99)
        if interval:
            lr, betas = lazy_regularization_adam(lr, betas, interval)
        return torch.optim.Adam(params, lr=lr, betas=betas, eps=1e-8)

    G_params = list(n.G.parameters())
    return Optimizers(G=adam(G_params, cfg.glr, g_reg_interval(cfg)), D=adam(D_params, cfg.dlr, d_reg_interval(cfg)),
                      G_params=G_params, D_params=D_params)


def g_reg_interval(cfg: TrainConfig) -> int | None:
    return cfg.g_reg_interval if cfg.pl_weight > 0 else None


def d_reg_interval(cfg: TrainConfig) -> int | None:
    return cfg.d_reg_interval if cfg.gamma > 0 else None


class TrackedBuffers:
    """Buffers that `tracking_emas` updates during the D phase (w_avg, StyleGAN3 magnitude EMAs).

    Each shard updates them from the same starting value; the results are averaged over all shards of all processes.
    Since every update is a lerp toward a batch statistic, this equals one update with the global mean statistic,
    so the result does not depend on how the batch is split across processes and accumulation rounds."""

    def __init__(self, G: torch.nn.Module):
        self.buffers = [b for m in G.modules() if hasattr(m, "track_emas") for b in m.buffers(recurse=False)]

    def begin(self) -> None:
        self.start = [b.detach().clone() for b in self.buffers]
        self.acc = [torch.zeros_like(b, dtype=torch.float64) for b in self.buffers]

    def before_shard(self) -> None:
        for b, s in zip(self.buffers, self.start):
            b.copy_(s)

    def after_shard(self) -> None:
        for a, b in zip(self.acc, self.buffers):
            a += b

    def finish(self, d: distributed.Dist, num_shards: int) -> None:
        for a, b in zip(self.acc, self.buffers):
            b.copy_(distributed.all_reduce_sum_(a, d) / num_shards)


@dataclass
class StepState:
    """Training state that changes every step (saved in the training state for exact resume)."""

    step: int = 0
    cur_nimg: int = 0
    pl_mean: torch.Tensor = field(default_factory=lambda: torch.zeros([]))
    seconds: float = 0.0  # Training time of the run up to the last tick, over all its processes (stats.jsonl "time").


class Stats:
    """Sums and counts of per-sample statistics: over a tick (reduced over processes when read), and over the
    ADA window (taken and reset every step)."""

    SUMMED = ("nonfinite_grads",)  # Reported as totals; everything else as means.
    WINDOWED = ("signs_real",)  # Also tracked for the ADA controller.

    def __init__(self):
        self.sums: dict[str, float] = {}
        self.counts: dict[str, float] = {}
        self.window: dict[str, list[float]] = {}

    def add(self, name: str, values: torch.Tensor) -> None:
        values = values.detach().float().flatten()
        total, count = float(values.sum()), values.numel()
        self.sums[name] = self.sums.get(name, 0.0) + total
        self.counts[name] = self.counts.get(name, 0.0) + count
        if name in self.WINDOWED:
            w = self.window.setdefault(name, [0.0, 0.0])
            w[0] += total
            w[1] += count

    def window_take(self, name: str) -> list[float]:
        """[sum, count] of `name` since the previous call."""
        return self.window.pop(name, [0.0, 0.0])

    def reduce(self, d: distributed.Dist, names: list[str]) -> dict[str, float | None]:
        t = torch.tensor([[self.sums.get(k, 0.0), self.counts.get(k, 0.0)] for k in names], dtype=torch.float64)
        t = distributed.all_reduce_sum_(t.to(d.device), d).cpu()
        return {k: (s if k in self.SUMMED else (s / c if c > 0 else None)) for k, (s, c) in zip(names, t.tolist())}


class _CompiledG:
    """G for the main phases: compiled mapping and synthesis forwards; every other attribute is G's."""

    def __init__(self, G: torch.nn.Module, mode: str):
        self.G = G
        self.mapping = perf.CompiledModule(G.mapping, mode, "G.mapping")
        self.synthesis = perf.CompiledModule(G.synthesis, mode, "G.synthesis")

    def __getattr__(self, name: str):
        return getattr(self.G, name)


def main_phase_nets(n: phases.Nets, speed: perf.Speed) -> phases.Nets:
    """The networks G main and D main run: with torch.compile on (CUDA, STYLEGAN_COMPILE), compiled forwards
    built once per Nets. Regularization phases keep the eager networks (double backward). On a PyTorch whose
    compiled graphs ignore requires_grad changes (perf.compile_follows_requires_grad): the eager ones, and a warning."""
    if not speed.compile:
        return n
    cached = getattr(n, "_compiled_main", None)
    if cached is None or cached[0] != speed.compile:
        if perf.compile_follows_requires_grad():
            main = phases.Nets(G=_CompiledG(n.G, speed.compile), D=perf.CompiledModule(n.D, speed.compile, "D"),
                               G_ema=n.G_ema, augment=n.augment)
        else:  # Compiled D would keep its G-phase graph (frozen parameters) in D's phase, and not learn.
            warnings.warn(f"STYLEGAN_COMPILE is ignored: torch.compile in PyTorch {torch.__version__} keeps a "
                          "module's graph when its parameters' requires_grad changes (pytorch/pytorch#139476), "
                          "which training does every phase; training runs eagerly (fixed in PyTorch 2.12)")
            main = n
        n._compiled_main = cached = (speed.compile, main)
    return cached[1]


def train_step(n: phases.Nets, opt: Optimizers, cfg: TrainConfig, reals: RealImages, d: distributed.Dist,
               shards: list[int], st: StepState, stats: Stats) -> None:
    """Run every phase due at st.step, update G_ema, advance st (step, cur_nimg, pl_mean)."""
    speed = perf.speed().for_device(d.device)  # CUDA autocast / torch.compile (nn/perf.py); nothing on CPU.
    main = main_phase_nets(n, speed)
    blur = blur_sigma(st.cur_nimg, cfg.blur_init_sigma, cfg.blur_fade_kimg)
    local = reals.step(st.step)
    num_shards = len(shards) * d.world
    tracked = TrackedBuffers(n.G)
    schedule = [("Gmain", 1), ("Greg", g_reg_interval(cfg)), ("Dmain", 1), ("Dreg", d_reg_interval(cfg))]
    for phase_idx, (name, interval) in enumerate(schedule):
        if interval is None or st.step % interval:
            continue
        is_G = name.startswith("G")
        optimizer, params = (opt.G, opt.G_params) if is_G else (opt.D, opt.D_params)
        optimizer.zero_grad(set_to_none=True)
        for p in params:
            p.requires_grad_(True)
        pl_sum = torch.zeros([], device=d.device)
        if name == "Dmain":
            tracked.begin()
        for k, (real_img, real_c) in zip(shards, local):
            seed_shard(cfg.seed, st.step, k, phase_idx, d.device)
            z = torch.randn([real_img.shape[0], n.G.z_dim], device=d.device)
            c = reals.random_labels(real_img.shape[0])
            with perf.autocast(d.device, speed):
                if name == "Gmain":
                    loss, s = phases.g_main(main, cfg, z, c, real_img, real_c, blur)
                elif name == "Greg":
                    loss, s = phases.g_reg(n, cfg, z, c, st.pl_mean)
                    pl_sum = pl_sum + s["pl_lengths"].mean()
                elif name == "Dmain":
                    tracked.before_shard()
                    loss, s = phases.d_main(main, cfg, z, c, real_img, real_c, blur)
                    tracked.after_shard()
                else:
                    loss, s = phases.d_reg(n, cfg, z, c, real_img, real_c, blur)
            (loss * interval).backward()  # Lazy regularization: scale by the interval (StyleGAN2 Appendix B).
            for key, v in s.items():
                stats.add(key, v)
        for p in params:
            p.requires_grad_(False)
        stats.add("nonfinite_grads", torch.tensor([distributed.reduce_gradients(params, d, num_shards)]))
        optimizer.step()
        if name == "Dmain":
            tracked.finish(d, num_shards)
        if name == "Greg":  # pl_mean moves toward the mean over all shards of all processes.
            st.pl_mean = st.pl_mean.lerp(distributed.all_reduce_sum_(pl_sum, d) / num_shards, cfg.pl_decay)
    update_ema(n.G_ema, n.G, ema_beta(cfg.batch, cfg.ema_kimg, cfg.ema_rampup, st.cur_nimg))
    st.step += 1
    st.cur_nimg += cfg.batch
