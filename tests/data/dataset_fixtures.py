"""Helpers for dataset tests: awkward pictures made on the spot, and a hand-made official-layout zip."""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import PIL.Image


def encode(img: PIL.Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def png_rgb16(arr: np.ndarray) -> bytes:
    """[H, W, 3] uint16 -> a 16-bit-per-channel PNG (Pillow cannot write these), encoded by hand."""
    h, w, _ = arr.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\0" + arr[y].astype(">u2").tobytes() for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def solid(mode: str, size: tuple[int, int], color) -> PIL.Image.Image:
    return PIL.Image.new(mode, size, color)


def noise(size: tuple[int, int], seed: int) -> PIL.Image.Image:
    w, h = size
    return PIL.Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB")


def awkward_files() -> dict[str, bytes]:
    """Relative path -> bytes; the names say what is awkward about each."""
    good = encode(noise((48, 40), 0))
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[:, :20] = (255, 0, 0, 0)      # left half fully transparent (red underneath)
    rgba[:, 20:] = (0, 0, 255, 255)    # right half opaque blue
    palette = noise((40, 40), 1).quantize(16)
    exif = PIL.Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    return {
        "good.png": good,
        "wide.jpg": encode(noise((64, 32), 2), "JPEG", quality=95),
        "corrupt.png": b"this is not an image " * 20,
        "truncated.png": encode(noise((40, 40), 3))[:2000],
        "cmyk.jpg": encode(solid("CMYK", (40, 40), (0, 255, 255, 0)), "JPEG", quality=95),  # red in CMYK
        "palette.png": encode(palette, transparency=0),
        "gray16.png": encode(PIL.Image.fromarray(np.full((40, 40), 257 * 100, np.uint16))),
        "rgb16.png": png_rgb16(np.full((40, 40, 3), [257 * 10, 257 * 20, 257 * 30], np.uint16)),
        "gray.png": encode(solid("L", (40, 40), 77)),
        "rgba.png": encode(PIL.Image.fromarray(rgba, "RGBA")),
        "exif.jpg": encode(noise((40, 20), 4), "JPEG", exif=exif.tobytes()),
        "small.png": encode(noise((8, 8), 5)),
        "good_copy.png": good,
        "sub/nested.png": encode(noise((40, 40), 6)),
        "notes.txt": b"not a picture",
    }


def write_files(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def make_official_zip(path: Path, n: int = 8, res: int = 16, mode: str = "RGB", labels: list | None = None) -> Path:
    """A zip in the layout NVlabs' dataset_tool.py writes: stored members, uncompressed PNGs, dataset.json."""
    rng = np.random.default_rng(1)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        names = []
        for i in range(n):
            shape = (res, res, 3) if mode == "RGB" else (res, res)
            img = PIL.Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)
            names.append(f"{i:08d}"[:5] + f"/img{i:08d}.png")
            zf.writestr(names[-1], encode(img, compress_level=0))
        label_list = None if labels is None else [[name, lab] for name, lab in zip(names, labels)]
        zf.writestr("dataset.json", json.dumps({"labels": label_list}))
    return path
