"""Fixtures for `stylegan serve`: three tiny networks (StyleGAN2, conditional StyleGAN2, StyleGAN3) and a real
uvicorn server on an ephemeral loopback port (module-scoped, stopped afterwards)."""

from __future__ import annotations

import contextlib
import threading

import pytest
import torch

pytest.importorskip("fastapi", reason='the serve extra is not installed (pip install "stylegan[serve]")')
pytest.importorskip("uvicorn", reason='the serve extra is not installed (pip install "stylegan[serve]")')
pytest.importorskip("httpx", reason="httpx is not installed (pip install httpx)")


def tiny_config(arch: str = "stylegan2", c_dim: int = 0):
    """16x16 networks small enough to render in a few milliseconds on one CPU thread."""
    from stylegan.models import GeneratorConfig, MappingConfig, StyleGAN2SynthesisConfig
    from stylegan.models.config import StyleGAN3SynthesisConfig

    if arch == "stylegan3-t":
        synthesis = StyleGAN3SynthesisConfig(channel_base=256, channel_max=16, num_layers=4, num_critical=1,
                                             margin_size=4)
    else:
        synthesis = StyleGAN2SynthesisConfig(channel_base=256, channel_max=32)
    return GeneratorConfig(arch=arch, z_dim=16, w_dim=16, c_dim=c_dim, img_resolution=16,
                           mapping=MappingConfig(num_layers=2), synthesis=synthesis)


def tiny_network(name: str, arch: str = "stylegan2", c_dim: int = 0, seed: int = 0):
    from stylegan.models import Generator
    from stylegan.serve.renderer import Network

    torch.manual_seed(seed)
    G = Generator(tiny_config(arch, c_dim)).eval().requires_grad_(False)
    with torch.no_grad():
        G.mapping.w_avg.normal_()  # A fresh network's w_avg is 0; a nonzero one makes psi and cutoff visible.
    G.model_id = f"test-{name}"
    return Network(name, G, num_dirs=4)


@pytest.fixture(scope="module")
def networks():
    torch.set_num_threads(1)
    return {"sg2": tiny_network("sg2"), "cond": tiny_network("cond", c_dim=3, seed=1),
            "sg3": tiny_network("sg3", "stylegan3-t", seed=2)}


@contextlib.contextmanager
def running(app):
    """Serve `app` with uvicorn from a thread on an ephemeral loopback port; yields the base URL, stops on exit."""
    import uvicorn

    from stylegan.cli.serve import bind

    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        threading.Event().wait(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


@pytest.fixture(scope="module")
def start():
    """The `running(app)` context manager, for tests that need their own server."""
    return running


@pytest.fixture(scope="module")
def server(networks):
    """Base URL of a live server over `networks`."""
    from stylegan.serve.app import create_app

    with running(create_app(networks)) as url:
        yield url
