"""An honest model card: one self-contained HTML page with uncurated grids, metrics, curves and provenance.

Layout of OUTDIR: card.html, samples_psi1.png and samples_psi0.7.png (seeds 0-63, 8x8), truncation.png,
mixing.png. Images are referenced relatively; curves are inline SVG; the page makes no network requests.
Conditional networks draw seed s with class s mod c_dim.
"""

from __future__ import annotations

import dataclasses
import datetime
import html
import json
import string
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from ..files import read_jsonl, write_text_atomic
from ..images import make_grid, provenance, save_png
from .layers import describe_groups, layer_groups
from .mixing import style_mixing_grid
from .plot import svg_line_chart
from .render import header_grid, render_ws, seeds_to_ws
from .truncation import truncation_sweep

SAMPLE_SEEDS = list(range(64))
SAMPLE_PSIS = (1.0, 0.7)
SWEEP_SEEDS = list(range(6))
SWEEP_PSIS = [-1.0, -0.5, 0.0, 0.5, 0.7, 1.0]
MIX_ROWS, MIX_COLS = [0, 1, 2, 3], [4, 5, 6, 7]
CURVE_KEYS = ["loss_G", "loss_D", "r1", "pl", "augment_p", "scores_real", "scores_fake", "sec_per_kimg"]


@dataclass
class MetricEntry:
    name: str
    value: float
    source: str  # Where the number comes from, shown next to it.


@dataclass
class RunRecord:
    """What the network's run directory tells (empty when the file is not in one)."""

    run_dir: Path | None = None
    config: dict | None = None  # config.json
    stats: list[dict] = field(default_factory=list)  # stats.jsonl, one record per tick
    metric_lines: dict[str, list[dict]] = field(default_factory=dict)  # metric-<name>.jsonl


def read_run(network_path: str | Path) -> RunRecord:
    """The run directory is the network file's folder when it holds config.json and stats.jsonl."""
    folder = Path(network_path).resolve().parent
    if not ((folder / "config.json").is_file() and (folder / "stats.jsonl").is_file()):
        return RunRecord()
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        config = None
    metric_lines = {p.stem[len("metric-"):]: read_jsonl(p) for p in sorted(folder.glob("metric-*.jsonl"))}
    return RunRecord(folder, config, read_jsonl(folder / "stats.jsonl"), metric_lines)


def recorded_metrics(run: RunRecord, network_name: str, metadata: dict[str, str]) -> list[MetricEntry]:
    """Metrics of this snapshot from metric-*.jsonl (else the newest line, labelled) and the snapshot metadata."""
    entries = []
    for name, lines in run.metric_lines.items():
        mine = [r for r in lines if r.get("snapshot_pkl") == network_name]
        rec = (mine or lines or [None])[-1]
        if rec is None:
            continue
        where = f"metric-{name}.jsonl" + ("" if mine else f" (measured on {rec.get('snapshot_pkl')}, not this file)")
        entries += [MetricEntry(k, float(v), where) for k, v in rec.get("results", {}).items()]
    try:
        meta = json.loads(metadata.get("stylegan.metrics", "{}"))
    except json.JSONDecodeError:
        meta = {}
    known = {e.name for e in entries}
    entries += [MetricEntry(k, float(v), "snapshot metadata") for k, v in meta.items() if k not in known]
    return entries


def _classes(G, seeds: list[int]) -> list[int] | None:
    return [s % G.c_dim for s in seeds] if G.c_dim > 0 else None


@torch.no_grad()
def card_images(G) -> dict[str, np.ndarray]:
    """The page's PNGs: {file name: uint8 image}."""
    images = {}
    for psi in SAMPLE_PSIS:
        ws = seeds_to_ws(G, SAMPLE_SEEDS, psi=psi, class_idx=_classes(G, SAMPLE_SEEDS))
        images[f"samples_psi{psi:g}.png"] = make_grid(render_ws(G, ws), cols=8)
    ws = seeds_to_ws(G, SWEEP_SEEDS, class_idx=_classes(G, SWEEP_SEEDS))
    images["truncation.png"] = header_grid(truncation_sweep(G, ws, SWEEP_PSIS), None, None)
    ws = seeds_to_ws(G, MIX_ROWS + MIX_COLS, class_idx=_classes(G, MIX_ROWS + MIX_COLS))
    mix = style_mixing_grid(G, ws[: len(MIX_ROWS)], ws[len(MIX_ROWS):], layer_groups(G.num_ws)["coarse"])
    images["mixing.png"] = mix.grid()
    return images


