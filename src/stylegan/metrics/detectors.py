"""Feature networks for the metrics: Inception-v3 (2015-12-05) for FID/KID/IS, VGG16 for precision/recall and PPL.

A detector file is resolved in this order (`resolve_detector`):
  1. an explicit path or URL (`--detector PATH` / `--vgg PATH`);
  2. the environment variable STYLEGAN_INCEPTION / STYLEGAN_VGG16;
  3. the local cache, $STYLEGAN_CACHE/detectors (default ~/.cache/stylegan/detectors);
  4. a download from the official stylegan2-ada-pytorch URL into that cache, verified against the pinned sha256.

Two calling conventions are accepted (told apart by the TorchScript forward signature, never by file name):
  * "official": the stylegan2-ada-pytorch TorchScript files. They take uint8 NCHW images of any size and resize
    internally; kwargs `return_features=True` (Inception pool3 / VGG16 fc features), `no_output_bias=True`
    (Inception softmax probabilities, for IS) and `return_lpips=True` (VGG16 LPIPS features, for PPL).
  * "plain" (Inception only): a TorchScript feature extractor `net(x) -> [N, 2048]` with x float32 NCHW RGB,
    299x299, scaled as uint8 / 128 - 1, e.g. `../shared/detectors/inception-2015-12-05-torchscript.pt`. We resize
    the way the official file does (TensorFlow-1 bilinear, see `resize_bilinear_tf`).
Files are only ever opened with `torch.jit.load` (TorchScript archives); pickles are never loaded.
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import UserError
from ..files import atomic_path


@dataclass(frozen=True)
class DetectorInfo:
    name: str  # "inception" | "vgg16"
    url: str  # Official download location.
    sha256: str | None  # Pinned checksum of the official file; None = not pinned (the download is then reported).
    filename: str  # Name in the cache folder.
    env: str  # Environment variable naming a path or URL.
    flag: str  # CLI flag naming a path or URL.
    plain_size: int | None  # Input resolution of a "plain" extractor; None = only the official interface.


_CDN = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics"
# The sha256 of the official files could not be read from the build machine (the CDN is unreachable there); pin them
# here once known. Until then a download is checked for being a TorchScript archive with the official interface.
DETECTORS: dict[str, DetectorInfo] = {
    "inception": DetectorInfo("inception", f"{_CDN}/inception-2015-12-05.pt", None, "inception-2015-12-05.pt",
                              "STYLEGAN_INCEPTION", "--detector", 299),
    "vgg16": DetectorInfo("vgg16", f"{_CDN}/vgg16.pt", None, "vgg16.pt", "STYLEGAN_VGG16", "--vgg", None),
}


def cache_root() -> Path:
    """$STYLEGAN_CACHE, else ~/.cache/stylegan."""
    env = os.environ.get("STYLEGAN_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "stylegan"


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _is_url(text: str) -> bool:
    return text.split("://", 1)[0] in ("http", "https", "file") and "://" in text


def _open_url(url: str, timeout: float = 60):
    """The one network access point (tests replace it)."""
    return urllib.request.urlopen(url, timeout=timeout)


def _how_to_provide(info: DetectorInfo, plain_ok: bool = True) -> str:
    """Where the detector file can come from; `plain_ok`: a plain feature extractor would do too (if one exists)."""
    plain = (" or a TorchScript feature extractor taking 299x299 inputs in [-1, 1)" if info.plain_size and plain_ok
             else "")
    return (f"provide the {info.name} detector with {info.flag} PATH or {info.env}=PATH (the official TorchScript "
            f"file {info.url}{plain}), or put it at {cache_root() / 'detectors' / info.filename}")


def download(url: str, dest: Path, sha256: str | None, what: str = "file") -> Path:
    """Stream `url` into `dest` atomically, checking sha256 when given. Raises UserError on failure."""
    print(f"downloading {what} from {url} ...", file=sys.stderr)
    h = hashlib.sha256()
    try:
        with _open_url(url) as response, atomic_path(dest) as tmp:
            with open(tmp, "wb") as f:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    h.update(chunk)
                    f.write(chunk)
            if sha256 is not None and h.hexdigest() != sha256:
                raise UserError(f"{url}: checksum mismatch (sha256 {h.hexdigest()}, expected {sha256}); "
                                f"the download was discarded")
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        raise UserError(f"could not download {what} from {url} ({getattr(e, 'reason', e)})") from None
    print(f"saved {dest} (sha256 {h.hexdigest()})", file=sys.stderr)
    return dest


def resolve_detector(which: str, explicit: str | Path | None = None, cache_dir: str | Path | None = None,
                     allow_download: bool = True) -> Path:
    """The detector file for `which` ("inception" | "vgg16"), following the order in the module docstring."""
    info = DETECTORS[which]
    folder = Path(cache_dir) if cache_dir is not None else cache_root() / "detectors"
    source, text = None, None
    if explicit:
        source, text = info.flag, str(explicit)
    elif os.environ.get(info.env):
        source, text = info.env, os.environ[info.env]
    if text is not None:
        if _is_url(text):
            dest = folder / (hashlib.sha256(text.encode()).hexdigest()[:16] + "-" + text.rsplit("/", 1)[-1])
            if dest.is_file():
                return dest
            if not allow_download:
                raise UserError(f"{source}: {text} is a URL, but downloads are disabled")
            expected = info.sha256 if text == info.url else None
            return download(text, dest, expected, what=f"the {which} detector")
        path = Path(text).expanduser()
        if not path.is_file():
            raise UserError(f"{source}: {path}: no such file; {_how_to_provide(info)}")
        return path
    cached = folder / info.filename
    if cached.is_file():
        return cached
    if not allow_download:
        raise UserError(f"no {which} detector found and downloads are disabled; {_how_to_provide(info)}")
    try:
        return download(info.url, cached, info.sha256, what=f"the {which} detector")
    except UserError as e:
        raise UserError(f"{e}; {_how_to_provide(info)}") from None


def resize_bilinear_tf(x: torch.Tensor, size: int) -> torch.Tensor:
    """[N, C, H, W] float -> [N, C, size, size], bilinear as TensorFlow 1 `resize_bilinear` (align_corners=False):
    output pixel i samples input coordinate i * H / size (no half-pixel offset), clamped at the border. This is
    the resize built into the official Inception file, so features of a plain extractor match it."""
    def weights(n_in: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        src = torch.arange(size, dtype=torch.float64, device=x.device) * (n_in / size)
        i0 = src.floor().clamp(max=n_in - 1)
        frac = (src - i0).to(x.dtype)
        return i0.long(), (i0.long() + 1).clamp(max=n_in - 1), frac

    if x.shape[2] == size and x.shape[3] == size:
        return x
    y0, y1, fy = weights(x.shape[2])
    x0, x1, fx = weights(x.shape[3])
    rows = x[:, :, y0] * (1 - fy)[:, None] + x[:, :, y1] * fy[:, None]  # [N, C, size, W]
    return rows[..., x0] * (1 - fx) + rows[..., x1] * fx


class Detector:
    """A loaded detector network with one method per output kind; inputs are NCHW on the detector's device."""

    def __init__(self, info: DetectorInfo, net: torch.jit.ScriptModule, path: Path, sha256: str, kind: str):
        self.info, self.net, self.path, self.sha256, self.kind = info, net, path, sha256, kind
        self.name = info.name

    def __repr__(self) -> str:
        return f"Detector({self.name}, {self.kind}, {self.path}, sha256={self.sha256[:12]})"

    def features(self, img: torch.Tensor) -> torch.Tensor:
        """uint8 [N, 3, H, W] -> float32 [N, D] (Inception pool3 2048-d; VGG16 fc 4096-d)."""
        if self.kind == "official":
            return self.net(img, return_features=True).float()
        x = resize_bilinear_tf(img.to(torch.float32), self.info.plain_size)
        return self.net(x / 128 - 1).float()

    def probabilities(self, img: torch.Tensor) -> torch.Tensor:
        """uint8 [N, 3, H, W] -> softmax class probabilities [N, 1008], output bias off (as the IS paper's code)."""
        self._require_official("class probabilities (Inception score)")
        return self.net(img, no_output_bias=True).float()

    def lpips(self, img: torch.Tensor) -> torch.Tensor:
        """float [N, 3, H, W] in [0, 255], not resized -> LPIPS feature vectors [N, F]; distance = squared L2."""
        self._require_official("LPIPS features (perceptual path length)")
        return self.net(img, resize_images=False, return_lpips=True).float()

    def _require_official(self, what: str) -> None:
        if self.kind != "official":
            raise UserError(f"{self.path}: this {self.name} detector is a plain feature extractor and cannot give "
                            f"{what}; {_how_to_provide(self.info, plain_ok=False)}")


