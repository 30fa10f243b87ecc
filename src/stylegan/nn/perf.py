"""Process-level speed settings that change no results beyond rounding: the CPU allocator, cuDNN/TF32, and the
CUDA options (autocast, torch.compile, CUDA graphs) of training and inference.

tune_cpu_allocator(): glibc returns large freed blocks to the OS and maps fresh ones for every big tensor, so each
new activation of a CPU network pays page faults, often more than the arithmetic on it (a 128 MB tensor: ~0.2 s of
faults vs ~0.03 s to fill it). Raising the mmap and trim thresholds lets freed memory be reused. It is a no-op off
glibc/Linux, idempotent, and disabled by STYLEGAN_TUNE_MALLOC=0; the cost is that the process keeps its peak heap.
CPU training turns it on (train/setup.py), and so does the first "fast" generator layer that runs on CPU.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import sys
import warnings
from dataclasses import dataclass

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


def cpu_allocator_tuned() -> bool:
    """Whether tune_cpu_allocator() has taken effect in this process (without tuning it)."""
    return bool(_tuned)


def configure_cuda(tf32: bool = False) -> dict:
    """cuDNN autotuning on (picks the fastest convolution algorithm per shape; results unchanged up to rounding).
    tf32=True also lets FP32 convolutions and matmuls use TF32 Tensor Cores (10-bit mantissa products); the official
    code turns TF32 off, so it is off by default. Returns what was set."""
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    return {"cudnn.benchmark": True, "tf32": tf32}


# ---------------------------------------------------------------------------------------------------------------------
# Speed options for CUDA training and inference: not part of a run's config (they change no result beyond rounding),
# read from the environment so any entry point (CLI, torchrun, notebooks) can turn them on:
#   STYLEGAN_AUTOCAST = bf16 | fp16     autocast the forward passes (default: off = the official mixed precision:
#                                       FP16 in the top num_fp16_res resolutions with conv_clamp, FP32 elsewhere)
#   STYLEGAN_COMPILE  = default | max-autotune | reduce-overhead    torch.compile the G main / D main forwards
#                                       (reduce-overhead = CUDA graphs); regularization passes stay eager, as
#                                       compiled graphs do not support the double backward R1 / path length need
#   STYLEGAN_TF32     = 1               TF32 for the FP32 convolutions / matmuls
# All are ignored on CPU, where the fast eager path is the fastest we measured (compile time would not pay back).


@dataclass(frozen=True)
class Speed:
    autocast: str | None = None  # "bf16" | "fp16" | None
    compile: str | None = None  # torch.compile mode | None
    tf32: bool = False

    @classmethod
    def from_env(cls) -> "Speed":
        autocast = os.environ.get("STYLEGAN_AUTOCAST", "").lower() or None
        compile_mode = os.environ.get("STYLEGAN_COMPILE", "").lower() or None
        if autocast not in (None, "bf16", "fp16", "off"):
            raise ValueError(f"STYLEGAN_AUTOCAST must be bf16 or fp16, got {autocast!r}")
        if compile_mode in ("0", "off"):
            compile_mode = None
        if compile_mode == "1":
            compile_mode = "default"
        if compile_mode == "reduce-overhead":  # D runs twice per phase: graph replays would overwrite its outputs.
            raise ValueError("STYLEGAN_COMPILE=reduce-overhead (CUDA graphs) is not supported in training; "
                             "use default or max-autotune-no-cudagraphs")
        return cls(autocast=None if autocast == "off" else autocast, compile=compile_mode,
                   tf32=os.environ.get("STYLEGAN_TF32", "0") == "1")

    def for_device(self, device: torch.device) -> "Speed":
        """The options that apply on `device` (none on CPU)."""
        return self if device.type == "cuda" else Speed()

    def describe(self) -> str:
        return (f"autocast={self.autocast or 'off'} compile={self.compile or 'off'} tf32={int(self.tf32)}")


_speed: Speed | None = None


def speed() -> Speed:
    """The process's speed options (from the environment unless set_speed was called)."""
    global _speed
    if _speed is None:
        _speed = Speed.from_env()
    return _speed


