"""The renderer behind `stylegan serve`: a RenderRequest -> an image, kept apart from the HTTP routes (as the official
visualizer's `Renderer.render(**args)` is kept apart from its widgets). One worker thread renders queued requests in
small batches on the model's device; the queue is bounded so a crowd of clients cannot grow memory without limit.
"""

from __future__ import annotations

import collections
import concurrent.futures
import io
import queue
import threading
import time
from dataclasses import dataclass

import numpy as np
import PIL.PngImagePlugin
import torch

from ..edit.directions import apply_direction, sefa
from ..edit.interpolate import lerp
from ..edit.layers import layer_groups
from ..edit.mixing import style_mix
from ..edit.render import device_of
from ..images import provenance, to_pil, to_uint8
from ..latents import class_to_c, seeds_to_z
from ..models import truncate
from ..models.synthesis_v3 import has_input_transform, set_input_transform

NOISE_MODES = ("const", "random", "none")


@dataclass(frozen=True)
class RenderRequest:
    """One image: the ws of `seed` (lerped towards `seed_b` by `t`), truncated, mixed, moved along directions."""

    network: str  # Name of a loaded network (its file stem).
    seed: int = 0  # 0 .. 2**32 - 1, z as the official tools.
    psi: float = 1.0  # Truncation psi (StyleGAN §3, Eq. 3).
    cutoff: int | None = None  # Truncate only the first `cutoff` ws; None = all.
    noise: str = "const"  # const | random | none.
    class_idx: int | None = None  # Required by conditional networks, else None.
    mix_seed: int | None = None  # Style mixing (StyleGAN §3.1): take the ws at `mix_layers` from this seed.
    mix_layers: tuple[int, ...] = ()
    dirs: tuple[int, ...] = ()  # SeFa directions to move along, by `strengths` (units of w).
    strengths: tuple[float, ...] = ()
    seed_b: int | None = None  # Interpolation target; None = no interpolation.
    t: float = 0.0  # 0 = seed, 1 = seed_b (lerp in W).
    translate: tuple[float, float] = (0.0, 0.0)  # StyleGAN3 only: image widths.
    rotate: float = 0.0  # StyleGAN3 only: degrees.


class Network:
    """A generator with what the page needs: its SeFa directions (computed once) and an LRU cache of mapped ws."""

    def __init__(self, name: str, G: torch.nn.Module, num_dirs: int = 8, cache_size: int = 1024):
        self.name, self.G, self.cache_size = name, G, cache_size
        self.model_id = getattr(G, "model_id", "")
        num_dirs = min(num_dirs, G.w_dim)
        self.directions = (sefa(G, list(range(G.num_ws)), num_dirs).directions.to(device_of(G)) if num_dirs > 0
                           else torch.zeros([0, G.w_dim], device=device_of(G)))  # [K, w_dim]
        self.has_transform = has_input_transform(G)
        self.own_transform = G.synthesis.input.transform.clone() if self.has_transform else None
        self._ws: collections.OrderedDict = collections.OrderedDict()  # (seed, class) -> ws [num_ws, w_dim].

    def info(self) -> dict:
        G = self.G
        groups = layer_groups(G.num_ws) if G.num_ws >= 3 else {"coarse": list(range(G.num_ws))}
        return {"name": self.name, "model_id": self.model_id, "generation": G.config.arch, "z_dim": G.z_dim,
                "w_dim": G.w_dim, "num_ws": G.num_ws, "c_dim": G.c_dim, "resolution": G.img_resolution,
                "layers": groups, "num_directions": len(self.directions), "transform": self.has_transform}

    def mapped(self, seed: int, class_idx: int | None) -> torch.Tensor:
        """Untruncated ws [num_ws, w_dim] of a seed, from the cache (at most `cache_size` entries) or G.mapping."""
        key = (seed, class_idx)
        if key in self._ws:
            self._ws.move_to_end(key)
            return self._ws[key]
        device = device_of(self.G)
        ws = self.G.mapping(seeds_to_z([seed], self.G.z_dim, device), class_to_c(class_idx, self.G.c_dim, 1, device))[0]
        self._ws[key] = ws
        while len(self._ws) > self.cache_size:
            self._ws.popitem(last=False)
        return ws

    def set_transform(self, translate: tuple[float, float], rotate: float) -> None:
        """StyleGAN3: the user transform for the next synthesis call; (0, 0), 0 restores the network's own."""
        if is_own_transform(translate, rotate):
            self.G.synthesis.input.transform.copy_(self.own_transform)
        else:
            set_input_transform(self.G, translate, rotate)


def is_own_transform(translate: tuple[float, float], rotate: float) -> bool:
    """No tx/ty/rot: render with the network's own input transform (and claim no transform in the provenance)."""
    return translate == (0.0, 0.0) and rotate == 0.0


