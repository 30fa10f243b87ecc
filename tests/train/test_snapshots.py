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
    good = checkpoint.read(_save(tmp_path, first, 0)).model_id

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
    for nimg in (40, 960, 1000, 1040, 2032, 4032):  # Ticks under 1 kimg, then official-like names.
        _save(tmp_path, nimg, nimg)
    assert sorted(p.name for p in tmp_path.glob("training-state-*")) == [
        "training-state-000002_032.pt", "training-state-000004_032.pt"]  # The newest two.
    assert sorted(p.name for p in tmp_path.glob("network-snapshot-*")) == [  # None replaced another; training order.
        "network-snapshot-000000.safetensors", "network-snapshot-000000_960.safetensors",
        "network-snapshot-000001.safetensors", "network-snapshot-000001_040.safetensors",
        "network-snapshot-000002.safetensors", "network-snapshot-000004.safetensors"]
    net, state = snapshots.latest_snapshot(tmp_path)
    assert net.name == "network-snapshot-000004.safetensors" and state["cur_nimg"] == 4032


def test_a_run_from_before_named_states_resumes(tmp_path):
    """States without the network's name, named KKKKKK.III beside the network KKKKKK (thirteenth session)."""
    path = _save(tmp_path, 1040, 0)
    state = snapshots.load_state(tmp_path / "training-state-000001_040.pt")
    del state["network"]
    torch.save(state, tmp_path / "training-state-000001.040.pt")
    (tmp_path / "training-state-000001_040.pt").unlink()
    assert path.name == "network-snapshot-000001.safetensors"
    net, state = snapshots.latest_snapshot(tmp_path)
    assert net == path and state["cur_nimg"] == 1040


def test_states_past_a_fallback_resume_do_not_displace_good_ones(tmp_path):
    """Resume fell back from a damaged pair (128) to 32: the next snapshots must keep 32 and the new ones, not 128."""
    _save(tmp_path, 32, 0)
    damaged = _save(tmp_path, 128, 1)
    damaged.write_bytes(damaged.read_bytes()[:100])  # Truncated network: the 128 pair cannot be resumed.
    net, state = snapshots.latest_snapshot(tmp_path)
    assert state["cur_nimg"] == 32
    _save(tmp_path, 64, 2)  # The resumed run's next snapshot.
    assert sorted(p.name for p in tmp_path.glob("training-state-*")) == [
        "training-state-000000_032.pt", "training-state-000000_064.pt"]
    assert snapshots.latest_snapshot(tmp_path)[1]["cur_nimg"] == 64
