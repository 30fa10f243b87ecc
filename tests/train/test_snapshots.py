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
    good = checkpoint.read(tmp_path / snapshots.NET.format(kimg=first // 1000)).model_id

    def killed(*args, **kwargs):
        raise Killed  # As kill -9 after the state was written, before the network file.

    monkeypatch.setattr(snapshots.checkpoint, "save", killed)
    with pytest.raises(Killed):
        _save(tmp_path, second, 1)  # 40 -> 80 shares the network name 000000 with the first snapshot.
    net, state = snapshots.latest_snapshot(tmp_path)
    assert state["cur_nimg"] == first and checkpoint.read(net).model_id == good


def test_names_order_and_pruning(tmp_path):
    assert snapshots.state_name(40) == "training-state-000000.040.pt"
    assert snapshots.state_name(2000) == "training-state-000002.pt"
    for nimg in (40, 960, 1000, 1040):
        _save(tmp_path, nimg, nimg)
    assert sorted(p.name for p in tmp_path.glob("training-state-*")) == [
        "training-state-000001.040.pt", "training-state-000001.pt"]  # The newest two.
    net, state = snapshots.latest_snapshot(tmp_path)
    assert net.name == "network-snapshot-000001.safetensors" and state["cur_nimg"] == 1040
