"""Issue 4 in the loop: ADA adjusts p and resumes exactly, Freeze-D, fine-tuning from an official snapshot,
architecture mismatches, and the R3GAN loss."""

import json
import math

import numpy as np
import pytest
import torch
from trainutil import TINY, cli, disc_images, final_snapshot, initial_nets, only_run, run_stats, run_train

from stylegan import checkpoint
from stylegan.cli import main


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEGAN_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def data16(tmp_path):
    (tmp_path / "d16").mkdir()
    return disc_images(tmp_path / "d16", 16)


@pytest.fixture
def data32(tmp_path):
    (tmp_path / "d32").mkdir()
    return disc_images(tmp_path / "d32", 32)


def test_ada_raises_p_logs_it_and_resumes_exactly(data16, tmp_path):
    # Target 0: D is always "overconfident" (E[sign] > 0 or = 0 -> sign(0 - 0) = 0 only at exactly 0), so p rises;
    # a tiny ada_kimg makes each adjustment large enough to see in a few steps.
    ada = ["--aug", "ada", "--target", "0", "--ada-kimg", "0.1"]
    common = ["--data", str(data16), *TINY, *ada, "--tick", "0.032", "--snap", "1"]
    run_train("--outdir", str(tmp_path / "a"), *common, "--kimg", "0.096")
    run_a = only_run(tmp_path / "a")
    p = [r["augment_p"] for r in run_stats(run_a)]
    assert p[-1] > 0.3 and p == sorted(p)
    assert (run_a / "ada.png").is_file()  # The r_t / p plot.
    run_train("--outdir", str(tmp_path / "b"), *common, "--kimg", "0.048")
    run_b = only_run(tmp_path / "b")
    run_train("--resume", str(run_b), "--kimg", "0.096")
    a, b = final_snapshot(run_a), final_snapshot(run_b)
    assert a.metadata["stylegan.augment_p"] == b.metadata["stylegan.augment_p"] != "0.0"
    for k in a.tensors:
        assert torch.equal(a.tensors[k], b.tensors[k]), k


def test_freeze_d_keeps_first_layers_fixed(data16, tmp_path):
    from stylegan.train.setup import frozen_layers

    run_train("--outdir", str(tmp_path / "r"), "--data", str(data16), *TINY, "--kimg", "0.032", "--tick", "0.032",
              "--aug", "noaug", "--freezed", "2")
    run = only_run(tmp_path / "r")
    init = initial_nets(run).D
    D = final_snapshot(run).state_dict("D")
    frozen = frozen_layers(init, 2)
    assert [type(m).__name__ for m in frozen] == ["EqualizedConv2d", "EqualizedConv2d"]
    names = {id(m): n for n, m in init.named_modules()}
    for m in frozen:  # b16.fromrgb, b16.conv0
        for pname, p in m.named_parameters():
            assert torch.equal(D[f"{names[id(m)]}.{pname}"], p.detach()), names[id(m)]
    assert not torch.equal(D["b16.conv1.weight"], init.b16.conv1.weight.detach())  # The next layer trains.


def test_freezed_beyond_d_layers_is_refused_before_a_run_dir(data16, tmp_path, capsys):
    from stylegan.cli import main

    assert main(["train", "--outdir", str(tmp_path / "r"), "--data", str(data16), *TINY, "--freezed", "99"]) == 2
    assert "--freezed 99: this discriminator has only" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_finetune_official_snapshot(official, data32, tmp_path):
    pkl = official / "snapshot-stylegan3-sg2.pkl"
    run_train("--outdir", str(tmp_path / "ft"), "--data", str(data32), "--resume", str(pkl), "--batch", "8",
              "--kimg", "0.016", "--tick", "0.016", "--device", "cpu", "--workers", "0", "--aug", "ada")
    run = only_run(tmp_path / "ft")
    cfg = json.loads((run / "config.json").read_text())["train"]
    assert cfg["resume_from"] == str(pkl) and cfg["ada_kimg"] == 100 and cfg["ema_rampup"] is None
    assert cfg["G"]["mapping"]["num_layers"] == 4 and cfg["G"]["synthesis"]["channel_base"] == 2048  # From the pkl.
    G_off = checkpoint.load(pkl, which="G")
    G = final_snapshot(run).state_dict("G")
    w = "synthesis.b32.conv1.weight"
    moved = (G[w] - G_off.state_dict()[w]).abs().max().item()
    assert 0 < moved < 0.1  # Started from the official weights and took a few small steps.


