"""Multi-process training through PyTorch's own runtime (torchrun): process groups, gradient reduction."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Dist:
    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init(device_type: str) -> Dist:
    """Join the process group torchrun set up (env RANK/WORLD_SIZE), or run as a single process.

    NCCL on CUDA, Gloo on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device_type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device(device_type)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    return Dist(rank=rank, world=world, local_rank=local_rank, device=device)


def all_reduce_sum_(t: torch.Tensor, d: Dist) -> torch.Tensor:
    if d.world > 1:
        dist.all_reduce(t)
    return t


def reduce_gradients(params: list[torch.nn.Parameter], d: Dist, divisor: float) -> int:
    """Sum gradients over processes, divide by `divisor` (the number of shards), neutralize non-finite values as
    the official code does (nan -> 0, +-inf -> +-1e5). Returns how many gradient entries were non-finite."""
    params = [p for p in params if p.grad is not None and p.numel() > 0]
    if not params:
        return 0
    flat = torch.cat([p.grad.flatten() for p in params])
    all_reduce_sum_(flat, d)
    flat /= divisor
    nonfinite = int((~torch.isfinite(flat)).sum())
    torch.nan_to_num(flat, nan=0.0, posinf=1e5, neginf=-1e5, out=flat)
    for p, g in zip(params, flat.split([p.numel() for p in params])):
        p.grad = g.reshape(p.shape)
    return nonfinite


def broadcast_module(module: torch.nn.Module, d: Dist) -> None:
    if d.world > 1:
        for t in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(t.data, src=0)


def gather_objects(obj, d: Dist) -> list:
    if d.world == 1:
        return [obj]
    out = [None] * d.world
    dist.all_gather_object(out, obj)
    return out


def barrier(d: Dist) -> None:
    if d.world > 1:
        dist.barrier()


def shutdown(d: Dist) -> None:
    if d.world > 1 and dist.is_initialized():
        # All ranks reach this point before any tears its connections down: a rank that exits while another still
        # writes its last snapshot could abort in gloo's teardown ("terminate called without an active exception").
        dist.barrier()
        dist.destroy_process_group()
