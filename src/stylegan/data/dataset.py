"""Training images: `ImageDataset` reads a prepared dataset (folder or zip in the official layout, ours or NVlabs'),
and `open_dataset` turns a user's --data value ("builtin:emoji", a prepared dataset, or raw pictures) into one.

    ds = open_dataset("builtin:emoji", resolution=32, xflip=True)
    img, label = ds[0]    # uint8 [C, H, W], float32 [label_dim]
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from pathlib import Path

import numpy as np
import PIL.Image
import torch

from ..errors import UserError
from . import image_ops
from .archive import LABELS_FILE, META_FILE, Archive, is_image_name
from .labels import parse_labels_json, to_array

MEMORY_CACHE_BYTES = 256 << 20  # datasets up to this size (decoded, at the loaded resolution) are kept in memory
_DIGEST_CACHE: dict[tuple, list[str]] = {}  # (path, stat signature) -> sha256 of each image file


def load_resolution(path: str, stored: int, wanted: int | None) -> tuple[int, int]:
    """(resolution, downscale factor) for loading images stored at `stored` pixels at `wanted` pixels."""
    if wanted is None or wanted == stored:
        return stored, 1
    factor = stored // wanted if wanted > 0 else 0
    if wanted <= 0 or factor * wanted != stored or factor & (factor - 1):
        raise UserError(f"{path}: images are {stored}x{stored}, cannot load them at {wanted}x{wanted} "
                        f"(only power-of-two downscales; prepare it again with `stylegan dataset --resolution`)")
    return wanted, factor


def box_downscale(img: np.ndarray, factor: int) -> np.ndarray:
    """[C, H, W] uint8 -> [C, H/f, W/f]: the mean of each f x f block (area filter), rounded."""
    if factor == 1:
        return img
    v = img.astype(np.uint32)
    s = sum(v[:, i::factor, j::factor] for i in range(factor) for j in range(factor))  # 5x faster than reshape-sum
    return ((s + factor * factor // 2) // (factor * factor)).astype(np.uint8)


def decode_chw(data: bytes) -> np.ndarray:
    """PNG/JPEG bytes -> uint8 [C, H, W] (L -> 1 channel, RGB -> 3, RGBA -> 4)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with PIL.Image.open(io.BytesIO(data)) as im:
            img, _ = image_ops.to_8bit(im)
            arr = np.asarray(img, dtype=np.uint8)
    return (arr[:, :, None] if arr.ndim == 2 else arr).transpose(2, 0, 1)


class UnknownSubsetError(UserError):
    def __init__(self, message: str, unknown: list[str], available: list[str]):
        super().__init__(message)
        self.unknown, self.available = unknown, available


