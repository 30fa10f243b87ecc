"""HTTP routes of `stylegan serve` (FastAPI): the page, /healthz, /api/networks, /api/image, /api/interpolate.

Query strings become RenderRequests here; bad ones get 4xx and a JSON {"error": ...}. Rendering is in renderer.py.
No request makes the server read or write a file: the page is read once at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import queue
import re
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ..edit.layers import parse_layers
from ..errors import UserError
from ..latents import MAX_MAGNITUDE, MAX_SEED, parse_int_list
from .renderer import NOISE_MODES, Network, RenderQueue, RenderRequest, png_bytes

COMMON = {"network", "psi", "cutoff", "noise", "class", "mix_seed", "mix_layers", "dir", "strength", "tx", "ty", "rot"}
IMAGE_PARAMS, INTERPOLATE_PARAMS = COMMON | {"seed"}, COMMON | {"seed_a", "seed_b", "t"}


class BadRequest(UserError):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _int(q, name: str, hi: int, default: int | None = None) -> int | None:
    text = q.get(name, "").strip()
    if text == "":
        return default
    if not re.fullmatch(r"\d{1,10}", text) or int(text) > hi:
        raise BadRequest(f"{name} must be an integer in 0..{hi}, got {text!r}")
    return int(text)


def _float(q, name: str, default: float, lo: float = -MAX_MAGNITUDE, hi: float = MAX_MAGNITUDE) -> float:
    text = q.get(name, "").strip()
    if text == "":
        return default
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not (math.isfinite(v) and lo <= v <= hi):
        raise BadRequest(f"{name} must be a finite number in {lo:g}..{hi:g}, got {text!r}")
    return v


def parse_query(q, networks: dict[str, Network], allowed: set[str]) -> RenderRequest:
    """Query parameters -> a validated RenderRequest (BadRequest: 404 for an unknown network, else 400)."""
    unknown = sorted(set(q.keys()) - allowed)
    if unknown:
        raise BadRequest(f"unknown parameter {unknown[0]!r}; this endpoint takes {', '.join(sorted(allowed))}")
    repeated = sorted(k for k in set(q.keys()) if len(q.getlist(k)) > 1)
    if repeated:
        raise BadRequest(f"parameter {repeated[0]!r} given more than once")
    name = q.get("network") or next(iter(networks))
    if name not in networks:
        raise BadRequest(f"unknown network {name!r}; loaded: {', '.join(networks)}", 404)
    net = networks[name]
    G = net.G
    if G.c_dim == 0 and q.get("class"):
        raise BadRequest(f"network {name!r} is unconditional: it takes no class")
    class_idx = _int(q, "class", G.c_dim - 1) if G.c_dim else None
    if G.c_dim and class_idx is None:
        raise BadRequest(f"network {name!r} is conditional: pass class=0..{G.c_dim - 1}")
    noise = q.get("noise") or "const"
    if noise not in NOISE_MODES:
        raise BadRequest(f"noise must be one of {', '.join(NOISE_MODES)}, got {noise!r}")
    mix_seed, mix_layers = _int(q, "mix_seed", MAX_SEED), ()
    if q.get("mix_layers") and mix_seed is None:
        raise BadRequest("mix_layers needs mix_seed")
    if any(len(n) > 4 for n in re.findall(r"\d+", q.get("mix_layers", "") + "," + q.get("dir", ""))):
        raise BadRequest("mix_layers and dir take small indices")  # Checked before expanding ranges like 0-99999999.
    try:
        if mix_seed is not None:
            mix_layers = tuple(parse_layers(q.get("mix_layers") or "coarse", G.num_ws))
        dirs = tuple(parse_int_list(q["dir"], "dir list")) if q.get("dir") else ()
    except UserError as e:
        raise BadRequest(str(e)) from None
    strengths = tuple(_float({"strength": s}, "strength", 0.0) for s in q.get("strength", "").split(",") if s.strip())
    if len(strengths) != len(dirs) or len(set(dirs)) != len(dirs) or any(k >= len(net.directions) for k in dirs):
        raise BadRequest(f"dir (distinct, in 0..{len(net.directions) - 1}) and strength must be lists of equal length")
    tx, ty, rot = _float(q, "tx", 0.0), _float(q, "ty", 0.0), _float(q, "rot", 0.0)
    if (tx, ty, rot) != (0, 0, 0) and not net.has_transform:
        raise BadRequest(f"tx/ty/rot need a StyleGAN3 network; {name!r} is {G.config.arch}")
    psi, interpolate = _float(q, "psi", 1.0), "seed_b" in allowed
    if psi != 1 and getattr(G.mapping, "w_avg", None) is None:
        raise BadRequest(f"network {name!r} tracks no w_avg, so it cannot truncate: leave psi at 1")
    return RenderRequest(
        network=name, seed=_int(q, "seed_a" if interpolate else "seed", MAX_SEED, 0), psi=psi,
        cutoff=_int(q, "cutoff", G.num_ws), noise=noise, class_idx=class_idx, mix_seed=mix_seed, mix_layers=mix_layers,
        dirs=dirs, strengths=strengths, seed_b=_int(q, "seed_b", MAX_SEED, 0) if interpolate else None,
        t=_float(q, "t", 0.0, 0.0, 1.0), translate=(tx, ty), rotate=rot)


def create_app(networks: dict[str, Network], max_pending: int = 64, max_batch: int = 8) -> FastAPI:
    """The web app over loaded networks; requests render through a RenderQueue (503 when `max_pending` wait)."""
    if not networks:
        raise ValueError("create_app needs at least one network")
    page = (resources.files(__package__) / "static" / "index.html").read_text(encoding="utf-8")
    work = RenderQueue(networks, max_pending, max_batch)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        await run_in_threadpool(work.close)

    app = FastAPI(title="stylegan serve", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.render_queue = work

    @app.exception_handler(BadRequest)
    async def bad_request(_request, e: BadRequest):
        return JSONResponse({"error": str(e)}, status_code=e.status)

    async def respond(req: RenderRequest) -> Response:
        try:
            future = work.submit(req)
        except queue.Full:
            return JSONResponse({"error": "busy: too many requests waiting; retry shortly"}, 503, {"Retry-After": "1"})
        img, ms, n = await asyncio.wrap_future(future)
        png = await run_in_threadpool(png_bytes, img, req, networks[req.network])
        return Response(png, media_type="image/png", headers={"X-Render-Ms": f"{ms:.1f}", "X-Batch-Size": str(n),
                                                              "Cache-Control": "no-store"})

    @app.get("/", response_class=HTMLResponse)
    async def index():
        return page

    @app.get("/healthz")
    async def healthz():
        return {"ok": True}

    @app.get("/api/networks")
    async def list_networks():
        return {"networks": [net.info() for net in networks.values()]}

    @app.get("/api/image")
    async def image(request: Request):
        return await respond(parse_query(request.query_params, networks, IMAGE_PARAMS))

    @app.get("/api/interpolate")
    async def interpolate(request: Request):
        return await respond(parse_query(request.query_params, networks, INTERPOLATE_PARAMS))

    return app

