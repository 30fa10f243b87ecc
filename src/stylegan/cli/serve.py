"""Explore networks in the browser: seeds, truncation, style mixing, interpolation, SeFa directions and (StyleGAN3)
translate/rotate, rendered live by a small local web server; open the printed address. Several --network options
give a selector; names are the file stems. Binds to 127.0.0.1 unless --host says otherwise. The HTTP API
(/api/networks, /api/image, /api/interpolate) is documented in the README.

Needs the serve extra: pip install "stylegan[serve]".

Examples:
  stylegan serve --network model.safetensors
  stylegan serve --network ffhq.pkl --network cats.safetensors --port 8000 --device cuda
"""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

from ..errors import UserError
from .common import add_device_argument, load_network, warn

HELP = "explore networks in the browser (needs the serve extra)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--network", action="append", required=True, metavar="PATH",
                   help="our .safetensors checkpoint or an official .pkl; repeat for several")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=7860, help="(default: 7860; 0 = any free port)")
    p.add_argument("--directions", type=int, default=8, metavar="K",
                   help="SeFa directions per network, computed at start-up (default: 8)")
    p.add_argument("--queue", type=int, default=64, metavar="N",
                   help="requests that may wait; more are answered 503 (default: 64)")
    p.add_argument("--batch", type=int, default=8, metavar="N", help="requests rendered together (default: 8)")
    add_device_argument(p)


def run(args) -> int:
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError:
        raise UserError('stylegan serve needs the serve extra: pip install "stylegan[serve]"') from None
    from ..serve.app import create_app
    from ..serve.renderer import Network

    if not 0 <= args.port <= 65535 or args.queue < 1 or args.batch < 1 or args.directions < 0:
        raise UserError("--port must be in 0..65535, --queue and --batch >= 1, --directions >= 0")
    with bind(args.host, args.port) as sock:  # Before loading, so a taken port fails fast.
        networks = {}
        for name, path in zip(unique_names(args.network), args.network):
            networks[name] = Network(name, load_network(path, args.device), args.directions)
            print(f"loaded {name} ({networks[name].G.config.arch}, {networks[name].G.img_resolution}²) from {path}")
        app = create_app(networks, args.queue, args.batch)
        host, port = sock.getsockname()[:2]
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            warn(f"listening on {args.host}: anyone who can reach this machine can use the page")
        print(f"serving at http://{f'[{host}]' if ':' in host else host}:{port}/  (Ctrl+C to stop)", flush=True)
        uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
    return 0


def unique_names(paths: list[str]) -> list[str]:
    """Network names: file stems, with -2, -3, ... appended to repeats."""
    names: list[str] = []
    for p in paths:
        stem, n = Path(p).stem, 2
        name = stem
        while name in names:
            name, n = f"{stem}-{n}", n + 1
        names.append(name)
    return names


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0 = any free port); UserError when the address is taken or invalid."""
    # proto=IPPROTO_TCP, so asyncio sets TCP_NODELAY on accepted connections (else each reply waits ~40 ms for an ACK).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        return sock
    except OSError as e:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
