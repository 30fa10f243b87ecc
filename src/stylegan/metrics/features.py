"""Feature statistics of image streams: running mean/covariance (float64) and optionally all features.

Images reach a detector as the official metrics feed them: uint8 NCHW RGB, generated images quantized with
`(x * 127.5 + 128).clamp(0, 255)` (stylegan.images.to_uint8), grayscale repeated to 3 channels.
Statistics of a dataset are cached on disk per (dataset content hash, detector sha256, options), see `cache_key`.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from ..files import atomic_path


class FeatureStats:
    """Accumulates features [N, D]: mean and covariance in float64 and, if `capture_all`, every row (float32).
    Rows are also kept while N <= D (no more memory than the covariance), for the low-rank path of FID."""

    def __init__(self, capture_all: bool = False, max_items: int | None = None):
        self.capture_all, self.max_items = capture_all, max_items
        self.num_items = 0
        self.raw_mean = self.raw_cov = None  # Sum of x and of x x^T.
        self.all: list[np.ndarray] | None = []  # None once rows are no longer kept.

    def is_full(self) -> bool:
        return self.max_items is not None and self.num_items >= self.max_items

    def append(self, x: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float32)
        if self.max_items is not None:
            x = x[: max(self.max_items - self.num_items, 0)]
        if x.shape[0] == 0:
            return
        x64 = x.astype(np.float64)
        if self.raw_mean is None:
            self.raw_mean, self.raw_cov = np.zeros(x.shape[1]), np.zeros([x.shape[1], x.shape[1]])
        self.raw_mean += x64.sum(axis=0)
        self.raw_cov += x64.T @ x64
        self.num_items += x.shape[0]
        if self.all is not None:
            self.all.append(x)
            if not self.capture_all and self.num_items > x.shape[1]:
                self.all = None

    @property
    def has_all(self) -> bool:
        return self.all is not None and self.num_items > 0

    def get_all(self) -> np.ndarray:
        if not self.has_all:
            raise ValueError("these statistics were accumulated without capture_all")
        if len(self.all) > 1:
            self.all = [np.concatenate(self.all)]
        return self.all[0]

    def factor(self) -> np.ndarray | None:
        """F [N, D] with covariance = F^T F (centred rows / sqrt(N)) when the rows are kept, else None."""
        if not self.has_all:
            return None
        x = self.get_all().astype(np.float64)
        return (x - self.raw_mean / self.num_items) / np.sqrt(self.num_items)

    def get_mean_cov(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and (biased, 1/N) covariance, as the official FID code defines them."""
        mean = self.raw_mean / self.num_items
        return mean, self.raw_cov / self.num_items - np.outer(mean, mean)

    def save(self, path: Path) -> None:
        arrays = dict(num_items=np.int64(self.num_items), raw_mean=self.raw_mean, raw_cov=self.raw_cov)
        if self.has_all:
            arrays["all"] = self.get_all()
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)

    @classmethod
    def load(cls, path: Path) -> "FeatureStats":
        with np.load(path, allow_pickle=False) as d:
            stats = cls(capture_all="all" in d.files)
            stats.num_items = int(d["num_items"])
            stats.raw_mean, stats.raw_cov = d["raw_mean"], d["raw_cov"]
            stats.all = [d["all"]] if stats.capture_all else None
        stats.max_items = stats.num_items
        return stats


def to_detector_input(img: torch.Tensor) -> torch.Tensor:
    """uint8 [N, C, H, W] with C in {1, 3, 4} -> uint8 [N, 3, H, W] (gray repeated, alpha dropped)."""
    if img.shape[1] == 1:
        return img.repeat(1, 3, 1, 1)
    return img[:, :3]


def quantize(img: torch.Tensor) -> torch.Tensor:
    """Generator output [N, C, H, W] in [-1, 1] -> uint8 NCHW, the official conversion."""
    return (img * 127.5 + 128).clamp(0, 255).to(torch.uint8)


def iterate_dataset(dataset, num: int, batch_size: int, num_workers: int = 0,
                    indices: list[int] | None = None) -> Iterator[torch.Tensor]:
    """Yield uint8 [n, C, H, W] batches of the first `num` items (or of `indices`)."""
    subset = torch.utils.data.Subset(dataset, indices if indices is not None else range(num))
    loader = torch.utils.data.DataLoader(subset, batch_size=batch_size, num_workers=num_workers,
                                         generator=torch.Generator())  # Its own RNG: the global one stays put.
    for img, _label in loader:
        yield torch.as_tensor(img)


