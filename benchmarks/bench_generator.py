"""Generator inference speed: images/s, peak memory and model FLOPs utilisation, impl "ref" (op for op the official
implementation's path) vs "fast", measured side by side (interleaved repeats, median).

Run (CPU; the configs and batches of ../shared/reference/official_speed.md, official CPU 6.8 / 4.9 / 0.083 images/s):
    python benchmarks/bench_generator.py --json gen_cpu.json
Run (CUDA; 256 and 1024, fp32 / the official mixed precision / channels-last / torch.compile / CUDA graphs):
    python benchmarks/bench_generator.py --device cuda --configs sg2-256,sg2-1024,sg3t-256,sg3t-1024 \\
        --batches 1,8,32 --modes ref,fast,fast-bf16,fast-compile,fast-graphs --json gen_cuda.json
Run (side by side with the official code itself, from a local checkout of github.com/NVlabs/stylegan3, whose own
requirements must be installed, e.g. requests and setuptools<81; its networks get the same weights as ours):
    python benchmarks/bench_generator.py --modes official,ref,fast --official ~/src/stylegan3 --json vs_official.json
  (all in one process, where our allocator setting also speeds up the official code; --as-shipped runs each mode in a
  process of its own instead, the official code with glibc's default allocator as it ships)
Configs are the official constructor kwargs (stylegan3 repository classes, as official_speed.md states), so they carry
that repository's class defaults: conv_clamp 256 and FP16 in the 4 highest resolutions (which, as in the official
code, only take effect on CUDA).
Modes: official (the official networks, --official) | ref | fast and, CUDA only, fast-bf16 / fast-fp16 (autocast over
the whole generator, FP16 layers off), fast-compile (torch.compile), fast-graphs (CUDA graph replay), and combinations
(fast-bf16-graphs). A mode that fails on this machine is reported as failed and the others still run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
import traceback
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (AS_SHIPPED_HELP, add_speedups, device_arg, import_official, machine, peak_memory_mb,  # noqa: E402
                    peak_tflops, print_table, reset_peak, run_as_shipped, sync, write_json)

from stylegan.flops import generator_flops  # noqa: E402
from stylegan.models import Generator  # noqa: E402
from stylegan.models.official import generator_config_from_official, load_official_state_dict  # noqa: E402
from stylegan.nn import perf  # noqa: E402
from stylegan.nn.impl import use_impl  # noqa: E402

def _official_kwargs(res: int, cbase: int, mapping_layers: int) -> dict:
    return dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=res, img_channels=3, channel_base=cbase, channel_max=512,
                mapping_kwargs=dict(num_layers=mapping_layers))


# name: (arch, official Generator kwargs, default batches, official CPU images/s at those batches (official_speed.md))
OFFICIAL_CONFIGS = {
    "sg2-64": ("stylegan2", _official_kwargs(64, 16384, 8), (8,), {8: 6.8}),
    "sg2-256": ("stylegan2", _official_kwargs(256, 16384, 8), (2,), {2: 4.9}),
    "sg2-1024": ("stylegan2", _official_kwargs(1024, 32768, 8), (1,), {}),
    "sg3t-256": ("stylegan3-t", _official_kwargs(256, 32768, 2), (1,), {1: 0.083}),
    "sg3t-1024": ("stylegan3-t", _official_kwargs(1024, 32768, 2), (1,), {}),
}
# name: (our config, default batches, official CPU images/s)
CONFIGS = {name: (generator_config_from_official(kw, arch=arch, writer="stylegan3"), batches, speed)
           for name, (arch, kw, batches, speed) in OFFICIAL_CONFIGS.items()}


def official_generator(repo: str, name: str) -> torch.nn.Module:
    """The official Generator of config `name`, built by the code of a local NVlabs/stylegan3 checkout."""
    arch, kw, _, _ = OFFICIAL_CONFIGS[name]
    networks = import_official(repo, "training.networks_stylegan2" if arch == "stylegan2"
                               else "training.networks_stylegan3")
    return networks.Generator(**kw).eval().requires_grad_(False)


def make_runner(G: Generator, z: torch.Tensor, mode: str, device: torch.device, official=None):
    """A no-argument callable producing images, for one mode; also the description of what it does."""
    if mode == "official":
        if official is None:
            raise ValueError("mode official needs --official PATH (a checkout of NVlabs/stylegan3)")
        return (lambda: official(z, None, noise_mode="const")), "official code" + (
            " (its reference ops)" if device.type == "cpu" else "")
    parts = mode.split("-")
    impl = parts[0]
    if impl not in ("ref", "fast"):
        raise ValueError(f"mode must start with ref or fast, got {mode!r}")
    dtype = torch.bfloat16 if "bf16" in parts else torch.float16 if "fp16" in parts else None
    desc = [f"impl={impl}"]

    def forward():
        if dtype is None:
            return G(z, None, noise_mode="const")
        with torch.autocast(device.type, dtype=dtype):  # force_fp32: no FP16 layers inside the BF16/FP16 autocast.
            return G(z, None, noise_mode="const", force_fp32=True)

    if dtype is not None:
        desc.append(f"autocast={dtype}".replace("torch.", ""))
    inner = forward
    if "compile" in parts:
        inner = torch.compile(forward, mode="max-autotune-no-cudagraphs" if device.type == "cuda" else "default")
        desc.append("torch.compile")
    if "graphs" in parts:
        if device.type != "cuda":
            raise RuntimeError("CUDA graphs need a CUDA device")
        with use_impl(impl):
            inner = cuda_graph(inner, device)
        desc.append("cuda-graph")

    def fn():
        with use_impl(impl):  # Outside the compiled / captured function: it sets a Python global.
            return inner()
    return fn, " ".join(desc)


def cuda_graph(forward, device):
    """Capture one forward pass (static input z) and replay it."""
    s = torch.cuda.Stream(device)
    s.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(s):
        for _ in range(2):
            forward()
    torch.cuda.current_stream(device).wait_stream(s)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = forward()

    def replay():
        graph.replay()
        return out
    return replay


def bench(name: str, batch: int, modes: list[str], device: torch.device, repeat: int, seconds: float,
          official_repo: str | None = None, grad_mode: bool = False) -> list[dict]:
    cfg, _, official = CONFIGS[name]
    torch.manual_seed(0)
    G = Generator(cfg).eval().requires_grad_(False)
    G_official = None
    if official_repo:  # Both networks with the official code's random weights.
        G_official = official_generator(official_repo, name)
        load_official_state_dict(G, G_official.state_dict())
        G_official.to(device)
    G.to(device)
    z = torch.randn(batch, G.z_dim, device=device)
    try:
        flops = generator_flops(G, batch)
    except Exception:  # noqa: BLE001 - no FLOP columns then, the timings still count.
        traceback.print_exc()
        flops = None
    runners, rows, imgs = {}, {}, {}
    with contextlib.nullcontext() if grad_mode else torch.inference_mode():
        for mode in modes:  # Build (compile, capture) and warm up each mode; check it against ref.
            try:
                fn, desc = make_runner(G, z, mode, device, G_official)
                imgs[mode] = fn().float().clone()
                fn()
                sync(device)
                runners[mode] = fn
                rows[mode] = {"config": name, "mode": mode, "device": device.type, "threads": torch.get_num_threads(),
                              "batch": batch, "setup": desc, "times": []}
            except Exception as e:  # noqa: BLE001  A mode this machine cannot run: report it, keep going.
                traceback.print_exc()
                rows[mode] = {"config": name, "mode": mode, "device": device.type, "batch": batch,
                              "error": f"{type(e).__name__}: {e}"[:200]}
        for mode in runners:
            rows[mode]["max_abs_diff_vs_ref"] = (imgs[mode] - imgs["ref"]).abs().max().item() if "ref" in imgs else None
        del imgs
        # Calls per timing sample, so that one sample takes about `seconds` (GPU calls are short).
        calls = {}
        for mode, fn in runners.items():
            t = time.perf_counter()
            fn()
            sync(device)
            calls[mode] = max(1, int(seconds / max(time.perf_counter() - t, 1e-6)))
        for _ in range(repeat):  # Interleaved: every mode sees the same machine load.
            for mode, fn in runners.items():
                sync(device)
                t = time.perf_counter()
                for _ in range(calls[mode]):
                    fn()
                sync(device)
                rows[mode]["times"].append((time.perf_counter() - t) / calls[mode])
        for mode, fn in runners.items():
            reset_peak(device)
            fn()
            sync(device)
            r = rows[mode]
            sec = statistics.median(r.pop("times"))
            r.update({"images/s": round(batch / sec, 3), "ms/batch": round(sec * 1000, 2),
                      "peak_mem_MB": round(peak_memory_mb(device))})
            if device.type == "cpu":
                r["cpu_allocator"] = "tuned" if perf.cpu_allocator_tuned() else "glibc default"
            if flops:
                r.update({"GFLOP/img": round(flops / batch / 1e9, 1), "TFLOP/s": round(flops / sec / 1e12, 3)})
                if peak_tflops(device):
                    r["MFU"] = round(flops / sec / 1e12 / peak_tflops(device), 3)
            if device.type == "cpu" and batch in official:
                r["official_cpu_images/s"] = official[batch]
    out = list(rows.values())
    add_speedups(out, "images/s", higher_is_faster=True)
    del G, G_official
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", type=device_arg, default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--configs", default="sg2-64,sg2-256,sg3t-256", help=f"comma list of {', '.join(CONFIGS)}")
    p.add_argument("--batches", default=None, help="batch sizes, e.g. 1,8 (default: the official_speed.md ones)")
    p.add_argument("--modes", default="ref,fast",
                   help="official, ref, fast, fast-bf16, fast-fp16, fast-compile, fast-graphs")
    p.add_argument("--official", default=None, metavar="PATH",
                   help="a local checkout of NVlabs/stylegan3: mode official runs its networks (same weights)")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--seconds", type=float, default=0.0, help="min seconds per timing sample (CUDA: e.g. 0.5)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--malloc", choices=["tuned", "default", "own"], default="tuned",
                   help="CPU: keep freed memory for reuse (nn/perf.py), glibc's default (as the official code), or "
                        "own: left to the code measured (our fast path tunes it at its first CPU call)")
    p.add_argument("--as-shipped", action="store_true", help=AS_SHIPPED_HELP)
    p.add_argument("--grad-mode", action="store_true",
                   help="call the (frozen) networks in grad mode, outside torch.inference_mode, as scripts written "
                        "for the official code often do")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.malloc == "default":  # The fast path would otherwise tune it at its first CPU use.
        os.environ["STYLEGAN_TUNE_MALLOC"] = "0"
    if args.malloc == "tuned" and device.type == "cpu":
        perf.tune_cpu_allocator()
    if device.type == "cuda":
        perf.configure_cuda()
    rows = []
    if args.as_shipped:
        rows = run_as_shipped(__file__, sys.argv[1:], args.modes.split(","), args.repeat, "images/s", True)
    else:
        for name in args.configs.split(","):
            batches = [int(b) for b in args.batches.split(",")] if args.batches else CONFIGS[name][1]
            for batch in batches:
                rows += bench(name, batch, args.modes.split(","), device, args.repeat, args.seconds, args.official,
                              args.grad_mode)
                for r in rows[-len(args.modes.split(",")):]:
                    print(r, file=sys.stderr)
    cols = ["config", "mode", "device", "threads", "batch", "images/s", "speedup_vs_ref", "speedup_vs_official",
            "official_cpu_images/s", "ms/batch", "peak_mem_MB", "GFLOP/img", "TFLOP/s", "MFU", "max_abs_diff_vs_ref",
            "rounds", "error"]
    print_table(rows, [c for c in cols if any(c in r for r in rows)])
    write_json(args.json, {"machine": machine(), "args": vars(args), "results": rows})


if __name__ == "__main__":
    main()