def set_speed(s: Speed) -> None:
    global _speed
    _speed = s


def autocast(device: torch.device, s: Speed | None = None):
    """torch.autocast for the configured dtype where the options apply (CUDA); a no-op context otherwise."""
    s = (s or speed()).for_device(device)
    if s.autocast is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if s.autocast == "bf16" else torch.float16)


class _Probe(torch.nn.Module):
    """compile_follows_requires_grad's two-layer module: a class of its own, so its compiled graphs share a cache
    with nothing else."""

    def __init__(self):
        super().__init__()
        self.a, self.b = torch.nn.Linear(4, 4), torch.nn.Linear(4, 1)

    def forward(self, x):
        return self.b(torch.relu(self.a(x)))


def compiled_follows_requires_grad(net: torch.nn.Module, *inputs) -> bool:
    """Whether torch.compile(net) (aot_eager backend: no code generation), first run with net's parameters frozen,
    gives them gradients when run again trainable. Leaves them trainable."""
    with torch.enable_grad():
        run = torch.compile(net, backend="aot_eager")
        net.requires_grad_(False)
        run(*inputs)
        net.requires_grad_(True)
        y = run(*inputs)
        if not y.requires_grad:
            return False
        return all(g is not None for g in torch.autograd.grad(y.sum(), list(net.parameters()), allow_unused=True))


_follows_requires_grad: bool | None = None


def compile_follows_requires_grad() -> bool:
    """Whether torch.compile gives a module a new graph when its parameters' requires_grad changes. Training
    freezes D in G's phases and trains it in D's (as the official loop does). PyTorch releases with
    pytorch/pytorch#139476 (2.4.1, 2.6.0 and 2.11.0 here; 2.12.0 is fixed) reuse the graph traced with frozen
    parameters, whose output carries no gradient to them, so D would silently not learn. Checked once per process
    on a two-layer module (the bug is in the graph cache, before code generation); an error counts as not
    following."""
    global _follows_requires_grad
    if _follows_requires_grad is None:
        try:
            _follows_requires_grad = compiled_follows_requires_grad(_Probe(), torch.randn(3, 4))
        except Exception:  # noqa: BLE001 - no working torch.compile: the same answer.
            _follows_requires_grad = False
    return _follows_requires_grad


class Compiled:
    """torch.compile(fn) that falls back to the eager fn, once and for good, if compiling or running it fails
    (unsupported GPU, missing Triton, a graph it cannot handle): training goes on, with one warning."""

    def __init__(self, fn, mode: str, name: str):
        self.eager, self.mode, self.name = fn, mode, name
        self.compiled = None  # Built at the first call, inside the fallback.
        self.failed = False

    def _compile(self):
        try:  # Random ops (per-pixel noise) draw the same numbers as eager, so compiled runs match eager ones.
            import torch._inductor.config as inductor_config

            inductor_config.fallback_random = True
        except (ImportError, AttributeError):
            pass
        return torch.compile(self.eager, mode=self.mode)

    def __call__(self, *args, **kwargs):
        if not self.failed:
            try:
                if self.compiled is None:
                    self.compiled = self._compile()
                return self.compiled(*args, **kwargs)
            except Exception as e:  # noqa: BLE001 - any compiler failure: keep training, eagerly.
                self.failed = True
                warnings.warn(f"torch.compile of {self.name} failed, running it eagerly: {type(e).__name__}: {e}")
        return self.eager(*args, **kwargs)


class CompiledModule(torch.nn.Module):
    """`module` with a compiled forward (eager fallback, see Compiled); other attributes are the module's own, and
    the module stays a submodule, so module walks (tracking_emas, parameters) see through the wrapper."""

    def __init__(self, module: torch.nn.Module, mode: str, name: str):
        super().__init__()
        self.module = module
        self._run = Compiled(module, mode, name)

    def forward(self, *args, **kwargs):
        return self._run(*args, **kwargs)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["module"], name)
