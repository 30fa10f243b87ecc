"""Line charts as PNG, drawn with Pillow (no plotting library needed): training curves, ADA, feature magnitudes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import PIL.Image
import PIL.ImageDraw
import PIL.ImageFont

from .images import save_png

COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]


@dataclass
class Series:
    label: str
    xs: list[float]
    ys: list[float | None]  # None / non-finite values leave a gap.


def _font() -> PIL.ImageFont.ImageFont | PIL.ImageFont.FreeTypeFont:
    """Pillow's bundled scalable font where this Pillow has FreeType (>= 10.1), else its bitmap font."""
    try:
        return PIL.ImageFont.load_default(size=11)
    except (TypeError, ImportError, OSError):
        return PIL.ImageFont.load_default()


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About n round tick values covering [lo, hi]."""
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    return [start + i * step for i in range(int((hi - start) / step + 1e-9) + 1)]


def line_chart(series: list[Series], title: str, xlabel: str = "kimg", ylabel: str = "", size=(640, 360),
               hlines: dict[str, float] | None = None, log_y: bool = False) -> np.ndarray:
    """Render series into an RGB image [H, W, 3] uint8 with axes, ticks, optional labelled h-lines, and a legend
    below the x axis (so it never hides a curve); `size` is the plot's size without the legend rows."""
    W, H = size[0], size[1] + 14 * len(series)
    left, right, top, bottom = 64, 16, 30, 44 + 14 * len(series)
    img = PIL.Image.new("RGB", (W, H), "white")
    d = PIL.ImageDraw.Draw(img)
    d.font = _font()
    tf = (lambda y: math.log10(y)) if log_y else (lambda y: y)  # noqa: E731
    pts = [[(x, tf(y)) for x, y in zip(s.xs, s.ys) if _ok(y, log_y) and math.isfinite(x)] for s in series]
    allx = [p[0] for ps in pts for p in ps] or [0, 1]
    ally = [p[1] for ps in pts for p in ps] + [tf(v) for v in (hlines or {}).values() if _ok(v, log_y)] or [0, 1]
    x0, x1, y0, y1 = min(allx), max(allx), min(ally), max(ally)
    if x1 == x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    pad = (y1 - y0) * 0.05 or 0.5
    y0, y1 = y0 - pad, y1 + pad
    sx = lambda x: left + (x - x0) / (x1 - x0) * (W - left - right)  # noqa: E731
    sy = lambda y: H - bottom - (y - y0) / (y1 - y0) * (H - top - bottom)  # noqa: E731
    d.text((left, 8), title, fill="black")
    for t in nice_ticks(y0, y1):
        d.line([(left, sy(t)), (W - right, sy(t))], fill=(235, 235, 235))
        d.text((4, sy(t) - 6), f"{10 ** t:.3g}" if log_y else f"{t:.3g}", fill=(80, 80, 80))
    for t in nice_ticks(x0, x1):
        d.text((sx(t) - 10, H - bottom + 6), f"{t:.4g}", fill=(80, 80, 80))
    d.rectangle([left, top, W - right, H - bottom], outline=(150, 150, 150))
    d.text(((W - d.textlength(xlabel)) / 2, H - bottom + 24), xlabel, fill="black")
    if ylabel:
        d.text((4, top - 16), ylabel, fill="black")
    for name, v in (hlines or {}).items():
        if _ok(v, log_y):
            y = sy(tf(v))
            for xa in range(left, W - right, 8):
                d.line([(xa, y), (min(xa + 4, W - right), y)], fill=(120, 120, 120))
            d.text((W - right - d.textlength(name) - 4, y - 13), name, fill=(90, 90, 90))
    for i, (s, ps) in enumerate(zip(series, pts)):
        color = COLORS[i % len(COLORS)]
        if len(ps) > 1:
            d.line([(sx(x), sy(y)) for x, y in ps], fill=color, width=2)
        for x, y in ps[:1] if len(ps) == 1 else []:
            d.ellipse([sx(x) - 2, sy(y) - 2, sx(x) + 2, sy(y) + 2], fill=color)
        ly = H - bottom + 44 + 14 * i
        d.line([(left + 10, ly), (left + 30, ly)], fill=color, width=2)
        d.text((left + 34, ly - 6), s.label, fill="black")
    return np.asarray(img)


def _ok(y, log_y: bool) -> bool:
    return y is not None and math.isfinite(y) and (not log_y or y > 0)


def save_line_chart(path: str | Path, series: list[Series], title: str, **kwargs) -> None:
    save_png(path, line_chart(series, title, **kwargs))