def test_an_explicit_cfg_must_match_the_network(official, data32, tmp_path):
    r = cli("train", "--outdir", str(tmp_path / "r"), "--data", str(data32), "--resume",
            str(official / "snapshot-stylegan3-t.pkl"), "--cfg", "stylegan2", "--dry-run",
            env={"STYLEGAN_CACHE": str(tmp_path / "cache")})
    assert r.returncode == 2 and "--cfg stylegan2 contradicts" in r.stderr  # The default value was not checked.


def test_transfer_mismatches_are_clear_errors(official, data16, tmp_path):
    from tiny import tiny_generator_config

    from stylegan.models import Generator

    net = tmp_path / "cond.safetensors"
    checkpoint.save(Generator(tiny_generator_config(c_dim=3)), net)
    r = cli("train", "--outdir", str(tmp_path / "r"), "--data", str(data16), "--resume", str(net), "--dry-run",
            env={"STYLEGAN_CACHE": str(tmp_path / "cache")})
    assert r.returncode == 2 and "classes 3" in r.stderr and "Traceback" not in r.stderr
    gray = tmp_path / "gray"
    gray.mkdir()
    disc_images(gray, 16, gray=True)
    net = tmp_path / "rgb.safetensors"
    checkpoint.save(Generator(tiny_generator_config()), net)
    r = cli("train", "--outdir", str(tmp_path / "r"), "--data", str(gray), "--resume", str(net), "--dry-run",
            env={"STYLEGAN_CACHE": str(tmp_path / "cache")})
    assert r.returncode == 2 and "channels 3" in r.stderr
    r = cli("train", "--outdir", str(tmp_path / "r"), "--data", str(data16), "--resume", str(net), "--cbase", "64",
            "--dry-run", env={"STYLEGAN_CACHE": str(tmp_path / "cache")})
    assert r.returncode == 2 and "--cbase cannot be set" in r.stderr
    # A generator-only file (the default of `stylegan convert`): D is new, which is said, and cannot be frozen.
    r = cli("train", "--outdir", str(tmp_path / "r"), "--data", str(data16), "--resume", str(net), "--dry-run",
            env={"STYLEGAN_CACHE": str(tmp_path / "cache")})
    assert r.returncode == 0 and "holds no discriminator: D starts from random initialization" in r.stderr
    r = cli("train", "--outdir", str(tmp_path / "r"), "--data", str(data16), "--resume", str(net), "--freezed", "2",
            "--dry-run", env={"STYLEGAN_CACHE": str(tmp_path / "cache")})
    assert r.returncode == 2 and "holds no discriminator to freeze" in r.stderr and "--which all" in r.stderr


def test_r3gan_loss_values():
    from stylegan.train import losses

    real = torch.tensor([[2.0], [-1.0]])
    fake = torch.tensor([[0.5], [1.0]])
    sp = lambda t: math.log1p(math.exp(t))  # noqa: E731
    assert torch.allclose(losses.rpgan_d(real, fake), torch.tensor([sp(0.5 - 2.0), sp(1.0 + 1.0)]))
    assert torch.allclose(losses.rpgan_g(real, fake), torch.tensor([sp(2.0 - 0.5), sp(-1.0 - 1.0)]))
    # Zero-centred gradient penalty: D(x) = sum(a * x) has ||grad||^2 = ||a||^2 for every sample.
    a = torch.randn(1, 3, 4, 4)
    x = torch.randn(2, 3, 4, 4, requires_grad=True)
    pen = losses.gradient_penalty(x, (x * a).sum(dim=[1, 2, 3]))
    assert torch.allclose(pen, a.square().sum().expand(2))


