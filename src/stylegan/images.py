"""Image conventions at the boundaries: float NCHW in [-1, 1] inside, uint8 HWC PNGs outside, with provenance text."""

from __future__ import annotations

import datetime
import math
from pathlib import Path

import numpy as np
import PIL.Image
import PIL.PngImagePlugin
import torch

from .files import atomic_path


def to_uint8(img: torch.Tensor) -> np.ndarray:
    """[N, C, H, W] float in about [-1, 1] -> [N, H, W, C] uint8, the official conversion (x * 127.5 + 128)."""
    return (img.detach() * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def from_uint8(arr: np.ndarray | torch.Tensor) -> torch.Tensor:
    """[N, H, W, C] or [N, C, H, W] uint8 tensor -> float [-1, 1] NCHW; numpy input is taken as NHWC."""
    t = torch.as_tensor(arr)
    if isinstance(arr, np.ndarray):
        t = t.permute(0, 3, 1, 2)
    return t.to(torch.float32) / 127.5 - 1


def to_pil(arr: np.ndarray) -> PIL.Image.Image:
    """HWC uint8 with 1, 3 or 4 channels (or HW) -> PIL image."""
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 2:
        return PIL.Image.fromarray(arr, "L")
    return PIL.Image.fromarray(arr, {3: "RGB", 4: "RGBA"}[arr.shape[2]])


def provenance(**fields) -> dict[str, str]:
    """Text chunks for a PNG: tool and version, date, plus the given fields (None values are written as 'none')."""
    from . import __version__

    text = {"Software": f"stylegan {__version__}",
            "Creation Time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    for k, v in fields.items():
        text[f"stylegan:{k}"] = "none" if v is None else str(v)
    return text


def save_png(path: str | Path, arr: np.ndarray, text: dict[str, str] | None = None, compress_level: int = 6) -> None:
    """Write an HWC uint8 array as PNG with tEXt chunks, atomically."""
    info = PIL.PngImagePlugin.PngInfo()
    for k, v in (text or {}).items():
        info.add_text(k, v)
    with atomic_path(path) as tmp:
        to_pil(arr).save(tmp, format="PNG", pnginfo=info, compress_level=compress_level)


def read_png_text(path: str | Path) -> dict[str, str]:
    with PIL.Image.open(path) as im:
        return dict(getattr(im, "text", {}) or {})


def make_grid(images: np.ndarray, cols: int | None = None, pad: int = 0, pad_value: int = 255) -> np.ndarray:
    """[N, H, W, C] uint8 -> one [rows*H, cols*W, C] image (row-major; empty cells filled with pad_value)."""
    n, h, w, c = images.shape
    cols = cols or max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / cols))
    grid = np.full([rows * h + (rows - 1) * pad, cols * w + (cols - 1) * pad, c], pad_value, dtype=np.uint8)
    for i in range(n):
        r, q = divmod(i, cols)
        grid[r * (h + pad): r * (h + pad) + h, q * (w + pad): q * (w + pad) + w] = images[i]
    return grid
