"""The dataset tool as a library: any folder or zip of pictures -> a dataset in the official layout, with a report.

Two passes over the source: a cheap scan (file hashes for exact duplicates, image headers for the output size and
channel count), then decode -> 8-bit -> alpha -> crop/pad/resize -> write. The destination is written under a
temporary name and renamed at the end, so it appears complete or not at all.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import random
import statistics
import warnings
from pathlib import Path

import numpy as np
import PIL.Image

from ..errors import UserError
from ..files import write_text_atomic
from ..images import make_grid, save_png
from . import image_ops
from .archive import LABELS_FILE, META_FILE, Archive, archive_name, encode_png, is_image_name, json_bytes, layout_writer
from .labels import SourceLabels, labels_from_dirs, labels_from_json
from .report import FileResult, PrepareReport

PREVIEW_COUNT = 64  # images in the preview grid
PREVIEW_TILE = 128  # preview tiles are at most this many pixels wide
_NOT_A_DEST = {".tar", ".gz", ".tgz", ".7z", ".rar", ".png", ".jpg", ".jpeg"}


@dataclasses.dataclass(frozen=True)
class PrepareOptions:
    resolution: int | None = None       # output width = height, a power of two; None: chosen from the images
    wide_height: int | None = None      # image band height for center-crop-wide (official 'WxH' with H < W)
    transform: image_ops.Transform = "center-crop"
    resize_filter: image_ops.ResizeFilter = "lanczos"  # 'box' matches the paper's downscaled FFHQ
    max_images: int | None = None       # keep at most this many images (the first, in sorted source order)
    labels_from_dirs: bool = False      # class = sub-folder name; otherwise the source's dataset.json, if any
    keep_alpha: bool = False            # write RGBA; otherwise transparent images are composited over `background`
    background: tuple[int, int, int] = (255, 255, 255)
    compress_level: int = 0             # PNG zlib level; 0 like the official tool (fastest to read)
    seed: int = 0                       # which images the preview shows
    overwrite: bool = False             # replace an existing dataset at dest

    def __post_init__(self):
        if self.resolution is not None and (self.resolution < 4 or self.resolution & (self.resolution - 1)):
            raise UserError(f"resolution must be a power of two >= 4, got {self.resolution}")
        if self.transform not in image_ops.TRANSFORMS:
            raise UserError(f"transform must be one of {', '.join(image_ops.TRANSFORMS)}, got {self.transform!r}")
        if self.resize_filter not in image_ops.RESIZE_FILTERS:
            raise UserError(f"resize filter must be lanczos or box, got {self.resize_filter!r}")
        if self.transform == "center-crop-wide":
            if self.resolution is None or self.wide_height is None or not 0 < self.wide_height <= self.resolution:
                raise UserError("center-crop-wide needs a resolution WxH with H <= W, e.g. 512x384")
        elif self.wide_height not in (None, self.resolution):
            raise UserError("WxH with H < W is only for --transform center-crop-wide; use a square resolution")
        if self.max_images is not None and self.max_images < 1:
            raise UserError(f"max images must be >= 1, got {self.max_images}")


@dataclasses.dataclass(frozen=True)
class _Candidate:
    name: str
    size: tuple[int, int]
    gray: bool


def side_paths(dest: str | Path) -> tuple[Path, Path]:
    """DST -> (DST-preview.png, DST-report.txt) beside it; never inside, where loaders would take them for data."""
    dest = Path(dest)
    stem = dest.with_suffix("") if dest.suffix.lower() == ".zip" else dest
    return stem.with_name(stem.name + "-preview.png"), stem.with_name(stem.name + "-report.txt")


def _check_paths(source: Path, dest: Path, overwrite: bool) -> None:
    if dest.exists() and not (dest.is_dir() or dest.is_file()):  # /dev/full, a socket, a pipe.
        raise UserError(f"{dest}: not a folder or a file; the destination must be a folder or a .zip")
    if dest.suffix.lower() in _NOT_A_DEST or (dest.is_file() and dest.suffix.lower() != ".zip"):
        raise UserError(f"{dest}: the destination must be a folder or a .zip")
    if dest.exists() and not (dest.is_dir() and not any(dest.iterdir())):  # An empty folder is simply filled.
        looks_like_data = dest.is_file() or (dest / LABELS_FILE).exists()
        if not overwrite or not looks_like_data:
            why = ("pass --overwrite to replace it" if looks_like_data
                   else "it is a non-empty folder that is not a dataset")
            raise UserError(f"{dest}: already exists ({why})")
    src, dst = source.resolve(), dest.resolve()
    if src == dst or (source.is_dir() and src in dst.parents):
        raise UserError(f"{dest}: the destination must not be inside the source {source}")


def _scan(archive: Archive, labels: SourceLabels | None, loose: set[str]
          ) -> tuple[list[_Candidate], dict[str, FileResult]]:
    """Pass 1: drop non-images, unlabelled files and exact duplicates; read image headers."""
    candidates, skipped, seen = [], {}, {}
    for name in archive.names:
        base = name.rsplit("/", 1)[-1]
        if name in (LABELS_FILE, META_FILE):
            continue
        if "__MACOSX/" in name or base.startswith("._") or base in (".DS_Store", "Thumbs.db"):
            skipped[name] = FileResult(name, skipped="system metadata file (ignored)")
        elif not is_image_name(name):
            skipped[name] = FileResult(name, skipped="not an image file (ignored)")
        elif name in loose:
            skipped[name] = FileResult(name, skipped="not in a class sub-folder")
        elif labels is not None and name not in labels.by_name:
            skipped[name] = FileResult(name, skipped=f"no label in {labels.origin}")
        else:
            data = archive.read(name)
            digest = hashlib.sha256(data).hexdigest()
            if digest in seen:
                skipped[name] = FileResult(name, skipped=f"duplicate of {seen[digest]} (identical file)")
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    with PIL.Image.open(io.BytesIO(data)) as im:
                        candidates.append(_Candidate(name, im.size, im.mode in image_ops.GRAY_MODES))
                seen[digest] = name
            except PIL.Image.DecompressionBombError:
                skipped[name] = FileResult(name, skipped="too large (Pillow decompression-bomb limit)")
            except Exception:  # noqa: BLE001 - untrusted file; any failure is a reason in the report
                skipped[name] = FileResult(name, skipped="not a readable image")
    return candidates, skipped


def _choose_resolution(candidates: list[_Candidate], options: PrepareOptions) -> int:
    """The given resolution, or the largest power of two <= the median short side (long side for pad), 4..1024."""
    if options.resolution is not None:
        return options.resolution
    pick = max if options.transform == "pad" else min
    side = statistics.median_low([pick(c.size) for c in candidates])
    return int(min(1024, max(4, 2 ** int(np.floor(np.log2(max(side, 1)))))))


def _fill(channels: int, background: tuple[int, int, int]) -> tuple[int, ...]:
    r, g, b = background
    return {1: (round(0.299 * r + 0.587 * g + 0.114 * b),), 3: background, 4: (0, 0, 0, 0)}[channels]


def convert_image(data: bytes, options: PrepareOptions, width: int, height: int, channels: int
                  ) -> tuple[np.ndarray, list[str]]:
    """One source file -> HWC uint8 [width, width, channels] and its conversion notes (ImageError if unusable)."""
    img, notes = image_ops.decode(data)
    img, n2 = image_ops.to_8bit(img)
    n3: list[str] = []
    if not options.keep_alpha:
        img, n3 = image_ops.flatten_alpha(img, options.background)
    img, n4 = image_ops.match_channels(img, channels)
    img, n5 = image_ops.apply_transform(img, options.transform, width, height, options.resize_filter,
                                        _fill(channels, options.background))
    arr = np.asarray(img, dtype=np.uint8)
    return (arr[:, :, None] if arr.ndim == 2 else arr), notes + n2 + n3 + n4 + n5


def _thumbnail(arr: np.ndarray) -> np.ndarray:
    f = max(1, arr.shape[0] // PREVIEW_TILE)
    return arr[::f, ::f]


def _write_images(archive: Archive, put, candidates: list[_Candidate], options: PrepareOptions, width: int,
                  height: int, channels: int, progress: bool) -> tuple[dict[str, FileResult], list[np.ndarray]]:
    """Pass 2: convert and write each candidate until max_images are kept; also a seeded preview sample."""
    from ..progress import progress_bar

    results: dict[str, FileResult] = {}
    seen_pixels: dict[str, str] = {}
    rng, sample, kept = random.Random(options.seed), [], 0
    for cand in progress_bar(candidates, desc="preparing", unit="img", enabled=progress):
        if kept == options.max_images:
            break
        try:
            arr, notes = convert_image(archive.read(cand.name), options, width, height, channels)
        except image_ops.ImageError as e:
            results[cand.name] = FileResult(cand.name, skipped=str(e))
            continue
        digest = hashlib.sha256(arr.tobytes()).hexdigest()
        if digest in seen_pixels:
            why = f"duplicate of {seen_pixels[digest]} (identical pixels after preparation)"
            results[cand.name] = FileResult(cand.name, skipped=why)
            continue
        seen_pixels[digest] = cand.name
        member = archive_name(kept)
        put(member, encode_png(arr, options.compress_level))
        results[cand.name] = FileResult(cand.name, kept_as=member, notes=tuple(notes))
        kept += 1
        # Reservoir sampling: every kept image is equally likely to be in the preview.
        if len(sample) < PREVIEW_COUNT:
            sample.append(_thumbnail(arr))
        elif (j := rng.randrange(kept)) < PREVIEW_COUNT:
            sample[j] = _thumbnail(arr)
    return results, sample


def _label_json(labels: SourceLabels | None, kept: list[FileResult]) -> tuple[list | None, int]:
    """Official dataset.json labels [[member, label], ...] (None without labels) and the label dimension."""
    if labels is None:
        return None, 0
    values = [labels.by_name[f.source] for f in kept]
    if values and isinstance(values[0], tuple):
        return [[f.kept_as, list(v)] for f, v in zip(kept, values)], len(values[0])
    return [[f.kept_as, v] for f, v in zip(kept, values)], (max(values) + 1 if values else 0)


def _skip_summary(skipped: dict[str, FileResult]) -> str:
    counts = PrepareReport("", "", 0, 3, tuple(skipped.values()), 0).skip_counts()
    return ", ".join(f"{n} {kind}" for kind, n in counts.items()) or "no image files"


def prepare_dataset(source: str | Path, dest: str | Path, options: PrepareOptions = PrepareOptions(), *,
                    extra_meta: dict[str, dict] | None = None, progress: bool = False) -> PrepareReport:
    """Prepare `source` (folder or zip of pictures) into `dest` (folder or .zip, official layout).

    Also writes DST-preview.png and DST-report.txt beside `dest`. `extra_meta` maps source paths to extra fields
    for meta.json (e.g. {"subsets": ["cats"]}, read by ImageDataset(subset=...)).
    """
    source, dest = Path(source).expanduser(), Path(dest).expanduser()
    archive = Archive(source)
    _check_paths(source, dest, options.overwrite)
    loose: list[str] = []
    if options.labels_from_dirs:
        images = [n for n in archive.names if is_image_name(n) and "__MACOSX/" not in n]
        labels, loose = labels_from_dirs(str(source), images)
    else:
        labels = labels_from_json(archive)
    candidates, skipped = _scan(archive, labels, set(loose))
    if not candidates:
        raise UserError(f"{source}: no usable images ({_skip_summary(skipped)})")
    width = _choose_resolution(candidates, options)
    height = options.wide_height or width
    channels = 4 if options.keep_alpha else 1 if all(c.gray for c in candidates) else 3
    with layout_writer(dest, replace=dest.is_dir()) as put:  # _check_paths allowed it.
        results, sample = _write_images(archive, put, candidates, options, width, height, channels, progress)
        kept = [r for r in results.values() if r.kept_as]
        if not kept:
            raise UserError(f"{source}: no usable images ({_skip_summary({**skipped, **results})})")
        label_list, label_dim = _label_json(labels, kept)
        class_names = list(labels.class_names) if labels else []
        put(LABELS_FILE, json_bytes({"labels": label_list, **({"class_names": class_names} if class_names else {})}))
        meta = {f.kept_as: {"source": f.source, **(extra_meta or {}).get(f.source, {})} for f in kept}
        put(META_FILE, json_bytes({"images": meta}))
        # The preview and report before the dataset appears: an interrupted run never leaves a dataset without them.
        preview, report_path = side_paths(dest)
        save_png(preview, make_grid(np.stack(sample), pad=1))
        all_results = {**skipped, **results}
        report = PrepareReport(
            source=str(source), dest=str(dest), resolution=width, channels=channels,
            files=tuple(all_results[n] for n in archive.names if n in all_results), label_dim=label_dim,
            class_names=tuple(class_names), not_processed=len(candidates) - len(results),
            preview=str(preview), report_path=str(report_path))
        write_text_atomic(report_path, report.to_text())
    archive.close()
    return report