def test_r3gan_training_runs(data16, tmp_path):
    run_train("--outdir", str(tmp_path / "r"), "--data", str(data16), *TINY, "--kimg", "0.016", "--tick", "0.016",
              "--loss", "r3gan", "--aug", "noaug")
    run = only_run(tmp_path / "r")
    recs = run_stats(run)
    assert all(np.isfinite(r["loss_D"]) and np.isfinite(r["loss_G"]) for r in recs)
    assert any(r.get("r2") is not None for r in recs)  # R2 on fakes is computed with R1.


@pytest.mark.parametrize("generation, g_base, g_max", [("stylegan3-t", 32768, 512), ("stylegan3-r", 65536, 1024),
                                                       ("stylegan2", 16384, 512)])
def test_auto_preset_takes_each_generations_official_widths(data16, tmp_path, capsys, generation, g_base, g_max):
    """stylegan3 train.py: cbase 32768 (R: G's doubled), dlr 0.002 at any resolution; StyleGAN2-ADA's auto halves
    the widths below 512 and uses lr 0.0025."""
    assert main(["train", "--outdir", str(tmp_path), "--data", str(data16), "--cfg", generation, "--gpus", "1",
                 "--batch", "32", "--gamma", "8.2", "--dry-run"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert (cfg["G"]["synthesis"]["channel_base"], cfg["G"]["synthesis"]["channel_max"]) == (g_base, g_max)
    assert cfg["D"]["channel_base"] == g_base // (2 if generation == "stylegan3-r" else 1)
    assert cfg["dlr"] == (0.0025 if generation == "stylegan2" else 0.002) and cfg["glr"] == 0.0025


@pytest.mark.parametrize("generation", ["stylegan3-t", "stylegan3-r"])
def test_stylegan3_training_steps(data16, tmp_path, generation):
    run_train("--outdir", str(tmp_path / "r"), "--data", str(data16), *TINY, "--cfg", generation, "--kimg", "0.008",
              "--tick", "0.008", "--aug", "noaug")
    run = only_run(tmp_path / "r")
    cfg = json.loads((run / "config.json").read_text())["train"]
    assert cfg["G"]["arch"] == generation and cfg["style_mixing"] == 0 and cfg["pl_weight"] == 0
    assert (cfg["blur_init_sigma"] == 10) == (generation == "stylegan3-r")
    recs = run_stats(run)
    assert all(np.isfinite(r["loss_G"]) and np.isfinite(r["loss_D"]) for r in recs)
    G = final_snapshot(run).state_dict("G")
    ema = [k for k in G if k.endswith("magnitude_ema")]
    assert ema and all(float(G[k]) != 1.0 for k in ema)  # Magnitude EMAs tracked during training.


def test_subset_and_snapshot_metrics(data16, tmp_path):
    """--subset trains on N images; --metrics evaluates at snapshots into stats.jsonl and metric-*.jsonl."""
    run_train("--outdir", str(tmp_path / "r"), "--data", str(data16), *TINY[:-4], "--grid", "4x2", "--kimg", "0.008",
              "--tick", "0.008", "--aug", "noaug", "--subset", "10", "--metrics", "swd16k")
    run = only_run(tmp_path / "r")
    doc = json.loads((run / "config.json").read_text())
    assert doc["train"]["subset"] == 10 and doc["dataset"]["num_images"] == 10
    (line,) = (run / "metric-swd16k.jsonl").read_text().splitlines()
    assert json.loads(line)["snapshot_pkl"] == "network-snapshot-000000.safetensors"
    assert "swd16k" in run_stats(run)[-1]["metrics"]