class ImageDataset(torch.utils.data.Dataset):
    """Images and labels of a prepared dataset; item = (uint8 [C, H, W], float32 [label_dim]).

    Images are loaded at `resolution` (a power-of-two downscale of the stored size, area-averaged); `max_size` keeps
    a seeded random subset (the official rule); `xflip` appends mirrored copies; `subset` selects images tagged in
    the dataset's meta.json (e.g. "cats" in builtin:emoji; "smileys+cats": tagged with either).
    """

    def __init__(self, path: str | Path, resolution: int | None = None, use_labels: bool = False,
                 max_size: int | None = None, xflip: bool = False, random_seed: int = 0,
                 subset: str | None = None, name: str | None = None):
        self.path = str(path)
        self.name = name or Path(path).resolve().stem
        self._archive = Archive(path)
        names = [n for n in self._archive.names if is_image_name(n)]
        self.image_names = self._select_subset(names, subset) if subset else names
        if not self.image_names:
            raise UserError(f"{path}: no images")
        c, h, w = decode_chw(self._archive.read(self.image_names[0])).shape
        if h != w:
            raise UserError(f"{path}: images are {w}x{h}, not square (prepare it with `stylegan dataset`)")
        self.num_channels, self.stored_resolution = c, h
        self.resolution, self._factor = load_resolution(self.path, h, resolution)

        # Labels: all stored ones (so one-hot width does not depend on max_size), then the selected rows.
        raw_labels, self.class_names = self._read_labels()
        self.has_labels = raw_labels is not None  # the dataset has labels (used or not)
        raw_idx = np.arange(len(self.image_names), dtype=np.int64)
        if max_size is not None and len(raw_idx) > max_size:
            np.random.RandomState(random_seed % (1 << 31)).shuffle(raw_idx)
            raw_idx = np.sort(raw_idx[:max_size])
        self._raw_idx = np.tile(raw_idx, 2) if xflip else raw_idx
        self._xflip = np.repeat([False, True] if xflip else [False], len(raw_idx))
        n_all = len(self.image_names)
        self._all_labels = raw_labels if (use_labels and raw_labels is not None) else np.zeros([n_all, 0], np.float32)
        self.label_dim = self._all_labels.shape[1]  # 0 when use_labels is False or there are no labels
        self._options = {"resolution": self.resolution, "xflip": xflip, "use_labels": use_labels}
        self._content_hash: str | None = None
        # Small datasets (builtin:emoji is 6 MB at 32x32) keep decoded images in memory: decoding once, not per epoch.
        small = len(raw_idx) * c * self.resolution ** 2 <= MEMORY_CACHE_BYTES
        self._memory: dict[int, np.ndarray] | None = {} if small else None

    def _select_subset(self, names: list[str], subset: str) -> list[str]:
        """The images tagged with `subset`, or with any of "a+b+c"."""
        images = (self._archive.read_json(META_FILE) or {}).get("images", {})
        tags = {n: set(images.get(n, {}).get("subsets", ())) for n in names}
        available = sorted(set().union(*tags.values()))
        wanted = set(subset.split("+"))
        if unknown := sorted(wanted - set(available)):
            raise UnknownSubsetError(f"{self.path}: no subset {'+'.join(unknown)!r} (available: "
                                     f"{', '.join(available) or 'none'})", unknown, available)
        return [n for n in names if tags[n] & wanted]

    def _read_labels(self) -> tuple[np.ndarray | None, tuple[str, ...]]:
        obj = self._archive.read_json(LABELS_FILE)
        if obj is None:
            return None, ()
        by_name = parse_labels_json(obj, f"{self.path}/{LABELS_FILE}")
        if by_name is None:
            return None, ()
        missing = [n for n in self.image_names if n not in by_name]
        if missing:
            raise UserError(f"{self.path}: {LABELS_FILE} has no label for {missing[0]} ({len(missing)} missing)")
        return to_array([by_name[n] for n in self.image_names]), tuple(obj.get("class_names", ()))

    def __len__(self) -> int:
        return len(self._raw_idx)

    def __getitem__(self, idx: int) -> tuple[np.ndarray, np.ndarray]:
        raw = int(self._raw_idx[idx])
        img = self._memory.get(raw) if self._memory is not None else None
        if img is None:
            img = self._load_image(raw)
            if self._memory is not None:
                self._memory[raw] = img
        if self._xflip[idx]:
            img = img[:, :, ::-1]
        return np.ascontiguousarray(img), self.get_label(idx)

    def _load_image(self, raw: int) -> np.ndarray:
        name = self.image_names[raw]
        try:
            img = decode_chw(self._archive.read(name))
        except Exception as e:  # PIL, zlib and zipfile raise many kinds for damaged bytes.
            raise UserError(f"{self.path}: {name} is damaged ({type(e).__name__}); prepare the dataset again with "
                            f"`stylegan dataset`") from None
        expected = (self.num_channels, self.stored_resolution, self.stored_resolution)
        if img.shape != expected:
            raise UserError(f"{self.path}: {self.image_names[raw]} has shape {list(img.shape)}, expected "
                            f"{list(expected)} (prepare the dataset with `stylegan dataset`)")
        return box_downscale(img, self._factor)

    def get_label(self, idx: int) -> np.ndarray:
        return self._all_labels[self._raw_idx[idx]].copy()

    @property
    def image_shape(self) -> list[int]:
        return [self.num_channels, self.resolution, self.resolution]

    @property
    def labels_array(self) -> np.ndarray:
        """[len(self), label_dim] float32 labels of every item (for sampling conditioning vectors)."""
        return self._all_labels[self._raw_idx]

    def label_counts(self) -> np.ndarray:
        """[label_dim] how many items carry each class (sum of one-hot labels)."""
        return self.labels_array.sum(axis=0).round().astype(np.int64)

    def random_labels(self, n: int, seed: int = 0) -> np.ndarray:
        """[n, label_dim] labels of random items, i.e. drawn with the dataset's class frequencies."""
        return self.labels_array[np.random.default_rng(seed).integers(len(self), size=n)]

    @property
    def content_hash(self) -> str:
        """sha256 of what this dataset yields: each item's image file, mirroring, label, and the resolution."""
        if self._content_hash is None:
            digests = self._file_digests()
            h = hashlib.sha256(json.dumps(self._options, sort_keys=True).encode())
            for raw, flip in zip(self._raw_idx, self._xflip):
                h.update(bytes.fromhex(digests[raw]) + bytes([int(flip)]))
            h.update(np.ascontiguousarray(self.labels_array).tobytes())
            self._content_hash = h.hexdigest()
        return self._content_hash

    def _file_digests(self) -> list[str]:
        st = os.stat(self.path)
        sig = (st.st_size, st.st_mtime_ns) if self._archive.is_zip else tuple(
            (n, os.stat(Path(self.path) / n).st_mtime_ns) for n in self.image_names)
        key = (os.path.realpath(self.path), tuple(self.image_names), sig)
        if key not in _DIGEST_CACHE:
            _DIGEST_CACHE[key] = [hashlib.sha256(self._archive.read(n)).hexdigest() for n in self.image_names]
        return _DIGEST_CACHE[key]

    def close(self) -> None:
        self._archive.close()

    def __repr__(self) -> str:
        return (f"ImageDataset({self.name!r}, {len(self)} items, {self.num_channels}x{self.resolution}x"
                f"{self.resolution}, label_dim={self.label_dim})")


