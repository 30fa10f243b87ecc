"""Raw pictures given as --data: read directly when already uniform, otherwise prepared once into a cache.

The cache entry is named after the source and keyed by the sha256 of its files and the preparation options, so
editing the pictures or asking for another resolution prepares a new copy; the same request reuses the old one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from pathlib import Path

import PIL.Image

from ..errors import UserError
from .archive import LABELS_FILE, OFFICIAL_NAME, Archive, is_image_name
from .labels import parse_labels_json
from .prepare import PrepareOptions, prepare_dataset


def default_cache_dir() -> Path:
    """$STYLEGAN_CACHE/datasets, else ~/.cache/stylegan/datasets."""
    root = os.environ.get("STYLEGAN_CACHE")
    return (Path(root).expanduser() if root else Path.home() / ".cache" / "stylegan") / "datasets"


def _is_uniform(archive: Archive, images: list[str]) -> bool:
    """All images one square power-of-two size, 8-bit L/RGB/RGBA, upright, and labelled if dataset.json has labels.

    Such a folder is what the official loader reads directly, so we do too (no copy). Reads only image headers.
    """
    if LABELS_FILE in archive.names:
        try:
            labels = parse_labels_json(archive.read_json(LABELS_FILE), LABELS_FILE)
        except UserError:
            return False
        if labels is not None and any(n not in labels for n in images):
            return False
    sizes = set()
    for name in images:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with archive.open(name) as f, PIL.Image.open(f) as im:
                    ok = im.mode in ("L", "RGB", "RGBA") and "transparency" not in im.info
                    ok = ok and im.getexif().get(0x0112, 1) in (None, 1)
                    sizes.add(im.size)
        except Exception:  # noqa: BLE001 - any unreadable file means "not uniform": prepare it instead
            return False
        if not ok or len(sizes) > 1:
            return False
    w, h = sizes.pop()
    return w == h and w >= 4 and not w & (w - 1)


def is_prepared(archive: Archive) -> bool:
    """Official layout with dataset.json (ours or NVlabs'), or a uniform folder/zip the official loader would read."""
    images = [n for n in archive.names if is_image_name(n)]
    if not images:
        return False
    if LABELS_FILE in archive.names and all(OFFICIAL_NAME.match(n) for n in images):
        return True
    return _is_uniform(archive, images)


def source_key(archive: Archive, options: PrepareOptions) -> str:
    """sha256 over every file's name and contents, and the options."""
    h = hashlib.sha256(json.dumps(options.__dict__, sort_keys=True, default=str).encode())
    for name in archive.names:
        h.update(name.encode() + b"\0" + hashlib.sha256(archive.read(name)).digest())
    return h.hexdigest()


def ensure_prepared(spec: str, *, resolution: int | None = None, use_labels: bool = False,
                    cache_dir: str | None = None, progress: bool = True) -> Path:
    """Path of a prepared dataset for `spec`: itself if prepared (or uniform), else a cached prepared copy.

    Raw sources get the dataset tool's default rules at `resolution` (chosen from the images when None); with
    `use_labels` and no dataset.json, class labels come from sub-folder names. Prints a short report when preparing.
    """
    path = Path(spec).expanduser()
    if not path.exists():
        raise UserError(f"{spec}: no such file or folder")
    archive = Archive(path)
    try:
        if is_prepared(archive):
            return path
        if resolution is not None and (resolution < 4 or resolution & (resolution - 1)):
            raise UserError(f"{spec}: resolution must be a power of two >= 4, got {resolution}")
        options = PrepareOptions(resolution=resolution,
                                 labels_from_dirs=use_labels and LABELS_FILE not in archive.names)
        key = source_key(archive, options)
    finally:
        archive.close()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", path.resolve().stem) or "data"
    dest = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    dest = dest / f"{stem}-{key[:16]}.zip"
    if dest.is_file():
        return dest
    print(f"{spec}: raw pictures; preparing them once into {dest}")
    report = prepare_dataset(path, dest, options, progress=progress)
    print(report.summary())
    print(f"  per-file report: {report.report_path}; preview: {report.preview}")
    return dest