def request_ws(net: Network, req: RenderRequest) -> torch.Tensor:
    """The ws [num_ws, w_dim] a request describes: interpolate, truncate, mix, then move along directions."""
    ws = net.mapped(req.seed, req.class_idx)[None]  # [1, num_ws, w_dim]
    if req.seed_b is not None:
        ws = lerp(ws, net.mapped(req.seed_b, req.class_idx)[None], req.t)
    w_avg = getattr(net.G.mapping, "w_avg", None)  # Only read when psi != 1 (the app checks that it exists).
    ws = truncate(ws, w_avg, req.psi, req.cutoff)
    if req.mix_seed is not None and req.mix_layers:
        other = truncate(net.mapped(req.mix_seed, req.class_idx)[None], w_avg, req.psi, req.cutoff)
        ws = style_mix(ws, other, list(req.mix_layers))
    for k, strength in zip(req.dirs, req.strengths):
        ws = apply_direction(ws, net.directions[k], strength, list(range(net.G.num_ws)))
    return ws[0]


@torch.inference_mode()
def render(networks: dict[str, Network], reqs: list[RenderRequest]) -> list[np.ndarray]:
    """HWC uint8 images, one synthesis call per (network, noise mode, transform) group of requests."""
    groups = collections.defaultdict(list)
    for i, req in enumerate(reqs):
        groups[(req.network, req.noise, req.translate, req.rotate)].append(i)
    out: list = [None] * len(reqs)
    for (name, noise, translate, rotate), idx in groups.items():
        net = networks[name]
        if net.has_transform:
            net.set_transform(translate, rotate)
        ws = torch.stack([request_ws(net, reqs[i]) for i in idx])  # [N, num_ws, w_dim]
        for i, img in zip(idx, to_uint8(net.G.synthesis(ws, noise_mode=noise))):
            out[i] = img
    return out


def png_bytes(img: np.ndarray, req: RenderRequest, net: Network) -> bytes:
    """The image as PNG bytes carrying the provenance text chunks of `stylegan generate`, plus this page's edits."""
    fields = dict(model_id=net.model_id, network=net.name, seed=req.seed, truncation_psi=req.psi,
                  truncation_cutoff=req.cutoff, noise_mode=req.noise, **{"class": req.class_idx})
    if req.seed_b is not None:
        fields.update(seed_b=req.seed_b, t=f"{req.t:g}")
    if req.mix_seed is not None:
        fields.update(mix_seed=req.mix_seed, mix_layers=",".join(map(str, req.mix_layers)))
    if req.dirs:
        fields.update(sefa_directions=",".join(map(str, req.dirs)), strengths=",".join(f"{s:g}" for s in req.strengths))
    if net.has_transform and not is_own_transform(req.translate, req.rotate):
        fields.update(translate=f"{req.translate[0]:g},{req.translate[1]:g}", rotate=f"{req.rotate:g}")
    info = PIL.PngImagePlugin.PngInfo()
    for k, v in provenance(**fields).items():
        info.add_text(k, v)
    buf = io.BytesIO()
    to_pil(img).save(buf, format="PNG", pnginfo=info, compress_level=1)
    return buf.getvalue()


class RenderQueue:
    """At most `max_pending` requests wait (`submit` raises queue.Full beyond that); one worker thread takes up to
    `max_batch` at a time and renders them together. Results: (image, batch milliseconds, batch size)."""

    def __init__(self, networks: dict[str, Network], max_pending: int = 64, max_batch: int = 8):
        self.networks, self.max_batch = networks, max_batch
        self._queue: queue.Queue = queue.Queue(maxsize=max_pending)
        self._thread = threading.Thread(target=self._work, name="stylegan-serve-render", daemon=True)
        self._thread.start()

    def submit(self, req: RenderRequest) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._queue.put_nowait((req, future))
        return future

    def pending(self) -> int:
        return self._queue.qsize()

    def close(self) -> None:
        """Finish what is queued, then stop the worker."""
        self._queue.put(None)
        self._thread.join()

    def _work(self) -> None:
        while True:
            batch = [self._queue.get()]
            while batch[-1] is not None and len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            jobs = [job for job in batch if job is not None and job[1].set_running_or_notify_cancel()]
            self._render(jobs)
            if batch[-1] is None:
                return

    def _render(self, jobs: list) -> None:
        """Render the jobs together; if that fails, each alone, so one bad request fails only itself (500)."""
        if not jobs:
            return
        start = time.perf_counter()
        try:
            images = render(self.networks, [req for req, _ in jobs])
        except Exception as e:
            if len(jobs) == 1:
                jobs[0][1].set_exception(e)
            else:
                for job in jobs:
                    self._render([job])
            return
        ms = (time.perf_counter() - start) * 1000
        for (_, future), img in zip(jobs, images):
            future.set_result((img, ms, len(jobs)))

