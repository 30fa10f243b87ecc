"""The training loop: `train(cfg, run_dir)` runs (or resumes) a run. Usable from Python with no CLI involved.

Each step runs the phases (step.py); every `tick` kimg it reports; every `snap` ticks it writes a snapshot
(network + training state), an image grid and metrics. SIGINT/SIGTERM finish the current step, write a snapshot
and return; `train(cfg, run_dir, resume=True)` continues from the newest complete snapshot, exactly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..checkpoint import resolve_device
from ..data.dataset import open_dataset
from ..files import exclusive_folder, remove_partials
from . import distributed
from .config import TrainConfig
from .progress import TICK_FIELDS, Reporter, grid_size, save_ada_plot, save_fakes_grid, save_reals_grid
from .setup import build_nets, load_run_snapshot, load_transfer_weights, trainable_D_params
from .state import latest_snapshot, save_snapshot, snapshot_id
from .step import StepState, Stats, make_optimizers, train_step


@dataclass
class TickState:
    cur_tick: int = 0
    tick_start_nimg: int = 0


def stop_signals() -> list[int]:
    """The signals that stop a run: SIGINT, SIGTERM, SIGHUP (a closed terminal), less those this process was started
    ignoring (`nohup` ignores SIGHUP; a background job in a script, SIGINT)."""
    found = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)]
    return [s for s in found if signal.getsignal(s) != signal.SIG_IGN]


class StopRequest:
    """SIGINT/SIGTERM/SIGHUP (a closed terminal) set a flag; every process agrees on stopping at the same step, which
    then writes a snapshot. A second signal stops at once (KeyboardInterrupt): during a long metric, say, whose
    snapshot is already written."""

    def __init__(self, announce: bool):
        self.flag, self.announce = False, announce
        self.previous = {s: signal.signal(s, self._handler) for s in stop_signals()}

    def _handler(self, signum, frame):
        if self.flag:
            raise KeyboardInterrupt
        self.flag = True
        if self.announce:  # os.write: print() is not safe inside a signal handler.
            with contextlib.suppress(OSError):
                os.write(2, f"\n{signal.Signals(signum).name}: stopping after this step with a snapshot "
                            f"(again to stop at once)\n".encode())

    def requested(self, d: distributed.Dist) -> bool:
        t = torch.tensor([float(self.flag)], device=d.device)
        return bool(distributed.all_reduce_sum_(t, d).item() > 0)

    def restore(self):
        for s, h in self.previous.items():
            signal.signal(s, h)


def train(cfg: TrainConfig, run_dir: str | Path, device: str | torch.device = "auto", resume: bool = False,
          max_steps: int | None = None) -> tuple[Path | None, bool]:
    """Train (or resume) the run in run_dir. Returns the last snapshot written and whether training reached
    cfg.kimg (False: stopped by SIGINT/SIGTERM, or by `max_steps`, as an interrupt would; used by tests)."""
    d = distributed.init(resolve_device(device).type)
    with exclusive_folder(run_dir, "run directory") if d.is_main else contextlib.nullcontext():
        return _train(cfg, Path(run_dir), d, resume, max_steps)


def _train(cfg: TrainConfig, run_dir: Path, d: distributed.Dist, resume: bool, max_steps: int | None):
    dataset = open_dataset(cfg.data, resolution=cfg.G.img_resolution, use_labels=cfg.cond, xflip=cfg.mirror,
                           max_size=cfg.subset)
    n = build_nets(cfg, d.device)
    opt = make_optimizers(n, cfg, trainable_D_params(n.D, cfg.freezed))
    st, tick = StepState(pl_mean=torch.zeros([], device=d.device)), TickState()
    ada = _make_ada(cfg)
    snap = latest_snapshot(run_dir) if resume else None
    if resume and d.is_main:
        for p in remove_partials(run_dir):  # Left by a run killed mid-write; never a complete file.
            print(f"removed the unfinished {p.name} of an earlier process")
    if snap is not None:
        _restore(n, opt, st, tick, ada, *snap)
    elif cfg.resume_from:
        load_transfer_weights(n, cfg.resume_from)
    for module in (n.G, n.D, n.G_ema):
        distributed.broadcast_module(module, d)
    rounds = cfg.batch // (cfg.batch_gpu * d.world)
    reals = _reals(dataset, cfg, d, rounds, st.step)
    rep = Reporter(run_dir, cfg.kimg, st.cur_nimg, enabled=d.is_main)
    if snap is not None and d.is_main:
        rep.forget_after(st.cur_nimg)  # Ticks logged after the snapshot by a killed process are trained again.
    gw, gh = cfg.grid or grid_size(cfg.G.img_resolution, d.device)
    grid_z = torch.from_numpy(np.random.RandomState(cfg.seed).randn(gw * gh, cfg.G.z_dim)).float().to(d.device)
    order = np.random.RandomState(123).permutation(reals.n)  # Labels of random reals, repeated if there are fewer.
    grid_c = reals.labels[torch.from_numpy(order[np.arange(gw * gh) % reals.n])]
    if d.is_main and snap is None:
        save_reals_grid(run_dir / "reals.png", reals, gw, gh)
        save_fakes_grid(run_dir / "fakes_init.png", n.G_ema, grid_z, grid_c.to(d.device), gw)
    rep.log(f"{'resuming at' if snap else 'starting at'} kimg {st.cur_nimg / 1000:g}; training to {cfg.kimg} kimg")
    stop, stats, last = StopRequest(announce=d.is_main), Stats(), None
    t_start = t_tick = time.time()
    start_nimg, time_before = st.cur_nimg, st.seconds  # Training time of earlier processes of this run.
    try:
        while True:
            train_step(n, opt, cfg, reals, d, [d.rank * rounds + r for r in range(rounds)], st, stats)
            _ada_update(ada, n, cfg, d, st, stats)
            rep.step(st.cur_nimg)
            done = st.cur_nimg >= cfg.kimg * 1000
            interrupted = stop.requested(d) or (max_steps is not None and st.step >= max_steps)
            tick_end = tick.tick_start_nimg + cfg.tick * 1000
            if not (done or interrupted or tick.cur_tick == 0 or st.cur_nimg >= tick_end):
                continue
            # Tick: report, then maybe snapshot.
            tick_kimg = (st.cur_nimg - tick.tick_start_nimg) / 1000
            record = {"tick": tick.cur_tick, "kimg": st.cur_nimg / 1000, "time": time_before + time.time() - t_start,
                      "sec_per_tick": time.time() - t_tick,
                      "sec_per_kimg": (time.time() - t_tick) / max(tick_kimg, 1e-9),
                      "augment_p": float(n.augment.p) if n.augment is not None else 0.0,
                      "pl_mean": float(st.pl_mean), **stats.reduce(d, TICK_FIELDS)}
            tick.cur_tick += 1
            tick.tick_start_nimg = st.cur_nimg
            snapshot_due = done or interrupted or (cfg.snap > 0 and (tick.cur_tick - 1) % cfg.snap == 0)
            st.seconds = record["time"]
            if snapshot_due:
                last = _snapshot(run_dir, n, opt, st, tick, ada, cfg, d, grid_z, grid_c, gw, record, dataset,
                                 with_metrics=not interrupted)
            rep.tick(record)
            if snapshot_due and d.is_main:
                save_ada_plot(run_dir, cfg.target if cfg.aug == "ada" else None)
            stats, t_tick = Stats(), time.time()
            if done or interrupted:
                break
    except KeyboardInterrupt:  # A second signal: no snapshot of this point.
        rep.log(f"stopped at once at kimg {st.cur_nimg / 1000:g}; a resume goes on from the last snapshot")
        raise
    except Exception as e:
        rep.record_error(st.cur_nimg / 1000, e)
        raise
    finally:
        stop.restore()
        rep.close()
    kimg_done = (st.cur_nimg - start_nimg) / 1000
    rep.log(f"{'interrupted' if not done else 'finished'} at kimg {st.cur_nimg / 1000:g} "
            f"({kimg_done:g} kimg in {time.time() - t_start:.0f}s); run directory: {run_dir}")
    distributed.shutdown(d)
    return last, done


def _reals(dataset, cfg: TrainConfig, d: distributed.Dist, rounds: int, start_step: int):
    from .data import RealImages

    shards = [d.rank * rounds + r for r in range(rounds)]
    return RealImages(dataset, cfg.seed, cfg.batch, cfg.batch_gpu, shards, d.device, start_step=start_step,
                      workers=cfg.workers)


def _make_ada(cfg: TrainConfig):
    if cfg.aug != "ada":
        return None
    from .ada import AdaController

    return AdaController(target=cfg.target, ada_kimg=cfg.ada_kimg, interval=cfg.ada_interval)


def _ada_update(ada, n, cfg: TrainConfig, d: distributed.Dist, st: StepState, stats: Stats) -> None:
    """Every ada_interval steps: p <- p + sign(E[sign D(real)] - target) * batch * interval / (ada_kimg * 1000)."""
    if ada is None:
        return
    s = stats.window_take("signs_real")  # Sign sum and count since the last update, this process.
    t = distributed.all_reduce_sum_(torch.tensor(s, dtype=torch.float64, device=d.device), d)
    ada.observe(float(t[0]), int(t[1]))
    if st.step % cfg.ada_interval == 0:
        n.augment.p.fill_(ada.update(float(n.augment.p), cfg.batch))


def _snapshot(run_dir, n, opt, st: StepState, tick: TickState, ada, cfg: TrainConfig, d, grid_z, grid_c, gw, record,
              dataset, with_metrics: bool):
    """Write fakes grid, network snapshot and training state, then metric results (main process). The snapshot
    comes first: a metric that fails (or is stopped) costs no training."""
    rng = distributed.gather_objects({"torch": torch.get_rng_state(),
                                      "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}, d)
    if not d.is_main:
        return None
    fakes = run_dir / f"fakes{snapshot_id(run_dir, st.cur_nimg)}.png"  # Named as its network file.
    save_fakes_grid(fakes, n.G_ema, grid_z, grid_c.to(grid_z.device), gw)
    state = {"step": st.step, "cur_nimg": st.cur_nimg, "seconds": st.seconds, "pl_mean": st.pl_mean.cpu(),
             "cur_tick": tick.cur_tick, "tick_start_nimg": tick.tick_start_nimg,
             "opt_G": opt.G.state_dict(), "opt_D": opt.D.state_dict(),
             "augment_p": n.augment.p.cpu() if n.augment is not None else None,
             "ada": ada.state_dict() if ada is not None else None, "rng": rng, "seed": cfg.seed}
    meta = {"kimg": f"{st.cur_nimg / 1000:g}", "tick": str(record["tick"]), "run": run_dir.name,
            "training": cfg.to_json(), "augment_p": repr(float(n.augment.p) if n.augment is not None else 0.0)}
    path = save_snapshot(run_dir, st.cur_nimg, n.G_ema, n.G, n.D, state, meta)
    if cfg.metrics and with_metrics:  # Metrics leave G_ema's mode and the global RNG state as they were.
        from ..metrics import MetricOptions, append_result, evaluate_metrics

        record["metrics"] = {}
        for result in evaluate_metrics(list(cfg.metrics), n.G_ema, dataset,
                                       options=MetricOptions(device=str(d.device))):  # With progress: can be long.
            append_result(run_dir, result, snapshot=path.name)
            record["metrics"].update(result.results)
    return path


def _restore(n, opt, st: StepState, tick: TickState, ada, net_path, state: dict) -> None:
    load_run_snapshot(n, net_path)
    opt.G.load_state_dict(state["opt_G"])
    opt.D.load_state_dict(state["opt_D"])
    st.step, st.cur_nimg = state["step"], state["cur_nimg"]
    st.seconds = float(state.get("seconds", 0.0))  # Absent from states written before it was kept.
    st.pl_mean = state["pl_mean"].to(st.pl_mean.device)
    tick.cur_tick, tick.tick_start_nimg = state["cur_tick"], state["tick_start_nimg"]
    if n.augment is not None and state["augment_p"] is not None:
        n.augment.p.copy_(state["augment_p"])
    if ada is not None and state["ada"] is not None:
        ada.load_state_dict(state["ada"])
