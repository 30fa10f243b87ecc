"""A dependency-free line chart as inline SVG (for training curves in the model card; matplotlib is not needed)."""

from __future__ import annotations

import html
import math

from ..plot import nice_ticks


def svg_line_chart(xs: list[float], ys: list[float | None], title: str, xlabel: str = "kimg",
                   width: int = 360, height: int = 200) -> str:
    """One series as an <svg> element; None and non-finite values are skipped (gaps are bridged)."""
    pts = [(float(x), float(y)) for x, y in zip(xs, ys) if y is not None and math.isfinite(y) and math.isfinite(x)]
    left, right, top, bottom = 52, 10, 24, 34
    pw, ph = width - left - right, height - top - bottom
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
            f'aria-label="{html.escape(title)}" class="chart">'),
           f'<text x="{left}" y="15" font-size="12" font-weight="bold">{html.escape(title)}</text>',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>']
    if not pts:
        out.append(f'<text x="{left + 8}" y="{top + ph / 2}" font-size="11" fill="#666">no finite values</text></svg>')
        return "".join(out)
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    if x1 == x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    sx = lambda x: left + (x - x0) / (x1 - x0) * pw
    sy = lambda y: top + ph - (y - y0) / (y1 - y0) * ph
    for t in nice_ticks(y0, y1):
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" stroke="#eee"/>'
                   f'<text x="{left - 4}" y="{sy(t) + 4:.1f}" font-size="10" text-anchor="end">{t:.3g}</text>')
    for t in nice_ticks(x0, x1):
        out.append(f'<text x="{sx(t):.1f}" y="{top + ph + 14}" font-size="10" text-anchor="middle">{t:.3g}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 4}" font-size="10" text-anchor="middle">'
               f'{html.escape(xlabel)}</text>')
    path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
    out.append(f'<polyline points="{path}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>')
    if len(pts) == 1:
        out.append(f'<circle cx="{sx(pts[0][0]):.1f}" cy="{sy(pts[0][1]):.1f}" r="2.5" fill="#1f77b4"/>')
    out.append("</svg>")
    return "".join(out)