_LOADED: dict[tuple, Detector] = {}


def load_detector(which: str, explicit: str | Path | None = None, device: str | torch.device = "cpu",
                  cache_dir: str | Path | None = None, allow_download: bool = True) -> Detector:
    """Resolve and load a detector (memoized per file and device)."""
    info = DETECTORS[which]
    path = resolve_detector(which, explicit, cache_dir, allow_download)
    stat = path.stat()
    key = (which, str(path.resolve()), stat.st_size, stat.st_mtime_ns, str(device))
    if key in _LOADED:
        return _LOADED[key]
    if not zipfile.is_zipfile(path):
        raise UserError(f"{path}: not a TorchScript archive. Detectors are loaded with torch.jit.load only (pickled "
                        f"detectors such as the stylegan3 .pkl files are refused for safety); "
                        f"{_how_to_provide(info)}")
    try:
        with warnings.catch_warnings():  # TorchScript is deprecated, but it is the official detectors' format.
            warnings.simplefilter("ignore", DeprecationWarning)
            net = torch.jit.load(str(path), map_location=device).eval()
    except Exception as e:  # torch raises RuntimeError/ValueError with long messages for foreign archives.
        raise UserError(f"{path}: cannot be loaded as TorchScript ({type(e).__name__}); "
                        f"{_how_to_provide(info)}") from None
    try:
        args = [a.name for a in net.forward.schema.arguments][1:]  # Drop `self`.
    except Exception:
        args = []
    if "return_features" in args:
        kind = "official"
    elif len(args) == 1 and info.plain_size is not None:
        kind = "plain"
    else:
        raise UserError(f"{path}: forward({', '.join(args)}) matches neither the official {which} interface "
                        f"(return_features=...) nor a plain feature extractor; {_how_to_provide(info)}")
    det = Detector(info, net, path, file_sha256(path), kind)
    _LOADED[key] = det
    return det
