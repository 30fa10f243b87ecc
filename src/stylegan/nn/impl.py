"""One switch for every fast path in `stylegan.nn` (DESIGN R6: each fast kernel has a readable reference twin).

- "ref":  op-for-op the official implementation's pure-PyTorch path (what it runs on CPU);
- "fast": the same functions computed with less work (polyphase up/strided down FIR, demodulation as a matmul,
          gains folded into weights, fused bias + noise + activation), equal to "ref" up to float rounding.

Functions take `impl=None` (= the current default). The default is "fast", or the STYLEGAN_IMPL environment variable;
change it for a block with `with stylegan.nn.use_impl("ref"): ...` or globally with `set_impl("ref")`.
tests/nn/test_fast_paths.py compares the two; `STYLEGAN_IMPL=ref pytest tests/models` runs the parity tests on "ref".
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Literal

Impl = Literal["ref", "fast"]
IMPLS = ("ref", "fast")


def _check(impl: str) -> str:
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
    return impl


_default: str = _check(os.environ.get("STYLEGAN_IMPL", "fast") or "fast")


def get_impl() -> str:
    """The current default implementation."""
    return _default


def set_impl(impl: Impl) -> None:
    global _default
    _default = _check(impl)


@contextlib.contextmanager
def use_impl(impl: Impl) -> Iterator[None]:
    """Run a block with another default implementation (restored afterwards, also on errors)."""
    global _default
    previous, _default = _default, _check(impl)
    try:
        yield
    finally:
        _default = previous


_direct_only = False


@contextlib.contextmanager
def direct_convolutions() -> Iterator[None]:
    """Inside this block "fast" runs its convolutions as F.conv2d / F.conv_transpose2d (no Winograd, no prepacked
    oneDNN weights), e.g. so that FLOP counting sees the model's convolutions."""
    global _direct_only
    previous, _direct_only = _direct_only, True
    try:
        yield
    finally:
        _direct_only = previous


def direct_convolutions_only() -> bool:
    return _direct_only


def resolve(impl: str | None) -> str:
    """impl if given, else the current default."""
    return _default if impl is None else _check(impl)
