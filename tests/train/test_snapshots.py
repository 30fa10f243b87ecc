"""Snapshot files of a run: a crash between the training state and the network file never loses the last pair."""

import pytest
import torch
from tiny import tiny_discriminator_config, tiny_generator_config

from stylegan import checkpoint
from stylegan.models import Discriminator, Generator
from stylegan.train import state as snapshots


class Killed(BaseException):
    pass


def _nets(seed):
    torch.manual_seed(seed)
    return Generator(tiny_generator_config()), Discriminator(tiny_discriminator_config())


def _save(run, nimg, seed):
    G, D = _nets(seed)
    return snapshots.save_snapshot(run, nimg, G, G, D, {"cur_nimg": nimg}, {"kimg": f"{nimg / 1000:g}"})


@pytest.mark.parametrize("first, second", [(40, 80), (960, 1040), (1000, 2000)])
def test_killed_between_state_and_network(tmp_path, monkeypatch, first, second):
    _save(tmp_path, first, 0)
    good = checkpoint.read(tmp_path / snapshots.network_name(first)).model_id

    def killed(*args, **kwargs):
        raise Killed  # As kill -9 after the state was written, before the network file.

    monkeypatch.setattr(snapshots.checkpoint, "save", killed)
    with pytest.raises(Killed):
        _save(tmp_path, second, 1)
    net, state = snapshots.latest_snapshot(tmp_path)
    assert state["cur_nimg"] == first and checkpoint.read(net).model_id == good


def test_names_order_and_pruning(tmp_path):
    assert snapshots.state_name(40) == "training-state-000000_040.pt"
    assert snapshots.state_name(2000) == "training-state-000002.pt"
    assert snapshots.network_name(8512) == "network-snapshot-000008_512.safetensors"
    for nimg in (40, 960, 1000, 1040):
        _save(tmp_path, nimg, nimg)
    assert sorted(p.name for p in tmp_path.glob("training-state-*")) == [
        "training-state-000001.pt", "training-state-000001_040.pt"]  # The newest two, in training order.
    assert sorted(p.name for p in tmp_path.glob("network-snapshot-*")) == [  # None replaced another.
        "network-snapshot-000000_040.safetensors", "network-snapshot-000000_960.safetensors",
        "network-snapshot-000001.safetensors", "network-snapshot-000001_040.safetensors"]
    net, state = snapshots.latest_snapshot(tmp_path)
    assert net.name == "network-snapshot-000001_040.safetensors" and state["cur_nimg"] == 1040


def test_a_run_from_before_exact_network_names_resumes(tmp_path):
    """States named KKKKKK.III beside the network KKKKKK (thirteenth session) still pair up."""
    path = _save(tmp_path, 1040, 0)
    path.rename(tmp_path / "network-snapshot-000001.safetensors")
    (tmp_path / "training-state-000001_040.pt").rename(tmp_path / "training-state-000001.040.pt")
    net, state = snapshots.latest_snapshot(tmp_path)
    assert net.name == "network-snapshot-000001.safetensors" and state["cur_nimg"] == 1040
