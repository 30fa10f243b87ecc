"""Process-level speed settings that change no results: the CPU allocator, and what a device supports.

tune_cpu_allocator(): glibc returns large freed blocks to the OS and maps fresh ones for every big tensor, so each
new activation of a CPU network pays page faults, often more than the arithmetic on it (a 128 MB tensor: ~0.2 s of
faults vs ~0.03 s to fill it). Raising the mmap and trim thresholds lets freed memory be reused. It is a no-op off
glibc/Linux, idempotent, and disabled by STYLEGAN_TUNE_MALLOC=0; the cost is that the process keeps its peak heap.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

import torch

_tuned: bool | None = None


def tune_cpu_allocator() -> bool:
    """Keep freed heap memory for reuse (see module docstring). Returns whether the setting is active."""
    global _tuned
    if _tuned is not None:
        return _tuned
    _tuned = False
    if os.environ.get("STYLEGAN_TUNE_MALLOC", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # <malloc.h>
        ok = libc.mallopt(M_MMAP_THRESHOLD, 1 << 30) and libc.mallopt(M_TRIM_THRESHOLD, (1 << 31) - 1)
        _tuned = bool(ok)
    except (OSError, AttributeError):  # Not glibc (musl, macOS): nothing to tune.
        pass
    return _tuned


def configure_cuda(tf32: bool = False) -> dict:
    """cuDNN autotuning on (picks the fastest convolution algorithm per shape; results unchanged up to rounding).
    tf32=True also lets FP32 convolutions and matmuls use TF32 Tensor Cores (10-bit mantissa products); the official
    code turns TF32 off, so it is off by default. Returns what was set."""
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    return {"cudnn.benchmark": True, "tf32": tf32}
