"""`stylegan serve` under load: latency per change for one user, and requests/s with several clients at once.

Saves random-weight StyleGAN2 networks (64² and 256², the configs of bench_generator.py, and the `small` training
preset at 64²) to a temporary folder, starts `stylegan serve` on each in its own process on an ephemeral loopback
port (nothing else is contacted), then
  1. one client changes seed and psi for --changes requests in a row (what dragging a slider does): latency p50/p90/p99;
  2. --clients clients send --requests requests in all, as fast as they can: requests/s, latency p50/p90/p99 and the
     mean batch the render queue formed.
Render time per image is the server's X-Render-Ms divided by the batch size. Each phase stops after --max-seconds.

Run: python benchmarks/bench_serve.py [--device cpu|cuda] [--configs small-64,sg2-64,sg2-256] [--threads 1]
                                     [--json out.json]
Needs the serve extra and httpx: pip install -e ".[serve,dev]". Start-up time includes importing torch and SeFa.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import device_arg, machine, print_table, write_json  # noqa: E402

from stylegan.checkpoint import save  # noqa: E402
from stylegan.models import Generator, GeneratorConfig, MappingConfig, StyleGAN2SynthesisConfig  # noqa: E402

CONFIGS = {
    # The `small` training preset (what `stylegan train --preset small` makes on a CPU): cbase 4096, cmax 128.
    "small-64": GeneratorConfig(img_resolution=64, mapping=MappingConfig(num_layers=2),
                                synthesis=StyleGAN2SynthesisConfig(channel_base=4096, channel_max=128)),
    "sg2-64": GeneratorConfig(img_resolution=64, synthesis=StyleGAN2SynthesisConfig(channel_base=16384)),
    "sg2-256": GeneratorConfig(img_resolution=256, synthesis=StyleGAN2SynthesisConfig(channel_base=16384)),
    "sg2-1024": GeneratorConfig(img_resolution=1024, synthesis=StyleGAN2SynthesisConfig(channel_base=32768)),
}


def percentiles(ms: list[float]) -> dict:
    p50, p90, p99 = np.percentile(ms, [50, 90, 99]) if ms else (float("nan"),) * 3
    return {"p50_ms": round(float(p50), 1), "p90_ms": round(float(p90), 1), "p99_ms": round(float(p99), 1)}


def one_user(url: str, n: int, max_seconds: float) -> dict:
    """Sequential requests, each a small change (next seed, another psi), as a user dragging a control."""
    latencies, render = [], []
    with httpx.Client(base_url=url, timeout=120) as client:
        client.get("/api/image", params={"seed": 0})  # Warm-up.
        start = time.perf_counter()
        for i in range(n):
            t = time.perf_counter()
            r = client.get("/api/image", params={"seed": i + 1, "psi": f"{0.5 + (i % 10) / 20:g}"})
            r.raise_for_status()
            latencies.append((time.perf_counter() - t) * 1000)
            render.append(float(r.headers["X-Render-Ms"]))
            if time.perf_counter() - start > max_seconds:
                break
    return {"phase": "1 user", "requests": len(latencies), **percentiles(latencies),
            "render_ms/img": round(float(np.median(render)), 1)}


async def many_users(url: str, clients: int, n: int, max_seconds: float) -> dict:
    """`clients` concurrent loops sharing `n` requests; counts statuses, latency, batch sizes."""
    latencies, per_image, batches, statuses = [], [], [], {}
    counter = iter(range(n))
    deadline = time.perf_counter() + max_seconds

    async def client_loop(client: httpx.AsyncClient):
        for i in counter:
            if time.perf_counter() > deadline:
                return
            t = time.perf_counter()
            r = await client.get("/api/image", params={"seed": 1000 + i, "psi": 0.7})
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            if r.status_code == 200:
                latencies.append((time.perf_counter() - t) * 1000)
                batch = int(r.headers["X-Batch-Size"])
                batches.append(batch)
                per_image.append(float(r.headers["X-Render-Ms"]) / batch)

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        start = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
        elapsed = time.perf_counter() - start
    return {"phase": f"{clients} users", "requests": sum(statuses.values()),
            "req/s": round(len(latencies) / elapsed, 2),
            **percentiles(latencies), "render_ms/img": round(float(np.median(per_image)), 1) if per_image else None,
            "mean_batch": round(float(np.mean(batches)), 2) if batches else None,
            "non_200": sum(v for k, v in statuses.items() if k != 200)}


@contextlib.contextmanager
def serve(path: Path, args):
    """`stylegan serve` on a free loopback port in a child process; yields its URL and start-up seconds."""
    env = dict(os.environ, **({"OMP_NUM_THREADS": str(args.threads)} if args.threads else {}))
    cmd = [sys.executable, "-m", "stylegan", "serve", "--network", str(path), "--port", "0", "--device", args.device,
           "--queue", str(args.queue), "--batch", str(args.batch)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        for line in proc.stdout:
            if line.startswith("serving at "):
                break
        else:
            raise RuntimeError(f"stylegan serve exited with status {proc.wait()}")
        yield line.split()[2].rstrip("/"), time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait(30)


def bench(name: str, tmp: Path, args) -> list[dict]:
    torch.manual_seed(0)
    path = tmp / f"{name}.safetensors"
    save(Generator(CONFIGS[name]), path)
    with serve(path, args) as (url, startup):
        rows = [one_user(url, args.changes, args.max_seconds),
                asyncio.run(many_users(url, args.clients, args.requests, args.max_seconds))]
    return [{"config": name, "device": args.device, "startup_s": round(startup, 1), **row} for row in rows]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", type=device_arg, default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--configs", default="small-64,sg2-64,sg2-256")
    p.add_argument("--changes", type=int, default=30, help="sequential requests in phase 1 (default: 30)")
    p.add_argument("--clients", type=int, default=8, help="concurrent clients in phase 2 (default: 8)")
    p.add_argument("--requests", type=int, default=64, help="requests in phase 2 (default: 64)")
    p.add_argument("--max-seconds", type=float, default=60, help="time limit per phase (default: 60)")
    p.add_argument("--queue", type=int, default=64, help="server queue size (default: 64)")
    p.add_argument("--batch", type=int, default=8, help="server max batch (default: 8)")
    p.add_argument("--threads", type=int, default=None, help="server's CPU threads (OMP_NUM_THREADS; default: all)")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.configs.split(","):
            rows.extend(bench(name, Path(tmp), args))
            for row in rows[-2:]:
                print(row, file=sys.stderr)
    print_table(rows, ["config", "device", "phase", "requests", "req/s", "p50_ms", "p90_ms", "p99_ms",
                       "render_ms/img", "mean_batch", "non_200", "startup_s"])
    write_json(args.json, {"machine": machine(), "args": vars(args), "results": rows})


if __name__ == "__main__":
    main()
