"""Detector resolution order, downloads with checksums, refusal of pickles, calling conventions, TF resize."""

from __future__ import annotations

import hashlib
import io
import pickle
import shutil

import pytest
import torch
import torch.nn.functional as F

from stylegan.errors import UserError
from stylegan.metrics import detectors
from stylegan.metrics.detectors import DetectorInfo, load_detector, resize_bilinear_tf, resolve_detector


def _serve(monkeypatch, files: dict[str, bytes]) -> list[str]:
    """Replace the fetcher with one serving `files` by URL; returns the list of requested URLs."""
    requested = []

    def fake_open(url, timeout=60):
        requested.append(url)
        if url not in files:
            import urllib.error

            raise urllib.error.URLError("unreachable")
        return io.BytesIO(files[url])

    monkeypatch.setattr(detectors, "_open_url", fake_open)
    return requested


def _pin(monkeypatch, which: str, data: bytes | None) -> DetectorInfo:
    info = detectors.DETECTORS[which]
    pinned = DetectorInfo(info.name, info.url, hashlib.sha256(data).hexdigest() if data else None, info.filename,
                          info.env, info.flag, info.plain_size)
    monkeypatch.setitem(detectors.DETECTORS, which, pinned)
    return pinned


def test_resolution_order(standins, tmp_path, monkeypatch, isolated_cache):
    data = standins["plain"].read_bytes()
    info = _pin(monkeypatch, "inception", data)
    requested = _serve(monkeypatch, {info.url: data})
    explicit, env = tmp_path / "explicit.pt", tmp_path / "env.pt"
    shutil.copy(standins["plain"], explicit)
    shutil.copy(standins["plain"], env)
    monkeypatch.setenv("STYLEGAN_INCEPTION", str(env))
    # 1. explicit beats everything; 2. then the environment variable.
    assert resolve_detector("inception", explicit) == explicit
    assert resolve_detector("inception") == env
    # 4. nothing local: downloaded (verified) into the cache; 3. the next call finds the cached file.
    monkeypatch.delenv("STYLEGAN_INCEPTION")
    cached = isolated_cache / "detectors" / info.filename
    assert resolve_detector("inception") == cached and cached.read_bytes() == data
    assert requested == [info.url]
    assert resolve_detector("inception") == cached and requested == [info.url]  # No second download.


def test_download_checksum_mismatch_leaves_nothing(standins, monkeypatch, isolated_cache):
    info = _pin(monkeypatch, "inception", b"other bytes")
    _serve(monkeypatch, {info.url: standins["plain"].read_bytes()})
    with pytest.raises(UserError, match="checksum mismatch"):
        resolve_detector("inception")
    assert not any((isolated_cache / "detectors").glob("*"))


def test_explicit_url_is_downloaded_once(standins, monkeypatch):
    url = "https://example.org/my-inception.pt"
    requested = _serve(monkeypatch, {url: standins["plain"].read_bytes()})
    det = load_detector("inception", url)
    assert det.kind == "plain" and requested == [url]
    assert resolve_detector("inception", url) == det.path and requested == [url]


def test_file_url_download(standins, monkeypatch, isolated_cache):
    import urllib.request

    monkeypatch.setattr(detectors, "_open_url", lambda url, timeout=60: urllib.request.urlopen(url))
    det = load_detector("inception", standins["plain"].resolve().as_uri(), "cpu")
    assert det.kind == "plain" and det.path.parent == isolated_cache / "detectors"


@pytest.mark.parametrize("which,flag,env", [("inception", "--detector", "STYLEGAN_INCEPTION"),
                                            ("vgg16", "--vgg", "STYLEGAN_VGG16")])
def test_missing_detector_offline_says_how_to_provide_one(which, flag, env):
    with pytest.raises(UserError) as e:
        resolve_detector(which)  # The autouse fixture makes every download fail.
    msg = str(e.value)
    assert "could not download" in msg and flag in msg and env in msg and detectors.DETECTORS[which].url in msg
    with pytest.raises(UserError, match="downloads are disabled"):
        resolve_detector(which, allow_download=False)


def test_explicit_missing_file(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        resolve_detector("inception", tmp_path / "nope.pt")


class _Boom:
    def __reduce__(self):
        return (exec, ("open(__import__('os').environ['BOOM_MARKER'], 'w').write('pwned')",))


def test_pickles_are_never_loaded(tmp_path, monkeypatch):
    marker = tmp_path / "marker"
    monkeypatch.setenv("BOOM_MARKER", str(marker))
    evil = tmp_path / "inception-2015-12-05.pkl"
    evil.write_bytes(pickle.dumps({"net": _Boom()}))
    with pytest.raises(UserError, match="not a TorchScript archive"):
        load_detector("inception", evil)
    assert not marker.exists()
    # A torch.save zip (a state_dict pickle inside a zip) is not TorchScript either.
    sd = tmp_path / "state_dict.pt"
    torch.save({"w": torch.zeros(2)}, sd)
    with pytest.raises(UserError, match="cannot be loaded as TorchScript"):
        load_detector("inception", sd)


def test_calling_conventions(standins, tmp_path):
    plain = load_detector("inception", standins["plain"])
    img = torch.randint(0, 256, [2, 3, 32, 32], dtype=torch.uint8)
    expected = F.adaptive_avg_pool2d(resize_bilinear_tf(img.float(), 299) / 128 - 1, 4).flatten(1)
    assert torch.allclose(plain.features(img), expected, atol=1e-6)
    with pytest.raises(UserError, match="official") as e:
        plain.probabilities(img)
    msg = str(e.value).replace("[-1, 1)", "")
    assert "feature extractor taking" not in msg and msg.count("(") == msg.count(")")  # Says only what would do.
    vgg = load_detector("vgg16", standins["vgg"])
    assert vgg.kind == "official" and vgg.features(img).shape == (2, 48)
    assert vgg.lpips(img.float()).shape == (2, 48)
    # A plain module cannot stand in for VGG16 (no plain VGG convention).
    with pytest.raises(UserError, match="matches neither"):
        load_detector("vgg16", standins["plain"])


def test_resize_bilinear_tf_matches_official_grid_sampling():
    # The official Inception resizes with affine_grid/grid_sample(border), shifting the grid so that output pixel i
    # samples input coordinate i * W / 299; our gather-based version must agree.
    x = torch.rand(2, 3, 37, 23) * 255
    n, c, h, w = x.shape
    theta = torch.eye(2, 3).unsqueeze(0).repeat(n, 1, 1)
    theta[:, 0, 2] += 1 / w - 1 / 299
    theta[:, 1, 2] += 1 / h - 1 / 299
    grid = F.affine_grid(theta, [n, c, 299, 299], align_corners=False)
    ref = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    assert torch.allclose(resize_bilinear_tf(x, 299), ref, atol=1e-3)
    y = torch.rand(1, 3, 299, 299)
    assert resize_bilinear_tf(y, 299) is y
