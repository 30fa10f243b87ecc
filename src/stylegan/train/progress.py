"""What a user sees while training: a progress bar (kimg, sec/kimg, ETA, losses, augment p), one log line per
tick in log.txt, one JSON object per tick in stats.jsonl, and image grids of reals and fakes."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from ..files import atomic_path, read_jsonl
from ..images import make_grid, save_png, to_uint8
from ..progress import silence

TICK_FIELDS = ["loss_G", "loss_D", "r1", "r2", "pl", "pl_lengths", "scores_real", "scores_fake", "signs_real",
               "nonfinite_grads"]


def format_duration(seconds: float) -> str:
    s = int(max(seconds, 0))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {(s // 60) % 60:02d}m"


class Reporter:
    def __init__(self, run_dir: Path, total_kimg: float, start_nimg: int, enabled: bool):
        self.run_dir, self.total_kimg, self.enabled = run_dir, total_kimg, enabled
        self.bar, self.stdout_open = None, True
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=round(total_kimg, 3), initial=round(start_nimg / 1000, 3), unit="kimg",
                            bar_format="{l_bar}{bar}| {n:.1f}/{total:.0f} kimg [{elapsed}<{remaining}{postfix}]",
                            dynamic_ncols=True)

    def step(self, cur_nimg: int) -> None:
        if self.bar is not None:
            self.bar.n = round(cur_nimg / 1000, 3)
            try:
                self.bar.refresh() if time.monotonic() - self.bar.last_print_t > 0.5 else None
            except OSError:  # The terminal has gone (closed window, dropped ssh).
                self.bar = None
                self._closed(sys.stderr)

    def forget_after(self, nimg: int) -> None:
        """Drop the stats.jsonl records of ticks past nimg: a resume trains them again (after a kill, the newest
        snapshot can be older than the last tick logged), and a line cut short by the kill."""
        path = self.run_dir / "stats.jsonl"
        if not path.is_file():
            return
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        keep = [r for r in read_jsonl(path) if r.get("kimg", 0) <= nimg / 1000 + 1e-9]
        if len(keep) < len(lines):
            with atomic_path(path) as tmp:
                tmp.write_text("".join(json.dumps(r) + "\n" for r in keep))
            self._append(f"resuming at kimg {nimg / 1000:g}: removed {len(lines) - len(keep)} later tick(s) "
                         "from stats.jsonl")

    def log(self, line: str) -> None:
        if not self.enabled:
            return
        self._append(line)
        if not self.stdout_open:
            return
        try:
            if self.bar is not None:
                self.bar.write(line)  # To stdout, above the bar.
            else:
                print(line, flush=True)
        except OSError:  # stdout piped into a reader that has stopped (`| head`), or a terminal gone: keep training.
            self.stdout_open = False
            self._closed(sys.stdout)

    def _closed(self, stream) -> None:
        """Send the rest of a closed stream to the null device, and say so in log.txt."""
        silence(stream)
        self._append(f"{stream.name} was closed; training goes on, logging to log.txt")

    def tick(self, record: dict) -> None:
        """Append the tick's record to stats.jsonl and show it."""
        if not self.enabled:
            return
        self._write(self.run_dir / "stats.jsonl", json.dumps(record) + "\n")
        eta = (self.total_kimg - record["kimg"]) * (record["sec_per_kimg"] or 0)
        fmt = lambda v: "-" if v is None else f"{v:.3g}"  # noqa: E731
        line = (f"tick {record['tick']:<5d} kimg {record['kimg']:<8g} time {format_duration(record['time']):<9s} "
                f"sec/kimg {fmt(record['sec_per_kimg']):<6s} ETA {format_duration(eta):<9s} "
                f"loss_G {fmt(record['loss_G'])} loss_D {fmt(record['loss_D'])} r1 {fmt(record['r1'])} "
                f"augment {record['augment_p']:.3f}")
        if record.get("metrics"):
            line += " " + " ".join(f"{k} {v:.4g}" for k, v in record["metrics"].items())
        if self.bar is not None:
            self.bar.set_postfix_str(f"{fmt(record['sec_per_kimg'])} s/kimg, G {fmt(record['loss_G'])}, "
                                     f"D {fmt(record['loss_D'])}, p {record['augment_p']:.3f}", refresh=False)
        self.log(line)

    def record_error(self, kimg: float, error: BaseException) -> None:
        """Keep why the run stopped in log.txt (the console shows the error itself), if log.txt can still be written."""
        if self.enabled:
            with contextlib.suppress(OSError, UserError):
                self._append(f"stopped at kimg {kimg:g} by an error: {type(error).__name__}: {error}")

    def _append(self, line: str) -> None:
        self._write(self.run_dir / "log.txt", line + "\n")

    @staticmethod
    def _write(path: Path, text: str) -> None:
        try:
            with open(path, "a") as f:
                f.write(text)
        except OSError as e:  # A full disk, mostly: one line naming the file (the snapshots are written atomically).
            raise UserError(f"{path}: cannot append to it ({e.strerror or e})") from None

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def grid_size(res: int, device: torch.device) -> tuple[int, int]:
    """Automatic snapshot grid: about 7680 x 4320 pixels like the official one, at most 16 x 16 images on a GPU and
    8 x 8 on a CPU (rendering the official 32 x 32 = 1024 images would cost more than a training tick there)."""
    cap = 16 if device.type == "cuda" else 8
    return int(np.clip(7680 // res, 4, cap)), int(np.clip(4320 // res, 4, cap))


def save_reals_grid(path: Path, reals, gw: int, gh: int) -> None:
    idx = torch.from_numpy(np.random.RandomState(123).permutation(reals.n)[: gw * gh] % reals.n)
    if reals.images is not None:
        img = reals.images[idx].permute(0, 2, 3, 1).numpy()
    else:
        img = np.stack([reals.dataset[int(i)][0].transpose(1, 2, 0) for i in idx])
    save_png(path, make_grid(img, gw))


def save_ada_plot(run_dir: Path, target: float | None) -> None:
    """ada.png: E[sign(D(real))] (the overfitting heuristic r_t) and augmentation p over training (StyleGAN2-ADA §3)."""
    from ..plot import Series, save_line_chart

    recs = read_jsonl(run_dir / "stats.jsonl")
    kimg = [r["kimg"] for r in recs]
    series = [Series("E[sign(D(real))]", kimg, [r.get("signs_real") for r in recs]),
              Series("augment p", kimg, [r.get("augment_p") for r in recs])]
    save_line_chart(run_dir / "ada.png", series, "Discriminator overfitting and ADA probability",
                    hlines={"target": target} if target is not None else None)


@torch.no_grad()
def save_fakes_grid(path: Path, G_ema, z: torch.Tensor, c: torch.Tensor, gw: int, batch: int = 64) -> None:
    """Uncurated grid from fixed latents, G_ema, constant noise (as the official fakesKKKKKK.png)."""
    imgs = [to_uint8(G_ema(z[i: i + batch], c[i: i + batch], noise_mode="const")) for i in range(0, len(z), batch)]
    save_png(path, make_grid(np.concatenate(imgs), gw))
