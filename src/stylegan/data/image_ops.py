"""Pure image functions of the dataset tool: decode any file Pillow reads into 8-bit L/RGB/RGBA, crop, pad, resize.

Each function returns its result plus short notes ("CMYK -> RGB", "upscaled from 20x30") for the report.
"""

from __future__ import annotations

import io
import warnings
from typing import Literal

import numpy as np
import PIL.Image
import PIL.ImageOps

Transform = Literal["center-crop", "center-crop-wide", "pad"]
ResizeFilter = Literal["lanczos", "box"]
TRANSFORMS: tuple[str, ...] = ("center-crop", "center-crop-wide", "pad")
RESIZE_FILTERS = {"lanczos": PIL.Image.LANCZOS, "box": PIL.Image.BOX}

GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_MODE_NAMES = {"P": "palette", "PA": "palette", "L": "grayscale", "RGB": "RGB"}


class ImageError(Exception):
    """A file that cannot be used as an image; the message is the reason shown in the report."""


def decode(data: bytes) -> tuple[PIL.Image.Image, list[str]]:
    """Bytes -> fully loaded, EXIF-upright image (first frame of an animation), or ImageError with the reason."""
    notes = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Palette-transparency and decompression-bomb warnings.
            img = PIL.Image.open(io.BytesIO(data))
            if getattr(img, "n_frames", 1) > 1:
                notes.append(f"first frame of {img.n_frames}")
            img.load()
            orientation = img.getexif().get(0x0112, 1)
            if orientation not in (None, 1):
                img = PIL.ImageOps.exif_transpose(img)
                notes.append("EXIF-rotated")
    except PIL.Image.DecompressionBombError:
        raise ImageError("too large (Pillow decompression-bomb limit)") from None
    except PIL.UnidentifiedImageError:
        raise ImageError("not a readable image") from None
    except Exception as e:  # noqa: BLE001 - broken files raise OSError, SyntaxError, ValueError, EOFError, zlib.error, ...
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ImageError(f"truncated or corrupt ({reason})") from None
    if img.width < 1 or img.height < 1:
        raise ImageError("empty image")
    return img, notes


def has_alpha(img: PIL.Image.Image) -> bool:
    if img.mode in _ALPHA_MODES:
        return True
    return img.mode in ("P", "L", "RGB") and "transparency" in img.info


def to_8bit(img: PIL.Image.Image) -> tuple[PIL.Image.Image, list[str]]:
    """Any mode -> 'L', 'RGB' or 'RGBA' with 8 bits per channel (alpha kept whenever the file has any)."""
    mode = img.mode
    if mode in ("L", "RGB", "RGBA") and not (mode != "RGBA" and has_alpha(img)):
        return img, []
    if mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        a = np.asarray(img).astype(np.float64)
        if mode == "F":
            a = a * 255 if a.max(initial=0) <= 1 else a
            note = "float -> 8-bit"
        else:
            a = a / 257 if (mode != "I" or a.max(initial=0) > 255) else a  # 65535 -> 255
            note = "16-bit -> 8-bit"
        return PIL.Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "L"), [note]
    if mode == "1":
        return img.convert("L"), []
    name = _MODE_NAMES.get(mode, mode)
    if has_alpha(img):
        return img.convert("RGBA"), [f"{name} -> RGBA"] if mode not in ("LA", "La", "RGBa") else []
    return img.convert("RGB"), [f"{name} -> RGB"]


def flatten_alpha(img: PIL.Image.Image, background: tuple[int, int, int]) -> tuple[PIL.Image.Image, list[str]]:
    """Composite an RGBA image over a solid background -> RGB; images without real transparency just drop alpha."""
    if img.mode != "RGBA":
        return img, []
    alpha = np.asarray(img)[:, :, 3]
    if alpha.min() == 255:
        return img.convert("RGB"), []
    canvas = PIL.Image.new("RGBA", img.size, (*background, 255))
    return PIL.Image.alpha_composite(canvas, img).convert("RGB"), ["alpha composited over background"]


def match_channels(img: PIL.Image.Image, channels: int) -> tuple[PIL.Image.Image, list[str]]:
    """L/RGB/RGBA -> the dataset's channel count (1, 3 or 4)."""
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[channels]
    if img.mode == mode:
        return img, []
    note = {"L": "grayscale -> RGB" if mode == "RGB" else "", "RGB": "opaque alpha added" if mode == "RGBA" else ""}
    return img.convert(mode), [n for n in [note.get(img.mode, "")] if n]


def _resize(img: PIL.Image.Image, size: tuple[int, int], resample: int) -> PIL.Image.Image:
    return img if img.size == size else img.resize(size, resample=resample)


def apply_transform(img: PIL.Image.Image, transform: Transform, width: int, height: int, resize_filter: ResizeFilter,
                    fill: tuple[int, ...]) -> tuple[PIL.Image.Image, list[str]]:
    """Crop/pad `img` to a width x width square; `height` < width only for center-crop-wide (letterboxed band).

    center-crop: the largest centred square, resized. pad: the whole image fitted inside, borders in `fill`.
    center-crop-wide: the centred width:height crop, resized to width x height, on a black square (official).
    """
    resample = RESIZE_FILTERS[resize_filter]
    w, h = img.size
    if transform == "center-crop":
        s = min(w, h)
        crop = img.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
        scale, out = s / width, _resize(crop, (width, width), resample)
    elif transform == "pad":
        scale = max(w, h) / width
        fw, fh = max(1, round(w / scale)), max(1, round(h / scale))
        out = PIL.Image.new(img.mode, (width, width), fill[: len(img.getbands())])
        out.paste(_resize(img, (fw, fh), resample), ((width - fw) // 2, (width - fh) // 2))
    elif transform == "center-crop-wide":
        cw, ch = (round(h * width / height), h) if w * height > h * width else (w, round(w * height / width))
        crop = img.crop(((w - cw) // 2, (h - ch) // 2, (w - cw) // 2 + cw, (h - ch) // 2 + ch))
        scale = cw / width
        out = PIL.Image.new(img.mode, (width, width), 0)
        out.paste(_resize(crop, (width, height), resample), (0, (width - height) // 2))
    else:
        raise ValueError(f"unknown transform {transform!r}")
    notes = [f"{'padded' if transform == 'pad' else 'cropped'} from {w}x{h}"] if w * height != h * width else []
    return out, notes + ([f"upscaled from {w}x{h}"] if scale < 1 else [])
