"""HTTP API of `stylegan serve` against tiny networks on a live loopback server: every endpoint, the images they
return (same pixels as `stylegan generate`, provenance chunks), bad parameters -> 4xx JSON, 50 concurrent clients,
a full queue -> 503, the w cache bound, and the command itself."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import threading

import httpx
import numpy as np
import PIL.Image
import pytest

from stylegan.generate import generate_images
from stylegan.latents import MAX_SEED


def get(server: str, path: str, **params) -> httpx.Response:
    return httpx.get(server + path, params=params, timeout=30)


def pixels(r: httpx.Response) -> np.ndarray:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    return np.asarray(PIL.Image.open(io.BytesIO(r.content))).astype(np.int16)


def test_healthz_and_networks(server):
    assert get(server, "/healthz").json() == {"ok": True}
    nets = {n["name"]: n for n in get(server, "/api/networks").json()["networks"]}
    assert list(nets) == ["sg2", "cond", "sg3"]
    sg2 = nets["sg2"]
    assert {k: sg2[k] for k in ("z_dim", "w_dim", "num_ws", "c_dim", "resolution", "generation")} == {
        "z_dim": 16, "w_dim": 16, "num_ws": 6, "c_dim": 0, "resolution": 16, "generation": "stylegan2"}
    assert sg2["layers"] == {"coarse": [0], "middle": [1, 2], "fine": [3, 4, 5]}
    assert sg2["num_directions"] == 4 and not sg2["transform"]
    assert nets["cond"]["c_dim"] == 3 and nets["sg3"]["transform"] and nets["sg3"]["generation"] == "stylegan3-t"
    page = httpx.get(server + "/")
    assert page.status_code == 200 and "api/image" in page.text and page.headers["content-type"].startswith("text/html")


def test_image_matches_generate_and_carries_provenance(server, networks):
    r = get(server, "/api/image", network="sg2", seed=MAX_SEED, psi=0.7, cutoff=4)
    G = networks["sg2"].G
    [(_, expected)] = list(generate_images(G, [MAX_SEED], 0.7, 4))
    assert np.abs(pixels(r) - expected).max() <= 1
    text = PIL.Image.open(io.BytesIO(r.content)).text
    assert text["stylegan:model_id"] == "test-sg2" and text["stylegan:seed"] == str(MAX_SEED)
    assert text["stylegan:truncation_psi"] == "0.7" and text["stylegan:truncation_cutoff"] == "4"
    assert text["stylegan:noise_mode"] == "const" and text["Software"].startswith("stylegan")
    assert float(r.headers["X-Render-Ms"]) > 0 and int(r.headers["X-Batch-Size"]) >= 1
    # The network parameter is optional: the first network is the default.
    assert (pixels(get(server, "/api/image", seed=MAX_SEED, psi=0.7, cutoff=4)) == pixels(r)).all()


def test_parameters_change_the_image(server):
    base = pixels(get(server, "/api/image", seed=1))
    for params in [dict(seed=2), dict(psi=0.5), dict(mix_seed=2, mix_layers="fine"), dict(mix_seed=2),
                   dict(dir="0", strength="3"), dict(dir="1,2", strength="-2,2")]:
        assert (pixels(get(server, "/api/image", **{"seed": 1, **params})) != base).any(), params
    assert (pixels(get(server, "/api/image", seed=1, psi=0.5, cutoff=0)) == base).all()  # Truncating no ws.
    other = pixels(get(server, "/api/image", seed=2))
    assert (pixels(get(server, "/api/image", seed=1, mix_seed=2, mix_layers="all")) == other).all()
    # Interpolation: the endpoints are the two seeds, the middle is neither.
    assert np.abs(pixels(get(server, "/api/interpolate", seed_a=1, seed_b=2, t=0)) - base).max() <= 1
    assert np.abs(pixels(get(server, "/api/interpolate", seed_a=1, seed_b=2, t=1)) - other).max() <= 1
    mid = pixels(get(server, "/api/interpolate", seed_a=1, seed_b=2, t=0.5, psi=0.8))
    assert (mid != base).any() and (mid != other).any()


def test_conditional_and_stylegan3_parameters(server):
    c0, c1 = (pixels(get(server, "/api/image", network="cond", seed=0, **{"class": k})) for k in (0, 1))
    assert (c0 != c1).any()
    plain = pixels(get(server, "/api/image", network="sg3", seed=0))
    moved = pixels(get(server, "/api/image", network="sg3", seed=0, tx=0.25, rot=30))
    assert (moved != plain).any()
    assert (pixels(get(server, "/api/image", network="sg3", seed=0)) == plain).all()  # Transform restored.
    # No tx/ty/rot: the network's own transform, which the provenance does not claim to be the identity.
    assert "stylegan:translate" not in PIL.Image.open(io.BytesIO(get(server, "/api/image", network="sg3").content)).text
    text = PIL.Image.open(io.BytesIO(get(server, "/api/image", network="sg3", tx=0.25).content)).text
    assert text["stylegan:translate"] == "0.25,0"


@pytest.mark.parametrize("path, params, status", [
    ("/api/image", dict(seed=-1), 400),
    ("/api/image", dict(seed=MAX_SEED + 1), 400),
    ("/api/image", dict(seed="1.5"), 400),
    ("/api/image", dict(psi="abc"), 400),
    ("/api/image", dict(psi="nan"), 400),
    ("/api/image", dict(psi="inf"), 400),
    ("/api/image", dict(psi="1e39"), 400),  # Finite, but beyond float32: it made the whole batch fail.
    ("/api/image", dict(cutoff=7), 400),
    ("/api/image", dict(noise="loud"), 400),
    ("/api/image", dict(network="nope"), 404),
    ("/api/image", {"class": 0}, 400),  # Unconditional network.
    ("/api/image", {"network": "cond"}, 400),  # Conditional network without a class.
    ("/api/image", {"network": "cond", "class": 3}, 400),
    ("/api/image", dict(mix_seed=1, mix_layers="0-9"), 400),
    ("/api/image", dict(mix_seed=1, mix_layers="coarse,,x"), 400),
    ("/api/image", dict(mix_layers="fine"), 400),  # No mix_seed.
    ("/api/image", dict(dir="0"), 400),  # No strength.
    ("/api/image", dict(dir="4", strength="1"), 400),
    ("/api/image", dict(dir="0", strength="1e999"), 400),
    ("/api/image", dict(dir="0,0", strength="1,1"), 400),
    ("/api/image", dict(dir="0-4000000000", strength="1"), 400),  # Rejected before the range is expanded.
    ("/api/image", dict(mix_seed=1, mix_layers="0-4000000000"), 400),
    ("/api/image", dict(seed="9" * 5000), 400),  # Beyond Python's int() digit limit.
    ("/api/image", dict(tx=0.1), 400),  # Not a StyleGAN3 network.
    ("/api/image", dict(seed_a=1), 400),  # Interpolation parameter on /api/image.
    ("/api/interpolate", dict(seed_a=1, seed_b=2, t=1.5), 400),
    ("/api/interpolate", dict(seed_a=1, seed_b="x"), 400),
    ("/api/image", dict(seed=[1, 2]), 400),  # Given twice.
])
def test_bad_parameters_get_4xx_json(server, path, params, status):
    r = get(server, path, **params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json" and r.json()["error"]


def test_fifty_concurrent_requests_are_batched(server):
    async def burst():
        async with httpx.AsyncClient(base_url=server, timeout=60, limits=httpx.Limits(max_connections=50)) as client:
            return await asyncio.gather(*(client.get("/api/image", params={"network": ["sg2", "sg3"][i % 2],
                                                                            "seed": i, "psi": 0.5 + i / 100})
                                          for i in range(50)))

    responses = asyncio.run(burst())
    assert [r.status_code for r in responses] == [200] * 50
    assert max(int(r.headers["X-Batch-Size"]) for r in responses) > 1
    assert len({r.content for r in responses}) == 50


def test_full_queue_answers_503(networks, start, monkeypatch):
    from stylegan.serve import renderer
    from stylegan.serve.app import create_app

    entered, release = threading.Event(), threading.Event()
    real_render = renderer.render

    def slow_render(nets, reqs):
        entered.set()
        release.wait(30)
        return real_render(nets, reqs)

    monkeypatch.setattr(renderer, "render", slow_render)
    app = create_app(networks, max_pending=1, max_batch=1)
    results = []
    with start(app) as url:
        threads = [threading.Thread(target=lambda s=s: results.append(get(url, "/api/image", seed=s))) for s in (1, 2)]
        threads[0].start()
        assert entered.wait(30)  # The worker holds request 1 ...
        threads[1].start()
        for _ in range(3000):  # ... and request 2 fills the queue.
            if app.state.render_queue.pending() == 1:
                break
            threading.Event().wait(0.01)
        busy = get(url, "/api/image", seed=3)
        release.set()
        for t in threads:
            t.join(30)
    assert busy.status_code == 503 and "busy" in busy.json()["error"]
    assert sorted(r.status_code for r in results) == [200, 200]


def test_a_failing_request_fails_alone(networks, monkeypatch):
    import concurrent.futures

    from stylegan.serve import renderer

    real_render = renderer.render

    def render(nets, reqs):
        if any(r.seed == 13 for r in reqs):
            raise RuntimeError("unlucky")
        return real_render(nets, reqs)

    monkeypatch.setattr(renderer, "render", render)
    work = renderer.RenderQueue(networks)
    try:
        jobs = [(renderer.RenderRequest(network="sg2", seed=s), concurrent.futures.Future()) for s in (1, 13, 2)]
        work._render(jobs)  # The batch fails; each request is then rendered alone.
        assert [f.exception() is None for _, f in jobs] == [True, False, True]
        assert "unlucky" in str(jobs[1][1].exception()) and jobs[0][1].result()[2] == 1
    finally:
        work.close()


def test_w_cache_is_bounded(networks):
    from stylegan.serve.renderer import RenderRequest, render

    net = networks["sg2"]
    net.cache_size, saved = 4, net.cache_size
    try:
        render(networks, [RenderRequest("sg2", seed=s, mix_seed=s + 100) for s in range(10)])
        assert len(net._ws) == 4
    finally:
        net.cache_size = saved


def test_unique_names():
    from stylegan.cli.serve import unique_names

    assert unique_names(["a/net.safetensors", "b/net.pkl", "c/net.safetensors", "d/x.pkl"]) == [
        "net", "net-2", "net-3", "x"]


def test_serve_command(tmp_path, networks):
    """`stylegan serve` loads a checkpoint, binds an ephemeral loopback port, prints the address and serves."""
    from stylegan.checkpoint import save
    from stylegan.cli import build_parser

    args = build_parser().parse_args(["serve", "--network", "x.safetensors"])
    assert (args.host, args.port) == ("127.0.0.1", 7860)
    save(networks["sg2"].G, tmp_path / "tiny.safetensors")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "stylegan", "serve", "--network", str(tmp_path / "tiny.safetensors"),
                             "--port", "0", "--device", "cpu"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("serving at "):
                break
        url = lines[-1].split()[2].rstrip("/")
        assert url.startswith("http://127.0.0.1:"), lines
        assert [n["name"] for n in httpx.get(url + "/api/networks").json()["networks"]] == ["tiny"]
        assert pixels(httpx.get(url + "/api/image", params={"seed": 5})).shape == (16, 16, 3)
    finally:
        proc.terminate()
        proc.wait(30)

def test_serve_command_errors(tmp_path, capsys):
    from stylegan.cli import main

    assert main(["serve", "--network", str(tmp_path / "missing.pkl"), "--port", "0"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["serve", "--network", str(tmp_path / "missing.pkl"), "--port", "70000"]) == 2


def test_serve_without_the_extra_is_a_one_line_error(monkeypatch, capsys):
    from stylegan.cli import main

    monkeypatch.setitem(sys.modules, "fastapi", None)  # `import fastapi` now raises ImportError.
    assert main(["serve", "--network", "x.safetensors"]) == 2
    assert 'pip install "stylegan[serve]"' in capsys.readouterr().err


def test_requests_open_no_files(server, monkeypatch):
    """The server reads nothing from disk per request (the page is read at start-up) and writes nothing."""
    import builtins

    opened = []
    for module, name in [(builtins, "open"), (io, "open"), (os, "open")]:  # io.open: pathlib's reads and writes.
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _real=real, **k: opened.append(a[0]) or _real(*a, **k))
    with httpx.Client(base_url=server) as client:  # Connect before watching: the client may read certificates.
        client.get("/healthz")
        opened.clear()
        for path, params in [("/", {}), ("/api/networks", {}), ("/api/image", {"seed": 9, "dir": "1", "strength": "2"}),
                             ("/api/interpolate", {"seed_a": 1, "seed_b": 9, "t": 0.3}), ("/api/image", {"seed": -1})]:
            assert client.get(path, params=params).status_code in (200, 400)
    assert opened == []
