"""Shared benchmark helpers: timing with warm-up, peak memory, result tables and JSON output, official modules."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch


def machine() -> dict:
    info = {"python": platform.python_version(), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "cpu": platform.processor() or platform.machine()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def device_arg(text: str) -> str:
    """argparse type of --device: a one-line error for a device this machine does not have (not a traceback later)."""
    try:
        dev = torch.device(text)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"unknown device {text!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{text}: no CUDA device on this machine (torch {torch.__version__})")
    return text


def import_official(repo: str, module: str):
    """A module of a local NVlabs/stylegan3 checkout (e.g. "training.networks_stylegan2"), for mode official."""
    if repo not in sys.path:
        sys.path.insert(0, repo)
    return importlib.import_module(module)


def add_speedups(rows: list[dict], key: str, higher_is_faster: bool) -> None:
    """speedup_vs_ref / speedup_vs_official on every measured row (one per mode), where that base mode was measured."""
    measured = {r["mode"]: r for r in rows if key in r}
    for base_mode in ("ref", "official"):
        if base_mode in measured:
            base = measured[base_mode][key]
            for r in measured.values():
                r[f"speedup_vs_{base_mode}"] = round(r[key] / base if higher_is_faster else base / r[key], 2)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_fn(fn, device: torch.device, warmup: int = 1, repeat: int = 3) -> float:
    """Median seconds per call."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


# Dense BF16/FP16 Tensor Core peaks (TFLOP/s, no sparsity), the denominator of MFU (also for FP32 work).
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "V100": 125.0, "L40S": 362.0, "A10": 125.0}


def peak_tflops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_TFLOPS.items() if k in name), None)


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Process peak RSS (Linux: KiB).


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def print_table(rows: list[dict], columns: list[str]) -> None:
    widths = [max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    for r in rows:
        print("  ".join(str(r.get(c, "")).ljust(w) for c, w in zip(columns, widths)))


def write_json(path: str | None, payload: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {path}", file=sys.stderr)


AS_SHIPPED_HELP = ("each mode in a process of its own, rounds alternating between the modes (--repeat rounds, median "
                   "round): the official code with glibc's default allocator, as it ships; ours with what it does "
                   "itself (its fast path and training tune the allocator, nn/perf.py); no mode shares its process "
                   "with another's networks")


def _without_options(argv: list[str], options: tuple[str, ...]) -> list[str]:
    """argv with each of `options` (and its value, as "--opt v" or "--opt=v") and --as-shipped removed."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--as-shipped" or ("=" in a and a.split("=", 1)[0] in options):
            pass
        elif a in options:
            skip = True
        else:
            out.append(a)
    return out


def run_as_shipped(script: str, argv: list[str], modes: list[str], rounds: int, key: str,
                   higher_is_faster: bool) -> list[dict]:
    """Re-runs `script` once per round and mode, each alone in a fresh process (`--malloc default` for the official
    code, `--malloc own` for ours, `--repeat 3` inside), rounds interleaved so that load changes hit every mode
    alike. Returns one row per (config, batch, mode): the worker's row of the median round by `key`, with the
    per-round values and the speedups between the modes."""
    base = _without_options(argv, ("--modes", "--malloc", "--repeat", "--json"))
    per_round: dict[tuple, list[dict]] = {}
    for r in range(rounds):
        for mode in modes:
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "rows.json"
                cmd = [sys.executable, script, *base, "--modes", mode, "--repeat", "3", "--json", str(out),
                       "--malloc", "default" if mode == "official" else "own"]
                print(f"round {r + 1}/{rounds}: {mode} in its own process", file=sys.stderr)
                proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})
                rows = json.loads(out.read_text())["results"] if out.exists() else [
                    {"mode": mode, "error": f"worker exited with {proc.returncode}"}]
            for row in rows:
                per_round.setdefault((row.get("config"), row.get("batch"), mode), []).append(row)
    results: dict[tuple, list[dict]] = {}
    for (config, batch, mode), rows in per_round.items():
        timed = sorted((r for r in rows if key in r), key=lambda r: r[key])
        row = dict(timed[(len(timed) - 1) // 2]) if timed else dict(rows[-1])
        row.update({"rounds": [r.get(key) for r in rows], "process": "own, allocator as shipped"})
        results.setdefault((config, batch), []).append(row)
    out_rows = []
    for rows in results.values():
        for r in rows:  # The worker's are against itself (one mode per process).
            r.pop("speedup_vs_ref", None)
            r.pop("speedup_vs_official", None)
        add_speedups(rows, key, higher_is_faster)
        out_rows += rows
    return out_rows