def dataset_label(dataset, idx: int) -> np.ndarray:
    get = getattr(dataset, "get_label", None)
    return np.asarray(get(idx) if get is not None else dataset[idx][1], dtype=np.float32)


def random_labels(G, dataset, n: int, rng: np.random.RandomState) -> torch.Tensor:
    """[n, c_dim] labels drawn from the dataset's labels (official behaviour); empty for unconditional G."""
    if G.c_dim == 0:
        return torch.zeros([n, 0])
    if dataset is None or getattr(dataset, "label_dim", 0) != G.c_dim:
        from ..errors import UserError

        got = "no dataset" if dataset is None else f"a dataset with {getattr(dataset, 'label_dim', 0)} label columns"
        raise UserError(f"this network is conditional ({G.c_dim} classes) and draws its labels from the real "
                        f"images: pass --data with matching labels (got {got})")
    idx = rng.randint(len(dataset), size=n)
    return torch.from_numpy(np.stack([dataset_label(dataset, int(i)) for i in idx]))


@torch.no_grad()
def iterate_generator(G, num: int, batch_size: int, device: torch.device, seed: int = 0,
                      dataset=None) -> Iterator[torch.Tensor]:
    """Yield uint8 [n, C, H, W] batches of `num` generated images, G(z, c) with its default random per-pixel noise
    as the official metrics. z ~ N(0, I) comes from a seeded CPU generator (same seed, same latents on every
    device); the noise is drawn under a forked, seeded global RNG, so the caller's RNG state is left untouched."""
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.RandomState(seed)
    cuda = [device] if device.type == "cuda" else []
    for start in range(0, num, batch_size):
        n = min(batch_size, num - start)
        z = torch.randn([n, G.z_dim], generator=gen).to(device)
        c = random_labels(G, dataset, n, rng).to(device)
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(seed * 1_000_003 + start)
            img = G(z, c, noise_mode="random")
        yield quantize(img)


def progress_bar(total: int, desc: str, enabled: bool):
    from ..progress import progress_bar as bar

    return bar(total=total, desc=desc, unit="img", enabled=enabled)


@torch.no_grad()
def accumulate(batches: Iterator[torch.Tensor], fn: Callable[[torch.Tensor], torch.Tensor], stats: FeatureStats,
               total: int, device: torch.device, desc: str = "features", progress: bool = True) -> FeatureStats:
    """Run `fn` (a detector output) over uint8 batches and append the results; progress shows images/s."""
    t0 = time.perf_counter()
    with progress_bar(total, desc, progress) as bar:
        for img in batches:
            out = fn(to_detector_input(img.to(device)))
            stats.append(out.cpu().numpy())
            bar.update(img.shape[0])
            if stats.is_full():
                break
    stats.seconds = time.perf_counter() - t0
    return stats


def cache_key(**fields) -> str:
    """A stable hex key for a dict of JSON-serializable fields."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:32]


def dataset_stats(dataset, fn: Callable[[torch.Tensor], torch.Tensor], *, output: str, detector_sha256: str,
                  max_items: int | None, capture_all: bool, batch_size: int, device: torch.device,
                  cache_dir: Path | None, progress: bool = True, num_workers: int = 0, desc: str = "reals",
                  ) -> FeatureStats:
    """Feature statistics of a dataset's first min(len, max_items) images, read from / written to the cache."""
    num = len(dataset) if max_items is None else min(len(dataset), max_items)
    content_hash = getattr(dataset, "content_hash", None)
    paths = []
    if cache_dir is not None and content_hash:
        # A cached file with all features also serves a mean/covariance request.
        for all_ in ([True, False] if not capture_all else [True]):
            key = cache_key(dataset=content_hash, detector=detector_sha256, output=output, num=num, capture_all=all_,
                            resolution=getattr(dataset, "resolution", None), xflip=getattr(dataset, "xflip", None))
            name = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(getattr(dataset, "name", "data")))
            paths.append(Path(cache_dir) / f"{name}-{output}-{num}-{key}.npz")
        for p in paths:
            if p.is_file():
                stats = FeatureStats.load(p)
                stats.cache_path, stats.cache_hit = p, True
                return stats
    stats = FeatureStats(capture_all=capture_all, max_items=num)
    accumulate(iterate_dataset(dataset, num, batch_size, num_workers), fn, stats, num, device, desc, progress)
    stats.cache_hit = False
    stats.cache_path = paths[-1] if paths else None
    if stats.cache_path is not None:
        stats.save(stats.cache_path)
    return stats