def _table(rows: list[tuple[str, str]]) -> str:
    return "<table>" + "".join(f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"


def _figure(src: str, caption: str, width: int) -> str:
    return (f'<figure><img src="{html.escape(src)}" alt="{html.escape(caption)}" width="{width}">'
            f"<figcaption>{caption}</figcaption></figure>")


def _model_section(G) -> str:
    n_params = sum(p.numel() for p in G.parameters())
    kimg = (getattr(G, "metadata", None) or {}).get("stylegan.kimg")
    return _table([
        ("model id", f"<code>{html.escape(getattr(G, 'model_id', '') or 'unknown')}</code>"),
        ("generation", html.escape(G.config.arch)),
        ("resolution", f"{G.img_resolution}&times;{G.img_resolution}, {G.img_channels} channel(s)"),
        ("latents", f"z_dim {G.z_dim}, w_dim {G.w_dim}, num_ws {G.num_ws}, classes {G.c_dim or 'none'}"),
        ("parameters", f"{n_params:,}"),
        ("trained for", f"{html.escape(kimg)} kimg" if kimg else "not recorded"),
    ])


def _image_sections(G) -> tuple[str, str, str]:
    px = max(G.img_resolution, 32)
    samples = "".join(_figure(f"samples_psi{psi:g}.png", f"&psi; = {psi:g}, seeds 0&ndash;63 (row-major)", 8 * px)
                      for psi in SAMPLE_PSIS)
    psis = ", ".join(f"{p:g}" for p in SWEEP_PSIS)
    trunc = _figure("truncation.png", f"rows: seeds {SWEEP_SEEDS[0]}&ndash;{SWEEP_SEEDS[-1]}; columns: "
                    f"&psi; = {psis} (&psi; = 0 is the average w, &psi; = 1 untruncated)", len(SWEEP_PSIS) * px)
    coarse = layer_groups(G.num_ws)["coarse"]
    mixing = _figure("mixing.png", f"top row: seeds {MIX_COLS}; left column: seeds {MIX_ROWS}; each cell takes the "
                     f"left image's ws with the coarse ws {coarse} of the top image (&psi; = 1). Layer groups for "
                     f"num_ws = {G.num_ws}: {describe_groups(G.num_ws)}.", (len(MIX_COLS) + 1) * px)
    return samples, trunc, mixing


def _metrics_section(entries: list[MetricEntry], run: RunRecord) -> str:
    if not entries:
        where = (f"no metric-*.jsonl in {html.escape(str(run.run_dir))}" if run.run_dir
                 else "the network is not in a run directory")
        return (f'<p class="missing">No metrics are available for this network ({where}, none in the snapshot '
                f"metadata, and none computed for this card). Run <code>stylegan card --metrics fid50k_full "
                f"--data DATASET</code> or <code>stylegan metrics</code> to measure it.</p>")
    rows = "".join(f"<tr><td>{html.escape(e.name)}</td><td>{e.value:.6g}</td><td>{html.escape(e.source)}</td></tr>"
                   for e in entries)
    return f"<table><tr><th>metric</th><th>value</th><th>source</th></tr>{rows}</table>"


def _curves_section(run: RunRecord) -> str:
    if not run.stats:
        return '<p class="missing">No training statistics (no stats.jsonl beside the network file).</p>'
    xs = [r.get("kimg", i) for i, r in enumerate(run.stats)]
    charts = [svg_line_chart(xs, [r.get(k) for r in run.stats], k) for k in CURVE_KEYS
              if any(isinstance(r.get(k), (int, float)) for r in run.stats)]
    names = sorted({k for r in run.stats for k in (r.get("metrics") or {})})
    charts += [svg_line_chart(xs, [(r.get("metrics") or {}).get(k) for r in run.stats], k) for k in names]
    return (f'<p class="note">From {html.escape(str(run.run_dir / "stats.jsonl"))}: one point per tick '
            f"({len(run.stats)} ticks).</p>" + "".join(charts))


def _provenance_section(run: RunRecord, data_info: dict | None) -> str:
    ds = (run.config or {}).get("dataset") or data_info
    if not ds:
        return ('<p class="missing">Training data not recorded: the network is not in a run directory with a '
                "config.json, and no --data was given.</p>")
    source = "config.json of the run" if (run.config or {}).get("dataset") else "--data given to stylegan card"
    keys = ["spec", "name", "path", "content_hash", "num_images", "resolution", "channels", "label_dim"]
    rows = [(k, html.escape(str(ds[k]))) for k in keys if k in ds]
    return f'<p class="note">Source: {source}.</p>' + _table(rows)


def _config_section(G, run: RunRecord) -> str:
    parts = [f"<h3>Generator</h3><pre>{html.escape(json.dumps(G.config.to_dict(), indent=2))}</pre>"]
    train = (run.config or {}).get("train")
    if train is not None:
        parts.append(f"<h3>Training (config.json)</h3><pre>{html.escape(json.dumps(train, indent=2))}</pre>")
    else:
        parts.append('<p class="missing">No training configuration recorded.</p>')
    return "".join(parts)


def card_html(G, run: RunRecord, metrics: list[MetricEntry], data_info: dict | None, title: str) -> str:
    from .. import __version__

    samples, trunc, mixing = _image_sections(G)
    template = string.Template(resources.files(__package__).joinpath("card_template.html").read_text("utf-8"))
    return template.substitute(
        title=html.escape(title), software=f"stylegan {__version__}",
        date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        model_table=_model_section(G), samples=samples, truncation=trunc, mixing=mixing,
        metrics=_metrics_section(metrics, run), curves=_curves_section(run),
        provenance=_provenance_section(run, data_info), config=_config_section(G, run))


def _float_or_none(text: str | None) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def write_card(G, network_path: str | Path, outdir: str | Path, computed: list[MetricEntry] | None = None,
               data_info: dict | None = None) -> Path:
    """Render the PNGs and card.html into outdir; returns the page's path."""
    outdir = Path(outdir)
    run = read_run(network_path)
    kimg = _float_or_none((getattr(G, "metadata", {}) or {}).get("stylegan.kimg"))
    if kimg is not None:  # The snapshot's own training: not the ticks the run went on to after it.
        run = dataclasses.replace(run, stats=[r for r in run.stats if r.get("kimg", 0) <= kimg + 1e-9])
    metrics = (computed or []) + recorded_metrics(run, Path(network_path).name, getattr(G, "metadata", {}) or {})
    text = provenance(model_id=getattr(G, "model_id", None), tool="stylegan card")
    for name, img in card_images(G).items():
        save_png(outdir / name, img, text)
    page = outdir / "card.html"
    write_text_atomic(page, card_html(G, run, metrics, data_info, Path(network_path).name))
    return page
