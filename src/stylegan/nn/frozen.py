"""Network forwards that record no autograd graph when nothing in them could use one.

A network with every parameter frozen (`requires_grad_(False)`, as `stylegan.load` returns it) called on inputs that
need no gradient returns an output without a graph, in grad mode or not. Code written for the official networks often
calls them that way, outside `torch.no_grad()`. The fast paths cannot tell from grad mode alone that no gradient will
be asked for, so they leave out what needs that knowledge: the weight cache (weight_cache.py) and the prepacked oneDNN
weights (onednn.py). StyleGAN2 256² at batch 2 on CPU ran ~13% slower that way than under no_grad.
`no_graph_when_frozen` wraps a network's top-level forward and runs it under `torch.no_grad()` in that case: the
output no_grad gives (no graph either way), at its speed. It steps aside under torch.compile and whenever a forward
hook is registered (a hook could make an intermediate tensor require grad).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TypeVar

import torch

Forward = TypeVar("Forward", bound=Callable)


def could_record_graph(module: torch.nn.Module, inputs: Iterable[object]) -> bool:
    """In grad mode: whether calling `module` on `inputs` could record an autograd graph, i.e. an input tensor or a
    parameter requires grad, or a forward hook is registered (global or on a submodule)."""
    if any(isinstance(t, torch.Tensor) and t.requires_grad for t in inputs):
        return True
    if any(p.requires_grad for p in module.parameters()):
        return True
    hooks = torch.nn.modules.module
    if hooks._global_forward_hooks or hooks._global_forward_pre_hooks:
        return True
    return any(m._forward_hooks or m._forward_pre_hooks for m in module.modules())


def no_graph_when_frozen(forward: Forward) -> Forward:
    """Decorator for `forward(self, ...)`: run it under torch.no_grad() when it could not record a graph anyway."""

    @functools.wraps(forward)
    def wrapper(self, *args, **kwargs):
        if (torch.is_grad_enabled() and not torch.compiler.is_compiling()
                and not could_record_graph(self, (*args, *kwargs.values()))):
            with torch.no_grad():
                return forward(self, *args, **kwargs)
        return forward(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
