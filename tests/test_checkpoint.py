"""Our safetensors checkpoint: bit-identical round trips, model ids, clear refusals."""

import json

import pytest
import safetensors.torch
import torch
from tiny import tiny_generator_config

from stylegan import checkpoint
from stylegan.models import Discriminator, DiscriminatorConfig, Generator


def test_round_trip_is_bit_identical(tmp_path):
    torch.manual_seed(0)
    G = Generator(tiny_generator_config(c_dim=3, synthesis=dict(architecture="resnet"))).eval()
    G.mapping.w_avg.normal_()
    D = Discriminator(DiscriminatorConfig(c_dim=3, img_resolution=16, channel_base=256, channel_max=32))
    path = tmp_path / "net.safetensors"
    mid = checkpoint.save(G, path, D=D, G_train=G, metadata={"kimg": "12"})
    G2 = checkpoint.load(path)
    assert G2.model_id == mid == checkpoint.model_id(G) and len(mid) == 64
    assert G2.config == G.config and not G2.training
    for (k, a), (k2, b) in zip(G.state_dict().items(), G2.state_dict().items()):
        assert k == k2 and torch.equal(a, b)
    z, c = torch.randn(2, 32), torch.eye(3)[:2]
    assert torch.equal(G(z, c, noise_mode="const"), G2(z, c, noise_mode="const"))
    ck = checkpoint.read(path)
    assert ck.metadata["stylegan.kimg"] == "12" and ck.has("D") and ck.has("G")
    D2 = ck.discriminator()
    img = torch.randn(4, 3, 16, 16)
    assert torch.equal(D(img, torch.eye(3)[[0, 1, 2, 0]]), D2(img, torch.eye(3)[[0, 1, 2, 0]]))


def test_model_id_changes_with_weights(tiny_G):
    a = checkpoint.model_id(tiny_G)
    with torch.no_grad():
        tiny_G.synthesis.b4.const[0, 0, 0] += 1e-3
    assert checkpoint.model_id(tiny_G) != a


def test_no_partial_file_on_failure(tmp_path, tiny_G, monkeypatch):
    path = tmp_path / "net.safetensors"

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", boom)
    with pytest.raises(OSError):
        checkpoint.save(tiny_G, path)
    assert list(tmp_path.iterdir()) == []


def test_refuses_other_files(tmp_path, tiny_G):
    with pytest.raises(checkpoint.CheckpointError, match="no such file"):
        checkpoint.read(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"hello world")
    with pytest.raises(checkpoint.CheckpointError, match="not a safetensors file"):
        checkpoint.read(junk)
    plain = tmp_path / "plain.safetensors"
    safetensors.torch.save_file({"x": torch.zeros(2)}, str(plain))
    with pytest.raises(checkpoint.CheckpointError, match="not a stylegan checkpoint"):
        checkpoint.read(plain)
    future = tmp_path / "future.safetensors"
    sd = {f"G_ema.{k}": v.contiguous() for k, v in tiny_G.state_dict().items()}
    safetensors.torch.save_file(sd, str(future), metadata={"stylegan.format": "99",
                                                           "stylegan.G_config": tiny_G.config.to_json()})
    with pytest.raises(checkpoint.CheckpointError, match="format '99' is not supported"):
        checkpoint.read(future)


def test_config_json_rebuilds_network(tiny_G):
    from stylegan.models import GeneratorConfig

    cfg = GeneratorConfig.from_dict(json.loads(tiny_G.config.to_json()))
    assert cfg == tiny_G.config
    with pytest.raises(ValueError, match="unknown GeneratorConfig field"):
        GeneratorConfig.from_dict({**tiny_G.config.to_dict(), "bogus": 1})


def _resave(src, dst, metadata=None, shift_first=None):
    """A copy of checkpoint `src` with its metadata updated and, optionally, its first tensor shifted."""
    ck = checkpoint.read(src)
    tensors = dict(ck.tensors)
    if shift_first is not None:
        k = sorted(tensors)[0]
        tensors[k] = tensors[k] + shift_first
    safetensors.torch.save_file(tensors, str(dst), metadata={**ck.metadata, **(metadata or {})})


@pytest.mark.parametrize("config,error", [
    ("{broken", "JSONDecodeError"),
    ('{"arch": "foo"}', "unknown generator architecture"),
    ('["a list"]', "invalid stylegan.G_config"),
])
def test_bad_stored_config_is_a_checkpoint_error_naming_the_file(tmp_path, tiny_G, config, error):
    good, bad = tmp_path / "good.safetensors", tmp_path / "bad.safetensors"
    checkpoint.save(tiny_G, good)
    _resave(good, bad, {"stylegan.G_config": config})
    with pytest.raises(checkpoint.CheckpointError, match=f"bad.safetensors: invalid stylegan.G_config.*{error}"
                       if error != "invalid stylegan.G_config" else "bad.safetensors: invalid stylegan.G_config"):
        checkpoint.load(bad)


def test_model_id_is_that_of_the_weights_read(tmp_path, tiny_G):
    good, changed = tmp_path / "good.safetensors", tmp_path / "changed.safetensors"
    mid = checkpoint.save(tiny_G, good)
    assert checkpoint.load(good).model_id == mid
    _resave(good, changed, shift_first=1.0)  # Weights edited after writing; the stored id is stale.
    with pytest.warns(UserWarning, match="changed.safetensors: the stored model id .* does not match"):
        G = checkpoint.load(changed)
    assert G.model_id == checkpoint.model_id(G) != mid


def test_non_finite_weights_warn_on_load(tmp_path, tiny_G, recwarn):
    path = tmp_path / "diverged.safetensors"
    checkpoint.save(tiny_G, path)
    checkpoint.load(path)
    assert not [w for w in recwarn if "NaN" in str(w.message)]
    with torch.no_grad():
        next(tiny_G.parameters())[:2].fill_(float("nan"))
    checkpoint.save(tiny_G, path)
    with pytest.warns(UserWarning, match=r"diverged.safetensors: \d+ of the G_ema weights are NaN or infinite"):
        checkpoint.load(path)


def test_metadata_comes_in_a_fixed_order(tmp_path, tiny_G):
    """(`stylegan inspect` lists it in this order; safetensors returns it in a different order on every run.)"""
    path = tmp_path / "m.safetensors"
    checkpoint.save(tiny_G, path, metadata={"kimg": "1", "b": "2", "a": "3"})
    keys = list(checkpoint.read(path).metadata)
    assert len(keys) > 5 and keys == sorted(keys)


def test_unknown_device_is_a_user_error():
    with pytest.raises(checkpoint.UserError, match="unknown device 'foo'"):
        checkpoint.resolve_device("foo")


@pytest.mark.parametrize("which", ["D", "bogus"])
def test_load_names_a_bad_which(tmp_path, tiny_G, which):
    checkpoint.save(tiny_G, tmp_path / "g.safetensors")
    with pytest.raises(ValueError, match=f"which must be 'G_ema' or 'G' \\(a generator\\), got '{which}'"):
        checkpoint.load(tmp_path / "g.safetensors", which=which)
