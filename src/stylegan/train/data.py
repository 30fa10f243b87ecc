"""Real-image batches and per-shard randomness that depend only on (seed, step, shard).

A training step consumes `batch` real images, split into shards of `batch_gpu` (one per process and accumulation
round: global shard k = rank * rounds + round). Which images a shard sees, and every random number it draws, follow
from (seed, step, shard) alone. So a run resumes exactly, and N processes give the same result as one process
accumulating the same N shards.
"""

from __future__ import annotations

import numpy as np
import torch


def shard_seed(seed: int, step: int, shard: int, phase: int = 0) -> int:
    return int(np.random.SeedSequence([seed, step, shard, phase]).generate_state(1, dtype=np.uint64)[0] >> 1)


def seed_shard(seed: int, step: int, shard: int, phase: int, device: torch.device) -> None:
    """Re-seed torch's global RNG for one shard of one phase of one step: on a CPU device the CPU generator alone
    (torch.manual_seed also queues a seed, with a formatted stack trace, for every accelerator backend that is not
    initialized: several ms per step of CPU training), otherwise the CPU and all accelerator generators."""
    s = shard_seed(seed, step, shard, phase)
    if device.type == "cpu":
        torch.default_generator.manual_seed(s)
    else:
        torch.manual_seed(s)


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    return np.random.RandomState((seed * 1_000_003 + epoch) % 2**32).permutation(n)


def step_indices(n: int, seed: int, step: int, batch: int) -> np.ndarray:
    """Dataset indices of step `step`: a window into the concatenation of seeded per-epoch permutations."""
    start = step * batch
    out, pos = [], start
    while pos < start + batch:
        epoch, offset = divmod(pos, n)
        take = min(n - offset, start + batch - pos)
        out.append(epoch_order(n, seed, epoch)[offset: offset + take])
        pos += take
    return np.concatenate(out)


class _StepSampler(torch.utils.data.Sampler):
    """Yields, for steps start, start+1, ..., the indices this process's shards use (a batch sampler)."""

    def __init__(self, n: int, seed: int, batch: int, first: int, count: int, start_step: int):
        self.n, self.seed, self.batch = n, seed, batch
        self.first, self.count, self.start_step = first, count, start_step

    def __iter__(self):
        step = self.start_step
        while True:
            yield step_indices(self.n, self.seed, step, self.batch)[self.first: self.first + self.count].tolist()
            step += 1


class RealImages:
    """Real images for this process's shards of each step, as float [-1, 1] NCHW on `device`, with labels.

    Small datasets are decoded once into memory; large ones stream through a DataLoader with workers, in step order.
    Steps must be requested in increasing order from `start_step`.
    """

    def __init__(self, dataset, seed: int, batch: int, batch_gpu: int, shards: list[int], device: torch.device,
                 start_step: int = 0, workers: int = 3, preload_bytes: int = 2 << 30):
        self.dataset = dataset
        self.n = len(dataset)
        self.seed, self.batch, self.batch_gpu, self.shards, self.device = seed, batch, batch_gpu, shards, device
        self.first = shards[0] * batch_gpu  # This process's shards are consecutive.
        self.count = len(shards) * batch_gpu
        self.labels = torch.from_numpy(np.asarray(dataset.labels_array, dtype=np.float32)).reshape(self.n, -1)
        self.images = None
        if self.n * dataset[0][0].nbytes <= preload_bytes:
            self.images = torch.from_numpy(np.stack([dataset[i][0] for i in range(self.n)]))
        else:
            sampler = _StepSampler(self.n, seed, batch, self.first, self.count, start_step)
            loader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler, num_workers=workers,
                                                 pin_memory=device.type == "cuda",
                                                 prefetch_factor=2 if workers else None)
            self._iter = iter(loader)
        self._next_step = start_step

    def step(self, step: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """[(img [batch_gpu, C, H, W], c [batch_gpu, c_dim])] for each of this process's shards of `step`."""
        assert step == self._next_step, f"steps must be consecutive (expected {self._next_step}, got {step})"
        self._next_step += 1
        idx = torch.from_numpy(step_indices(self.n, self.seed, step, self.batch)[self.first: self.first + self.count])
        if self.images is not None:
            img = self.images[idx]
        else:
            img, _ = next(self._iter)
        img = img.to(self.device, non_blocking=True).to(torch.float32) / 127.5 - 1
        c = self.labels[idx].to(self.device)
        return list(zip(img.split(self.batch_gpu), c.split(self.batch_gpu)))

    def random_labels(self, n: int) -> torch.Tensor:
        """Labels for generated images, drawn from the dataset's label distribution (uses torch's global RNG)."""
        if self.labels.shape[1] == 0:
            return torch.zeros([n, 0], device=self.device)
        return self.labels[torch.randint(self.n, [n])].to(self.device)
