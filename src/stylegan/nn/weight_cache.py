"""Weight-only terms of the fast paths, computed once per weight value instead of once per call.

Inference recomputes the same functions of the weights on every call: the Winograd transform G g G^T, sum_k w^2 of
the demodulation coefficients, the flipped / transposed channels-last copies the up-sampling convolution runs with.
`derived(w, name, fn)` returns fn(w) and remembers it on the tensor `w` (in `w._stylegan_cache[name]`; `lookup` /
`store` do the two halves, with an optional variant such as an input shape in the key), keyed on w's
version counter (bumped by every in-place update, e.g. an optimizer step or `load_state_dict`), storage, dtype and
device. Only where no autograd graph is recorded (torch.no_grad / torch.inference_mode: generation, the explorer,
metrics; a frozen network called in grad mode runs under no_grad, frozen.py): in training every weight changes once
per step, so a cache would only hold memory, and values cached under inference mode could not be saved for backward.
Under grad mode, under torch.compile and for tensor subclasses (fake / meta tensors of FLOP counting), fn(w) is simply
computed.

One blind spot: in-place changes through `param.data` (e.g. `w.data.mul_(2)`) do not bump the version counter, so
the cache cannot see them. Change weights under `torch.no_grad()` instead (optimizers, `load_state_dict` and
`copy_` all do), or call `clear(module)` afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

import torch

ATTR = "_stylegan_cache"


def _cacheable(w: torch.Tensor) -> bool:
    return (not torch.is_grad_enabled() and type(w) in (torch.Tensor, torch.nn.Parameter)
            and not torch.compiler.is_compiling())


def _key(w: torch.Tensor, variant: Hashable) -> tuple:
    return (w._version if not w.is_inference() else -1, w.data_ptr(), w.dtype, w.device, variant)


def lookup(w: torch.Tensor, name: Hashable, variant: Hashable = None) -> torch.Tensor | tuple[torch.Tensor, ...] | None:
    """The value stored under `name` for this value of w (and this variant), else None."""
    if not _cacheable(w):
        return None
    hit = w.__dict__.get(ATTR, {}).get(name)
    return hit[1] if hit is not None and hit[0] == _key(w, variant) else None


def store(w: torch.Tensor, name: Hashable, value: torch.Tensor | tuple[torch.Tensor, ...],
          variant: Hashable = None) -> torch.Tensor | tuple[torch.Tensor, ...]:
    """Remember `value` (a tensor or a tuple of them) under `name` for this value of w (replacing what was there);
    returns value."""
    values = value if isinstance(value, tuple) else (value,)
    if _cacheable(w) and all(type(v) is torch.Tensor for v in values):  # Not the fake tensors of FLOP counting.
        w.__dict__.setdefault(ATTR, {})[name] = (_key(w, variant), value)
    return value


def derived(w: torch.Tensor, name: Hashable, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """fn(w), cached on w while w is unchanged (see the module docstring). fn must depend on w only."""
    hit = lookup(w, name)
    return hit if hit is not None else store(w, name, fn(w))


def scaled(t: torch.Tensor, gain: float) -> torch.Tensor:
    """t * gain, cached on t: in inference the equalized-learning-rate weights are scaled once per weight value
    instead of on every call."""
    return derived(t, ("scaled", gain), lambda v: v * gain)


def clear(module: torch.nn.Module) -> None:
    """Forget every cached term of a module's parameters and buffers (after changing weights through `.data`)."""
    for t in [*module.parameters(), *module.buffers()]:
        t.__dict__.pop(ATTR, None)
