"""FLOP counts of generators and discriminators (for model FLOPs utilisation, MFU = FLOPs / time / peak).

Counted by `torch.utils.flop_counter` on fake tensors (no memory, no arithmetic), through the "fast" implementation
with direct convolutions (no Winograd): convolutions (depthwise FIR filters included, without products with inserted
zeros), matrix products and their gradients; elementwise work is not counted (the usual convention).
One FLOP = one multiply or one add (a multiply-accumulate is 2).

    from stylegan.flops import generator_flops, discriminator_flops, training_flops
    generator_flops(G, batch=1)            # forward, mapping + synthesis
    training_flops(G, D, batch=32)         # one training step averaged over the lazy-regularization schedule
"""

from __future__ import annotations

import contextlib

import torch
from torch.utils.flop_counter import FlopCounterMode

from .nn.impl import direct_convolutions, use_impl


@contextlib.contextmanager
def _fake_mode():
    """FakeTensorMode when this PyTorch has it (shapes only), else real tensors."""
    try:
        from torch._subclasses.fake_tensor import FakeTensorMode
    except ImportError:  # pragma: no cover - very old PyTorch.
        yield
        return
    with FakeTensorMode(allow_non_fake_inputs=True):
        yield


def count_flops(fn, *shapes: tuple[int, ...], device: torch.device | str = "cpu") -> int:
    """FLOPs of fn(*inputs) with random float32 inputs of the given shapes; fn may run backward passes."""
    with use_impl("fast"), direct_convolutions(), _fake_mode():
        inputs = [torch.randn(s, device=device) for s in shapes]
        with FlopCounterMode(display=False) as counter:
            fn(*inputs)
    return int(counter.get_total_flops())


def _device(module: torch.nn.Module) -> torch.device:
    return next(module.parameters()).device


@contextlib.contextmanager
def _requires_grad(params: list[torch.nn.Parameter], flag: bool):
    """`params` with requires_grad = flag for the block, then each as it was."""
    flags = [p.requires_grad for p in params]
    try:
        for p in params:
            p.requires_grad_(flag)
        yield
    finally:
        for p, was in zip(params, flags):
            p.requires_grad_(was)


def generator_flops(G: torch.nn.Module, batch: int = 1) -> int:
    """Forward FLOPs of G(z) for `batch` images (constant noise)."""
    def fn(z):
        G(z, torch.zeros([batch, G.c_dim], device=z.device), noise_mode="const")
    # Frozen, as inference runs it: the counter's module tracker fails on a trainable parameter used directly as a
    # layer's input (StyleGAN1's constant).
    with torch.no_grad(), _requires_grad(list(G.parameters()), False):
        return count_flops(fn, (batch, G.z_dim), device=_device(G))


def discriminator_flops(D: torch.nn.Module, batch: int = 1) -> int:
    """Forward FLOPs of D(img) for `batch` images."""
    def fn(img):
        D(img, torch.zeros([batch, D.c_dim], device=img.device))
    with torch.no_grad(), _requires_grad(list(D.parameters()), False):
        return count_flops(fn, (batch, D.img_channels, D.img_resolution, D.img_resolution), device=_device(D))


def training_flops(G: torch.nn.Module, D: torch.nn.Module, batch: int, g_reg_interval: int | None = 4,
                   d_reg_interval: int | None = 16, pl_batch_shrink: int = 2) -> dict[str, float]:
    """FLOPs of one StyleGAN2-recipe training step (train/phases.py), per phase and averaged over the schedule:
    Gmain = G forward + backward through D (input gradients only) and G; Dmain = G forward (no grad) + D forward and
    backward on fakes and reals; Dreg = R1 (D forward, input gradient with graph, backward of its norm);
    Greg = path length (G forward, gradient w.r.t. ws with graph, backward of its norm) on batch / pl_batch_shrink.
    None disables a regularizer."""
    dev = _device(G)
    G_params, D_params = list(G.parameters()), list(D.parameters())
    res, ch = D.img_resolution, D.img_channels

    def c(n):
        return torch.zeros([n, G.c_dim], device=dev)

    def g_main(z):
        img = G(z, c(batch))
        torch.autograd.grad(D(img, c(batch)).sum(), G_params)

    def d_main(z, real):
        with torch.no_grad():
            fake = G(z, c(batch))
        torch.autograd.grad(D(fake, c(batch)).sum() + D(real, c(batch)).sum(), D_params)

    def d_reg(real):
        real = real.requires_grad_(True) * 1  # Not a leaf: FlopCounterMode cannot hook grad() w.r.t. a leaf input.
        (g,) = torch.autograd.grad(D(real, c(batch)).sum(), real, create_graph=True)
        torch.autograd.grad(g.square().sum(), D_params, allow_unused=True)

    def g_reg(z):
        ws = G.mapping(z, c(z.shape[0]))
        (g,) = torch.autograd.grad(G.synthesis(ws).sum(), ws, create_graph=True)
        torch.autograd.grad(g.square().sum(), G_params, allow_unused=True)

    with _requires_grad(G_params + D_params, True):  # Training keeps them off between phases.
        out = {"Gmain": count_flops(g_main, (batch, G.z_dim), device=dev),
               "Dmain": count_flops(d_main, (batch, G.z_dim), (batch, ch, res, res), device=dev)}
        if d_reg_interval:
            out["Dreg"] = count_flops(d_reg, (batch, ch, res, res), device=dev)
        if g_reg_interval:
            out["Greg"] = count_flops(g_reg, (max(batch // pl_batch_shrink, 1), G.z_dim), device=dev)
    out["step_avg"] = (out["Gmain"] + out["Dmain"] + out.get("Dreg", 0) / (d_reg_interval or 1)
                       + out.get("Greg", 0) / (g_reg_interval or 1))
    return out
