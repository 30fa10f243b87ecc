"""Argument helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UserError
from ..files import check_output_dir, check_output_file
from ..latents import MAX_MAGNITUDE, class_to_c, parse_seeds

if TYPE_CHECKING:
    from ..models import Generator


def _finite(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return v


def finite_float(text: str) -> float:
    """argparse type: a finite float within +-MAX_MAGNITUDE (psi, angles, offsets: larger ones only make NaNs)."""
    v = _finite(text)
    if abs(v) > MAX_MAGNITUDE:
        raise argparse.ArgumentTypeError(f"must be within +-{MAX_MAGNITUDE:g}, got {text}")
    return v


def number_for_name(v: float) -> str:
    """A file-name form of v: short (0.7, 1e-05) unless that would merge values, e.g. 0.1234567 and 0.12345678."""
    short = f"{v:g}"
    return short if float(short) == v else repr(float(v))


def bounded(kind: type, lo: float | None = None, hi: float | None = None, above: float | None = None):
    """argparse type: an int (kind=int) or finite float in [lo, hi], or > `above`; refused at parse time."""
    if above is not None:
        expected = f"> {above:g}"
    else:
        expected = f"in {lo:g}..{hi:g}" if lo is not None and hi is not None else f">= {lo:g}"

    def parse(text: str):
        v = _finite(text) if kind is float else _int(text)
        if (lo is not None and v < lo) or (hi is not None and v > hi) or (above is not None and v <= above):
            raise argparse.ArgumentTypeError(f"must be {expected}, got {text}")
        return v

    return parse


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _argparse_checked(check, text: str) -> str:
    """`text` after check(text); its UserError as argparse's error (reported with the option's name)."""
    try:
        check(text)
    except UserError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def output_dir(text: str) -> str:
    """argparse type of an output folder: refused at parse time, before any work, if a file stands in its way."""
    return _argparse_checked(check_output_dir, text)


def output_parent(text: str) -> str:
    """argparse type of an output whose own checks come later (a dataset's --dest may be an existing folder or zip):
    refused at parse time only if a file stands where one of its parent folders should be."""
    return _argparse_checked(lambda t: check_output_dir(Path(t).parent), text)


def output_file(*suffixes: str):
    """argparse type of an output file with one of `suffixes` (any if none): refused at parse time if it is an
    existing folder, a file stands where its folder should be, or its suffix is not one of them."""

    def check(text: str) -> str:
        if suffixes and Path(text).suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(f"{text}: expected a file name ending in {' or '.join(suffixes)}")
        return _argparse_checked(check_output_file, text)

    return check


def add_network_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--network", required=True, metavar="PATH",
                   help="our .safetensors checkpoint or an official network-snapshot .pkl")


def add_detector_arguments(p: argparse.ArgumentParser) -> None:
    """--detector, --vgg and --offline, as every command that computes metrics takes them."""
    p.add_argument("--detector", default=None, metavar="PATH",
                   help="Inception-v3 TorchScript file or URL (official, or a 299x299 [-1,1) feature extractor)")
    p.add_argument("--vgg", default=None, metavar="PATH", help="official VGG16 TorchScript file or URL")
    p.add_argument("--offline", action="store_true", help="never download detectors")


def add_device_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", metavar="DEV", help="cpu | cuda | cuda:N | mps | auto (default: auto)")


def add_rendering_arguments(p: argparse.ArgumentParser, trunc: bool = True) -> None:
    """--trunc, --noise-mode and --class, as every command that renders images from ws takes them."""
    if trunc:
        p.add_argument("--trunc", type=finite_float, default=1.0, metavar="PSI", help="truncation psi (default: 1)")
    p.add_argument("--noise-mode", choices=["const", "random", "none"], default="const", help="(default: const)")
    p.add_argument("--class", dest="class_idx", type=int, default=None, metavar="K", help="class for conditional nets")


def load_network(path: str, device: str) -> Generator:
    p = Path(path)
    if not p.exists():
        raise UserError(f"{path}: no such file")
    if p.is_dir():
        raise UserError(f"{path}: is a directory, expected a network file (.safetensors or .pkl)")
    from ..checkpoint import load, resolve_device

    return load(p, device=resolve_device(device))


def parse_nonempty_seeds(text: str, flag: str = "--seeds") -> list[int]:
    seeds = parse_seeds(text)
    if not seeds:
        raise UserError(f"{flag} is empty")
    return seeds


def load_rendering_network(args) -> Generator:
    """--network on --device, checked against --class (a conditional network needs one, in range)."""
    G = load_network(args.network, args.device)
    class_to_c(args.class_idx, G.c_dim)
    return G


def warn(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr)
