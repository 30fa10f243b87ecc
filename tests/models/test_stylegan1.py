"""StyleGAN (2019) generator: AdaIN/upsampling math, the common contract (noise modes, truncation, style mixing,
shapes), checkpoints, `stylegan train --cfg stylegan1`, and the feature-magnitude (droplet) analysis."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import torch
import torch.nn.functional as F
from trainutil import disc_images, initial_nets, only_run, run_stats

from stylegan import checkpoint
from stylegan.models import Generator, GeneratorConfig, MappingConfig, StyleGAN1SynthesisConfig
from stylegan.models.inspect_features import feature_layers, record_feature_magnitudes, spike_ratio, worst_layer
from stylegan.models.synthesis_v1 import adaptive_instance_norm, upscale2d_conv2d

REPO = Path(__file__).resolve().parents[2]


def tiny_sg1(res=16, **overrides) -> GeneratorConfig:
    return GeneratorConfig(arch="stylegan1", z_dim=32, w_dim=32, img_resolution=res,
                           mapping=MappingConfig(num_layers=2, w_avg_beta=0.995),
                           synthesis=StyleGAN1SynthesisConfig(channel_base=256, channel_max=16), **overrides)


@pytest.fixture
def G():
    torch.manual_seed(0)
    G = Generator(tiny_sg1()).eval()
    with torch.no_grad():  # Fresh nets have zero noise strengths; give the noise something to do.
        for name, p in G.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.5)
        G.mapping.w_avg.normal_()
    return G


# ---------------------------------------------------------------------------------------------------------- math


def test_adain_sets_per_channel_mean_and_std():
    x = torch.randn(2, 3, 8, 8) * 5 + 2
    y_s, y_b = torch.tensor([[1.0, 2.0, 0.5], [3.0, 1.0, 1.0]]), torch.tensor([[0.0, -1.0, 4.0], [1.0, 2.0, 3.0]])
    out = adaptive_instance_norm(x, y_s, y_b)
    assert torch.allclose(out.mean(dim=[2, 3]), y_b, atol=1e-5)
    assert torch.allclose(out.std(dim=[2, 3], unbiased=False), y_s, atol=1e-4)


def test_fused_upsample_conv_equals_nearest_upsample_then_conv():
    x, w = torch.randn(2, 3, 5, 7, dtype=torch.float64), torch.randn(4, 3, 3, 3, dtype=torch.float64)
    ref = F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), w, padding=1)
    assert torch.allclose(upscale2d_conv2d(x, w, fused=False), ref)
    assert torch.allclose(upscale2d_conv2d(x, w, fused=True), ref, atol=1e-12)


# ---------------------------------------------------------------------------------------------------------- contract


@pytest.mark.parametrize("res", [4, 8, 16, 32, 64])
def test_shapes_and_num_ws(res):
    G = Generator(tiny_sg1(res))
    n_blocks = res.bit_length() - 2
    assert G.num_ws == 2 * n_blocks == 2 * (res.bit_length() - 1) - 2  # Same count as StyleGAN2.
    assert [hi for _, _, hi in G.synthesis.layer_ranges()][-1] == G.num_ws - 1
    z = torch.randn(2, G.z_dim)
    assert G.mapping(z, None).shape == (2, G.num_ws, G.w_dim)
    img = G(z, None, noise_mode="none")
    assert img.shape == (2, 3, res, res) and img.dtype == torch.float32 and torch.isfinite(img).all()
    assert G.synthesis.b4.const.shape == (16, 4, 4)


def test_every_w_is_used_by_its_own_layer(G):
    ws = G.mapping(torch.randn(1, G.z_dim), None)
    ref = G.synthesis(ws, noise_mode="none")
    for i in range(G.num_ws):
        changed = ws.clone()
        changed[:, i] += 1
        assert not torch.allclose(G.synthesis(changed, noise_mode="none"), ref), f"w {i} has no effect"


def test_noise_modes(G):
    ws = G.mapping(torch.randn(2, G.z_dim), None)
    const = G.synthesis(ws, noise_mode="const")
    assert torch.equal(const, G.synthesis(ws, noise_mode="const"))
    assert not torch.allclose(G.synthesis(ws, noise_mode="random"), G.synthesis(ws, noise_mode="random"))
    assert not torch.allclose(const, G.synthesis(ws, noise_mode="none"))
    # "none" adds no noise: same as a copy whose noise strengths are zero, with any noise.
    silent = Generator(G.config).eval()
    silent.load_state_dict(G.state_dict())
    with torch.no_grad():
        for name, p in silent.named_parameters():
            if name.endswith("noise_strength"):
                p.zero_()
    assert torch.allclose(G.synthesis(ws, noise_mode="none"), silent.synthesis(ws, noise_mode="random"), atol=1e-6)
    with pytest.raises(ValueError, match="noise_mode"):
        G.synthesis(ws, noise_mode="sometimes")


def test_truncation(G):
    z = torch.randn(3, G.z_dim)
    w_avg_img = G.synthesis(G.mapping.w_avg.expand(1, G.num_ws, -1), noise_mode="const")
    img0 = G(z, None, truncation_psi=0, noise_mode="const")
    assert torch.allclose(img0, w_avg_img.expand_as(img0), atol=1e-5)
    assert torch.equal(G(z, None, truncation_psi=1, noise_mode="const"), G(z, None, noise_mode="const"))
    assert not torch.allclose(G(z, None, truncation_psi=0.5, noise_mode="const"), img0)


def test_style_mixing(G):
    ws_row, ws_col = G.mapping(torch.randn(1, G.z_dim), None), G.mapping(torch.randn(1, G.z_dim), None)
    row, col = G.synthesis(ws_row, noise_mode="const"), G.synthesis(ws_col, noise_mode="const")

    def mix(col_styles):
        ws = ws_row.clone()
        ws[:, col_styles] = ws_col[:, col_styles]
        return G.synthesis(ws, noise_mode="const")

    assert torch.equal(mix([]), row)  # All styles from the row: the row image.
    assert torch.equal(mix(list(range(G.num_ws))), col)
    coarse = mix([0, 1, 2])
    assert not torch.allclose(coarse, row) and not torch.allclose(coarse, col)


def test_save_load_round_trip_is_bit_identical(G, tmp_path):
    path = tmp_path / "sg1.safetensors"
    checkpoint.save(G, path)
    H = checkpoint.load(path)
    assert H.config == G.config and isinstance(H.config.synthesis, StyleGAN1SynthesisConfig)
    assert H.state_dict().keys() == G.state_dict().keys()
    for k, v in G.state_dict().items():
        assert torch.equal(H.state_dict()[k], v), k
    z = torch.randn(2, G.z_dim)
    with torch.no_grad():  # Both the same way (frozen H alone would run as under no_grad: nn/frozen.py).
        assert torch.equal(H(z, None, noise_mode="const"), G(z, None, noise_mode="const"))


# ---------------------------------------------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def toy_data(tmp_path_factory):
    """24 images of coloured discs, 16x16."""
    return disc_images(tmp_path_factory.mktemp("toy"), 16, n=24)


def test_recipe(toy_data, tmp_path, monkeypatch, capsys):
    from stylegan.cli import main

    monkeypatch.setenv("STYLEGAN_CACHE", str(tmp_path / "cache"))
    assert main(["train", "--outdir", str(tmp_path / "runs"), "--data", str(toy_data), "--cfg", "stylegan1",
                 "--preset", "small", "--resolution", "16", "--dry-run"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["G"]["arch"] == "stylegan1" and cfg["G"]["mapping"]["num_layers"] == 8
    assert cfg["G"]["mapping"]["w_avg_beta"] == 0.995
    assert cfg["style_mixing"] == 0.9 and cfg["pl_weight"] == 0 and cfg["gamma"] == 2  # gamma from the preset.
    assert cfg["D"]["architecture"] == "resnet"


def test_training_steps_change_weights(toy_data, tmp_path, monkeypatch):
    from stylegan.cli import main

    monkeypatch.setenv("STYLEGAN_CACHE", str(tmp_path / "cache"))
    assert main(["train", "--outdir", str(tmp_path / "runs"), "--data", str(toy_data), "--cfg", "stylegan1",
                 "--preset", "small", "--resolution", "16", "--cbase", "128", "--cmax", "16", "--map-depth", "2",
                 "--batch", "4",
                 "--mbstd-group", "4", "--device", "cpu", "--workers", "0", "--metrics", "none", "--aug", "noaug",
                 "--kimg", "0.016", "--tick", "0.016"]) == 0
    run = only_run(tmp_path / "runs")
    assert "stylegan1" in run.name
    records = run_stats(run)
    assert all(np.isfinite(r["loss_G"]) and np.isfinite(r["loss_D"]) for r in records)
    snap = sorted(run.glob("network-snapshot-*.safetensors"))[-1]
    ck = checkpoint.read(snap)
    init = initial_nets(run).G.state_dict()
    G = ck.state_dict("G")
    for key in ("synthesis.b16.conv1.weight", "synthesis.b8.conv0.affine.weight", "synthesis.torgb.weight"):
        assert not torch.equal(G[key], init[key]), key
    assert all(torch.isfinite(v).all() for v in G.values())
    net = checkpoint.load(snap)
    assert net.config.arch == "stylegan1" and net(torch.randn(2, net.z_dim), None).shape == (2, 3, 16, 16)


# ---------------------------------------------------------------------------------------------------------- analysis


def test_spike_ratio_sees_a_droplet():
    flat = torch.ones(1, 32, 32)
    spiky = flat.clone()
    spiky[0, 20, 11] = 500.0
    assert spike_ratio(flat).item() == pytest.approx(1.0)
    assert spike_ratio(spiky).item() > 50


@torch.no_grad()
def test_an_injected_droplet_is_found_in_its_layer():
    """A one-pixel spike fed into b16.conv1 (through its noise input) survives AdaIN as a huge peak/mean ratio."""
    torch.manual_seed(0)
    G = Generator(tiny_sg1(32)).eval()
    z = torch.randn(4, G.z_dim)
    _, clean = record_feature_magnitudes(G, z)
    layer = G.synthesis.b16.conv1
    layer.noise_const.zero_()
    layer.noise_const[5, 9] = 1000.0
    layer.noise_strength.fill_(1.0)
    _, spiky = record_feature_magnitudes(G, z)
    li, _ = worst_layer(spiky)
    assert spiky[li].name == "b16.conv1" and spiky[li].spike_ratio.min() > 10
    assert max(r.spike_ratio.max() for r in clean) < 10


@pytest.mark.parametrize("arch", ["stylegan1", "stylegan2"])
def test_feature_layers_found_by_walking_modules(arch):
    from tiny import tiny_generator_config

    G = Generator(tiny_sg1(32) if arch == "stylegan1" else tiny_generator_config(img_resolution=32)).eval()
    layers = feature_layers(G.synthesis)
    expected = G.num_ws if arch == "stylegan1" else G.num_ws - 1  # StyleGAN2: one w feeds only ToRGB.
    assert len(layers) == expected
    img, recorded = record_feature_magnitudes(G, torch.randn(3, G.z_dim))
    assert img.shape == (3, 3, 32, 32)
    assert [r.name for r in recorded] == [name for name, _ in layers]  # Forward order.
    assert recorded[-1].magnitude.shape == (3, 32, 32) and recorded[0].resolution == 4
    li, si = worst_layer(recorded)
    assert recorded[li].spike_ratio[si] == max(r.spike_ratio.max() for r in recorded)


def test_feature_magnitude_script_writes_pngs(tmp_path):
    from tiny import tiny_generator_config

    torch.manual_seed(0)
    nets = []
    for arch, cfg in (("sg1", tiny_sg1(16)), ("sg2", tiny_generator_config(img_resolution=16))):
        nets += ["--network", str(tmp_path / f"{arch}.safetensors"), "--label", arch]
        checkpoint.save(Generator(cfg).eval(), tmp_path / f"{arch}.safetensors")
    spec = importlib.util.spec_from_file_location("feature_magnitudes", REPO / "scripts" / "feature_magnitudes.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "out"
    assert script.main([*nets, "--seeds", "0-2", "--outdir", str(out), "--device", "cpu"]) == 0
    for name in ("spike_ratios.png", "worst_layer_sg1.png", "worst_layer_sg2.png"):
        with PIL.Image.open(out / name) as im:
            assert im.size[0] > 100 and im.size[1] > 100, name
    data = json.loads((out / "feature_magnitudes.json").read_text())
    assert data["sg1"]["arch"] == "stylegan1" and len(data["sg1"]["layers"]) == 6
    assert data["sg2"]["arch"] == "stylegan2" and len(data["sg2"]["layers"]) == 5
    assert all(layer["spike_ratio_max"] >= layer["spike_ratio_mean"] >= 1 for layer in data["sg1"]["layers"])


def test_flops_of_a_trainable_stylegan1(G):
    """`inspect --flops` builds networks with trainable parameters; the counter failed on SG1's constant input."""
    from stylegan.flops import generator_flops

    G.requires_grad_(True)
    flops = generator_flops(G)
    assert all(p.requires_grad for p in G.parameters())  # Left as it was.
    assert flops == generator_flops(G.requires_grad_(False)) > 0