def open_dataset(spec: str, *, resolution: int | None = None, use_labels: bool = False, max_size: int | None = None,
                 xflip: bool = False, random_seed: int = 0, cache_dir: str | None = None,
                 subset: str | None = None, progress: bool = True) -> ImageDataset:
    """--data value -> ImageDataset. spec: "builtin:emoji" (or "builtin:emoji-<subset>", "builtin:emoji-all"), a
    prepared folder/zip, or a raw folder/zip of pictures (prepared once into a cache keyed by its contents; see
    `cache.ensure_prepared`)."""
    from .builtin import SUBSET_ALIASES, resolve_builtin
    from .cache import ensure_prepared

    if str(spec).startswith("builtin:"):
        path, subset, name = resolve_builtin(str(spec), subset)
        try:
            return ImageDataset(path, resolution=resolution, use_labels=use_labels, max_size=max_size, xflip=xflip,
                                random_seed=random_seed, subset=subset, name=name)
        except UnknownSubsetError as e:  # Named as the user wrote it, with the named unions too.
            names = sorted({*e.available, *SUBSET_ALIASES, "all"})
            raise UserError(f"{spec}: no subset {'+'.join(e.unknown)!r} (available: {', '.join(names)})") from None
    else:
        path = ensure_prepared(str(spec), resolution=resolution, use_labels=use_labels, cache_dir=cache_dir,
                               progress=progress)
        name = Path(spec).expanduser().resolve().stem
    return ImageDataset(path, resolution=resolution, use_labels=use_labels, max_size=max_size, xflip=xflip,
                        random_seed=random_seed, subset=subset, name=name)
