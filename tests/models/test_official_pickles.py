"""Safe import of official snapshot pickles: loads the fixtures, never executes code from a file."""

import io
import pickle

import pytest
import torch
from safetensors.torch import load_file

from stylegan.checkpoint import load
from stylegan.models.official import OfficialFormatError, load_official_pickle
from stylegan.models.safe_pickle import UnsafePickleError, safe_load


@torch.no_grad()
def test_sg2ada_snapshot_matches_recorded_output(official):
    snap = load_official_pickle(official / "snapshot-sg2ada.pkl")
    assert snap.writer == "stylegan2-ada-pytorch"
    assert snap.G is not None and snap.D is not None and snap.augment_p is None
    assert snap.training_set_kwargs["resolution"] == 16
    io_ = load_file(official / "snapshot-sg2ada_io.safetensors")
    img = snap.G_ema(io_["z"], io_["c"], truncation_psi=0.8, noise_mode="const")
    assert (img - io_["img_psi08_const"]).abs().max().item() <= 1e-4
    assert snap.G_ema.mapping.w_avg_beta == 0.995  # stylegan2-ada-pytorch default


@torch.no_grad()
def test_stylegan3_repo_sg2_snapshot_equals_state_dict_fixtures(official):
    snap = load_official_pickle(official / "snapshot-stylegan3-sg2.pkl")
    assert snap.writer == "stylegan3" and snap.augment_p == pytest.approx(0.25)
    assert snap.augment_kwargs["xflip"] == 1
    io_ = load_file(official / "sg2_G32_io.safetensors")
    assert (snap.G_ema.synthesis(io_["ws"], noise_mode="const") - io_["img_const"]).abs().max() <= 1e-4
    d_io = load_file(official / "sg2_D32_io.safetensors")
    assert (snap.D(d_io["img"], None) - d_io["logits"]).abs().max() <= 1e-4


class _Stub:
    """Re-pickles as the official persistence record without needing the official code."""

    def __init__(self, meta):
        self.meta = meta

    def __reduce__(self):
        return (_reconstruct, (self.meta,))


def _reconstruct(meta):  # pragma: no cover - only its qualified name matters
    raise AssertionError


_reconstruct.__module__ = "torch_utils.persistence"
_reconstruct.__qualname__ = "_reconstruct_persistent_obj"


class _EasyDict(dict):
    """Pickles under the official name dnnlib.util.EasyDict."""


_EasyDict.__module__ = "dnnlib.util"
_EasyDict.__qualname__ = "EasyDict"


class _Reader(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("torch_utils.persistence", "_reconstruct_persistent_obj"):
            return _Stub
        if (module, name) == ("dnnlib.util", "EasyDict"):
            return _EasyDict
        from stylegan.models.safe_pickle import _ALLOWED

        return _ALLOWED[(module, name)]


@pytest.fixture
def official_names(monkeypatch):
    """Modules under the official names, so that pickle.dumps can write records that refer to them."""
    import sys

    monkeypatch.setitem(sys.modules, "torch_utils", type(sys)("torch_utils"))
    persistence = type(sys)("torch_utils.persistence")
    persistence._reconstruct_persistent_obj = _reconstruct
    monkeypatch.setitem(sys.modules, "torch_utils.persistence", persistence)
    dnnlib, util = type(sys)("dnnlib"), type(sys)("dnnlib.util")
    util.EasyDict = _EasyDict
    monkeypatch.setitem(sys.modules, "dnnlib", dnnlib)
    monkeypatch.setitem(sys.modules, "dnnlib.util", util)


def test_real_module_source_is_never_executed(official, tmp_path, official_names):
    """Files in the wild carry the full module source; it must be ignored, even if it would run code."""
    marker = tmp_path / "executed"
    src = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('pwned')\n"

    class Rewriter(_Reader):
        def find_class(self, module, name):
            cls = super().find_class(module, name)
            if cls is _Stub:
                return lambda meta: _Stub({**meta, "module_src": src})
            return cls

    raw = (official / "snapshot-stylegan3-sg2.pkl").read_bytes()
    data = pickle.dumps(Rewriter(io.BytesIO(raw)).load(), protocol=4)
    assert src.encode() in data  # The source really is in the file now.
    path = tmp_path / "with-src.pkl"
    path.write_bytes(data)
    G = load(path)
    assert G.img_resolution == 32
    assert not marker.exists()


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_crafted_pickle_is_refused_and_command_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"G": _Evil(marker)}))
    assert b"system" in path.read_bytes()
    with pytest.raises(UnsafePickleError, match=r"evil\.pkl: .*(posix|os)\.system"):  # Names the file.
        load_official_pickle(path)
    assert not marker.exists()
    with pytest.raises(UnsafePickleError):
        safe_load(io.BytesIO(pickle.dumps(_Evil(marker))))
    assert not marker.exists()


def test_not_a_snapshot(tmp_path):
    p = tmp_path / "x.pkl"
    p.write_bytes(pickle.dumps({"hello": 1}))
    with pytest.raises(OfficialFormatError, match="not an official StyleGAN snapshot"):
        load_official_pickle(p)
    p.write_bytes(b"garbage")
    with pytest.raises(OfficialFormatError, match="x.pkl: not a pickle file"):
        load_official_pickle(p)
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))  # An image renamed: it read as "persistent ids" before.
    with pytest.raises(OfficialFormatError, match="x.pkl: not a pickle file"):
        load_official_pickle(p)
    p.write_bytes(pickle.dumps({"hello": 1})[:-4])
    with pytest.raises(OfficialFormatError, match="not a readable"):
        load_official_pickle(p)


def test_a_snapshot_under_another_name_is_read_as_one(official, tmp_path):
    from stylegan import checkpoint

    other = tmp_path / "network-snapshot.bin"
    other.write_bytes((official / "snapshot-stylegan3-t.pkl").read_bytes())
    G, ref = checkpoint.load(other), checkpoint.load(official / "snapshot-stylegan3-t.pkl")
    assert G.model_id == ref.model_id  # Before: "not a safetensors file".


@pytest.mark.parametrize("kwargs, detail", [
    (dict(z_dim=8, w_dim=8, img_resolution=33, img_channels=3, c_dim=0), "power of two"),  # Out-of-range kwargs.
    (dict(z_dim=-5, w_dim=8, img_resolution=32, img_channels=3, c_dim=0), "negative"),
    (dict(z_dim=8, w_dim=8, img_resolution=8, img_channels=3, c_dim=0), "state_dict mismatch"),  # No weights inside.
])
def test_a_network_record_with_bad_settings_is_a_one_line_error_naming_the_file(tmp_path, official_names, kwargs,
                                                                                detail):
    """A pickle the restricted unpickler accepts (only allowed names) whose network record cannot be built."""
    meta = {"type": "class", "class_name": "Generator",
            "state": {"_init_kwargs": kwargs, "_modules": {}, "_parameters": {}, "_buffers": {}}}
    path = tmp_path / "crafted.pkl"
    path.write_bytes(pickle.dumps({"G_ema": _Stub(meta)}, protocol=4))
    with pytest.raises(OfficialFormatError, match=rf"crafted\.pkl: G_ema.*{detail}"):
        load_official_pickle(path)
