"""The metric registry (`@metric`), the evaluation context shared by the metrics of one call, and the entry points
`compute_metrics` / `evaluate_metrics` used by the CLI and the training loop.

A metric function takes (ctx, num) and returns {suffix: value}; suffix "" is the metric itself, others become
"<name>_<suffix>" (e.g. pr50k3_full_precision), as in the official result files.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from ..checkpoint import resolve_device
from ..errors import UserError
from .detectors import Detector, cache_root, load_detector
from .features import FeatureStats, accumulate, dataset_stats, iterate_generator


@dataclass(frozen=True)
class MetricOptions:
    device: str | None = None  # "cpu" | "cuda" | ...; None = the generator's device, else auto.
    num: int | None = None  # Override of the sample count (renames the result, e.g. fid1k_full); None = as defined.
    max_reals: int | None = None  # Cap on real images (network metrics); None = as the metric defines.
    detector: str | None = None  # Inception-v3 file or URL; None = $STYLEGAN_INCEPTION, cache, download.
    vgg: str | None = None  # VGG16 file or URL; None = $STYLEGAN_VGG16, cache, download.
    cache_dir: str | None = None  # Root of detectors/ and metrics/ caches; None = $STYLEGAN_CACHE or ~/.cache/stylegan.
    use_cache: bool = True  # Read/write cached statistics of real images.
    allow_download: bool = True
    batch_size: int = 64  # Images per detector call.
    gen_batch: int = 16  # Images per generator call.
    num_workers: int = 0  # DataLoader workers for reading datasets.
    seed: int = 0  # Seeds latents, labels and subsets: same seed, same result.
    progress: bool = True  # Progress bars (stderr) with images/s.


@dataclass(frozen=True)
class MetricSpec:
    name: str  # Registered name, e.g. "fid50k_full".
    fn: Callable  # fn(ctx, num) -> {suffix: value}
    num: int | None  # Default sample count; None = all items (two-set metrics).
    pattern: str  # Result name with "{num}" where the count goes, e.g. "fid{num}_full".
    two_set: bool  # Compares --data with --ref (no network).
    all_features: frozenset[str]  # Detectors whose full feature matrices it needs (shared with FID when possible).
    detectors: frozenset[str]  # Every detector it runs ("inception", "vgg16"): `stylegan train` checks them first.
    summary: str


METRICS: dict[str, MetricSpec] = {}


def metric(name: str, *, num: int | None, pattern: str | None = None, two_set: bool = False,
           all_features: tuple[str, ...] = (), detectors: tuple[str, ...] = ()):
    """Register `fn(ctx, num) -> dict` under `name`."""
    def register(fn):
        if name in METRICS:
            raise ValueError(f"metric {name!r} registered twice")
        doc = (fn.__doc__ or "").strip().splitlines()
        METRICS[name] = MetricSpec(name, fn, num, pattern or name, two_set, frozenset(all_features),
                                   frozenset(all_features) | frozenset(detectors), doc[0] if doc else "")
        return fn
    return register


def format_count(n: int) -> str:
    """50000 -> '50k', 1000 -> '1k', 1500 -> '1500'."""
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def result_name(spec: MetricSpec, num: int | None) -> str:
    """The name results are reported under: the registered name, or with --num the count replaced."""
    if num is None or num == spec.num:
        return spec.name
    if "{num}" in spec.pattern:
        count = format_count(num)
        after = spec.pattern.split("{num}", 1)[1][:1]
        if after.isdigit() and not count.endswith("k"):  # pr{num}3: "pr8_3", not "pr83".
            count += "_"
        return spec.pattern.format(num=count)
    return f"{spec.name}_{format_count(num)}"


class MetricContext:
    """What the metrics of one evaluation share: options, networks, datasets, loaded detectors, feature memo."""

    def __init__(self, options: MetricOptions, G=None, data=None, ref=None):
        self.opts, self.G, self.data, self.ref = options, G, data, ref
        g_device = next(iter(G.parameters()), torch.empty(0)).device if G is not None else None
        self.device = resolve_device(options.device) if options.device is not None or G is None else g_device
        if G is not None and g_device != self.device:  # Measure a copy on the requested device; G stays put.
            self.G = copy.deepcopy(G).to(self.device)
        self.prefer_all: set[str] = set()  # Detectors whose features are all kept (set by evaluate_metrics).
        self._detectors: dict[str, Detector] = {}
        self._memo: dict[tuple, FeatureStats] = {}

    @property
    def cache_dir(self) -> Path:
        return Path(self.opts.cache_dir).expanduser() if self.opts.cache_dir else cache_root()

    def detector(self, which: str) -> Detector:
        if which not in self._detectors:
            explicit = self.opts.detector if which == "inception" else self.opts.vgg
            self._detectors[which] = load_detector(which, explicit, self.device, self.cache_dir / "detectors",
                                                   self.opts.allow_download)
        return self._detectors[which]

    def require_generator(self, what: str):
        if self.G is None:
            raise UserError(f"{what} measures a network: pass --network")
        return self.G

    def require_data(self, what: str):
        if self.data is None:
            raise UserError(f"{what} compares with real images: pass --data DATASET")
        return self.data

    def stats(self, source: str, which: str, *, max_items: int | None, capture_all: bool = False,
              output: str = "features") -> FeatureStats:
        """Feature statistics of "gen" (generated), "data" or "ref" images with detector `which`."""
        capture_all = capture_all or which in self.prefer_all
        if source != "gen":  # Same images, same key: "all reals" and "up to 1M reals" share one computation.
            n = len(self.data if source == "data" else self.ref)
            max_items = n if max_items is None else min(n, max_items)
        key = (source, which, output, max_items)
        hit = self._memo.get(key)
        if hit is not None and (hit.has_all or not capture_all):
            return hit
        det = self.detector(which)
        fn = det.features if output == "features" else det.probabilities
        o = self.opts
        if source == "gen":
            G = self.require_generator(f"{which} features of generated images")
            stats = FeatureStats(capture_all=capture_all, max_items=max_items)
            batches = iterate_generator(G, max_items, o.gen_batch, self.device, o.seed, self.data)
            accumulate(batches, fn, stats, max_items, self.device, f"generated ({which})", o.progress)
        else:
            dataset = self.data if source == "data" else self.ref
            stats = dataset_stats(dataset, fn, output=f"{which}-{output}", detector_sha256=det.sha256,
                                  max_items=max_items, capture_all=capture_all, batch_size=o.batch_size,
                                  device=self.device, cache_dir=self.cache_dir / "metrics" if o.use_cache else None,
                                  progress=o.progress, num_workers=o.num_workers, desc=f"{source} ({which})")
        self._memo[key] = stats
        return stats

    def paired_sources(self, num: int | None, max_reals: int | None) -> tuple[tuple[str, int | None], ...]:
        """((source, max_items) to measure, (source, max_items) to compare with) for this mode."""
        if self.G is not None:
            self.require_data("this metric")
            return ("gen", num), ("data", self.opts.max_reals or max_reals)
        return ("data", num), ("ref", num)


@dataclass
class MetricResult:
    metric: str  # Result name (with the --num count).
    results: dict[str, float]
    total_time: float
    num: int | None = None
    extra: dict = field(default_factory=dict)


def _open(spec_or_dataset, options: MetricOptions, use_labels: bool = False, resolution: int | None = None):
    """An ImageDataset as given, or opened from a --data spec (raw folders are prepared once, then cached) at
    `resolution` (a network's: larger data is downscaled on load, as training does; None: the data's own)."""
    if spec_or_dataset is None or not isinstance(spec_or_dataset, (str, Path)):
        return spec_or_dataset
    from ..data.dataset import open_dataset

    cache = str(Path(options.cache_dir).expanduser() / "datasets") if options.cache_dir else None
    return open_dataset(str(spec_or_dataset), use_labels=use_labels, cache_dir=cache, progress=options.progress,
                        resolution=resolution)


def check_names(names: list[str], two_set: bool, flag: str | None = None) -> list[MetricSpec]:
    """The specs of `names`; a UserError (prefixed with `flag` if given) naming an unknown one."""
    specs = []
    for name in names:
        spec = METRICS.get(name)
        if spec is None or spec.two_set != two_set:
            valid = ", ".join(n for n, s in METRICS.items() if s.two_set == two_set)
            mode = "between two image sets (--data A --ref B)" if two_set else "of a network (--network)"
            raise UserError(f"{flag}: unknown metric {name!r}; choose from: {valid}" if flag else
                            f"unknown metric {name!r} for measuring {mode}; choose from: {valid}")
        specs.append(spec)
    if not specs:
        raise UserError("no metrics given")
    return specs


def evaluate_metrics(names: list[str], G=None, dataset=None, *, ref=None,
                     options: MetricOptions = MetricOptions()) -> list[MetricResult]:
    """Compute metrics of a network G against `dataset` (network metrics), or of `dataset` against `ref` when G is
    None (two-set metrics). Datasets are ImageDataset objects or specs for stylegan.data.open_dataset."""
    if options.num is not None and options.num < 1:
        raise UserError(f"--num must be >= 1, got {options.num}")
    specs = check_names(list(names), two_set=G is None)
    if G is None and (dataset is None or ref is None):
        raise UserError("comparing two image sets needs both --data A and --ref B")
    conditional = G is not None and G.c_dim > 0
    was_training = G.training if G is not None else False
    if G is not None:
        G.eval()
    results = []
    try:
        data = _open(dataset, options, use_labels=conditional, resolution=G.img_resolution if G is not None else None)
        ctx = MetricContext(options, G, data, _open(ref, options))
        for spec in specs:
            ctx.prefer_all |= spec.all_features
        for spec in specs:
            t0 = time.perf_counter()
            num = options.num if options.num is not None else spec.num
            values = spec.fn(ctx, num)
            rname = result_name(spec, options.num)
            flat = {(rname if k == "" else f"{rname}_{k}"): float(v) for k, v in values.items()}
            results.append(MetricResult(rname, flat, time.perf_counter() - t0, num))
    finally:
        if G is not None:
            G.train(was_training)
    return results


def compute_metrics(names: list[str], G=None, dataset=None, *, ref=None, device: str | None = None,
                    num: int | None = None, options: MetricOptions = MetricOptions()) -> dict[str, float]:
    """{result name: value} for each metric; `device` and `num` override the same fields of `options`."""
    if device is not None:
        options = dataclasses.replace(options, device=str(device))
    if num is not None:
        options = dataclasses.replace(options, num=num)
    flat: dict[str, float] = {}
    for r in evaluate_metrics(names, G, dataset, ref=ref, options=options):
        flat.update(r.results)
    return flat


def find_run_dir(network_path: str | Path) -> Path | None:
    """The run directory holding a network file: it has config.json and stats.jsonl beside the file."""
    folder = Path(network_path).resolve().parent
    return folder if (folder / "config.json").is_file() and (folder / "stats.jsonl").is_file() else None


def format_time(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}h {s // 60 % 60:02d}m {s % 60:02d}s" if s >= 3600 else (
        f"{s // 60}m {s % 60:02d}s" if s >= 60 else f"{s}s")


def append_result(run_dir: str | Path, result: MetricResult, snapshot: str | None = None) -> Path:
    """Append one line to RUN_DIR/metric-<name>.jsonl (the official layout: results, metric, total_time, ...)."""
    path = Path(run_dir) / f"metric-{result.metric}.jsonl"
    line = dict(results=result.results, metric=result.metric, total_time=result.total_time,
                total_time_str=format_time(result.total_time), num_gpus=1, snapshot_pkl=snapshot,
                timestamp=time.time())
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")
    return path
