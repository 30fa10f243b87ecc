"""StyleGAN3-T/-R generators: official layer layout and outputs, from-scratch init, magnitude EMAs, translation
equivariance, the input transform (library and `stylegan generate --translate/--rotate`), checkpoints."""

import json

import numpy as np
import PIL.Image
import pytest
import torch
from safetensors.torch import load_file
from tiny import tiny_generator_config

from stylegan import checkpoint
from stylegan.cli import main
from stylegan.models import (
    Generator,
    GeneratorConfig,
    MappingConfig,
    StyleGAN3RSynthesisConfig,
    StyleGAN3SynthesisConfig,
    tracking_emas,
)
from stylegan.models.official import generator_config_from_official, load_official_state_dict
from stylegan.models.synthesis_v3 import has_input_transform, layer_specs, make_transform, set_input_transform

TOL = 1e-4
FIXTURES = {"sg3t_G32": "stylegan3-t", "sg3r_G32": "stylegan3-r"}

# Official layer names (NOTES.md, from the released pickles); * = FP16 layer with num_fp16_res = 4.
OFFICIAL_LAYERS = {
    ("T", 256): "L0_36_512 L1_36_512 L2_36_512 L3_52_512* L4_52_512* L5_84_512* L6_84_512* L7_148_512* L8_148_512* "
                "L9_148_362* L10_276_256* L11_276_181* L12_276_128* L13_256_128* L14_256_3*",
    ("T", 1024): "L0_36_512 L1_36_512 L2_52_512 L3_52_512 L4_84_512 L5_148_512* L6_148_512* L7_276_323* L8_276_203* "
                 "L9_532_128* L10_1044_81* L11_1044_51* L12_1044_32* L13_1024_32* L14_1024_3*",
    ("R", 512): "L0_36_1024 L1_36_1024 L2_52_1024 L3_52_1024 L4_84_1024* L5_84_1024* L6_148_1024* L7_148_967* "
                "L8_276_645* L9_276_431* L10_532_287* L11_532_192* L12_532_128* L13_512_128* L14_512_3*",
}


def tiny_sg3(arch="stylegan3-t", res=32, **synthesis):
    cls = StyleGAN3SynthesisConfig if arch == "stylegan3-t" else StyleGAN3RSynthesisConfig
    return GeneratorConfig(arch=arch, z_dim=32, w_dim=32, img_resolution=res, mapping=MappingConfig(num_layers=2),
                           synthesis=cls(channel_base=1024, channel_max=32, **synthesis))


def official_G(official, name):
    meta = json.loads((official / f"{name}.json").read_text())
    G = Generator(generator_config_from_official(meta["init_kwargs"], arch=FIXTURES[name]))
    load_official_state_dict(G, load_file(official / f"{name}.safetensors"))
    return G.eval(), load_file(official / f"{name}_io.safetensors")


def maxdiff(a, b):
    assert a.shape == b.shape
    return (a - b).abs().max().item()


@pytest.mark.parametrize("kind,res", list(OFFICIAL_LAYERS))
def test_layer_layout_matches_official(kind, res):
    cfg = StyleGAN3SynthesisConfig() if kind == "T" else StyleGAN3RSynthesisConfig()
    _, specs = layer_specs(cfg, res, 3)
    assert " ".join(s.name + ("*" if s.use_fp16 else "") for s in specs) == OFFICIAL_LAYERS[(kind, res)]


@torch.no_grad()
@pytest.mark.parametrize("name", list(FIXTURES))
@pytest.mark.parametrize("impl", ["ref", "fast"])
def test_official_parity(official, name, impl):
    G, io = official_G(official, name)
    G.synthesis.set_impl(impl)
    assert not torch.equal(G.synthesis.input.transform, torch.eye(3))  # The fixtures rotate and translate.
    assert maxdiff(G.mapping(io["z"], None), io["ws"]) <= TOL
    assert maxdiff(G.synthesis(io["ws"]), io["img"]) <= TOL
    assert maxdiff(G(io["z"], None, truncation_psi=0.6, noise_mode="const"), io["img_psi06"]) <= TOL


@torch.no_grad()
@pytest.mark.parametrize("name", list(FIXTURES))
def test_official_snapshot_pickles(official, name):
    kind = FIXTURES[name].split("-")[1]
    G = checkpoint.load(official / f"snapshot-stylegan3-{kind}.pkl")
    io = load_file(official / f"{name}_io.safetensors")
    assert G.config.arch == FIXTURES[name] and G.num_ws == 16 and G.config.mapping.num_layers == 2
    assert G.config.synthesis.use_radial_filters == (kind == "r")
    assert maxdiff(G.synthesis(io["ws"]), io["img"]) <= TOL
    assert maxdiff(G(io["z"], None, truncation_psi=0.6), io["img_psi06"]) <= TOL


@torch.no_grad()
def test_safetensors_round_trip(tmp_path):
    torch.manual_seed(0)
    G = Generator(tiny_sg3("stylegan3-r")).eval()
    G.synthesis.L3_36_32.magnitude_ema.fill_(2.5)  # Buffers travel too.
    set_input_transform(G, (0.1, 0.2), 10)
    path = tmp_path / "sg3.safetensors"
    checkpoint.save(G, path)
    G2 = checkpoint.load(path)
    assert G2.config == G.config and isinstance(G2.config.synthesis, StyleGAN3RSynthesisConfig)
    assert G2.state_dict().keys() == G.state_dict().keys()
    assert not any(k.endswith("_filter") for k in G2.state_dict())  # Filters are recomputed from the config.
    z = torch.randn(2, 32)
    assert torch.equal(G(z, None), G2(z, None))


@torch.no_grad()
def test_init_from_scratch_and_contract():
    torch.manual_seed(0)
    G = Generator(tiny_sg3()).eval()
    inp = G.synthesis.input
    assert torch.equal(inp.affine.weight, torch.zeros(4, 32))
    assert torch.equal(inp.affine.bias, torch.tensor([1.0, 0, 0, 0]))
    assert torch.equal(inp.transform, torch.eye(3)) and inp.freqs.norm(dim=1).max() <= inp.bandwidth
    assert (inp.phases.abs() <= 0.5).all()
    layers = G.synthesis.layers()
    assert len(layers) == 15 and G.num_ws == 16 and G.synthesis.layer_ranges()[-1] == ("L14_32_3", 15, 15)
    for layer in layers:
        assert torch.equal(layer.magnitude_ema, torch.ones([])) and not layer.bias.any()
        assert torch.equal(layer.affine.bias, torch.ones_like(layer.affine.bias))
    assert layers[-1].up_filter is None and layers[-1].down_filter is None and layers[0].weight.shape[-1] == 3
    z = torch.randn(4, 32)
    img = G(z, None, truncation_psi=0.7, noise_mode="random")
    assert img.shape == (4, 3, 32, 32) and img.dtype == torch.float32 and torch.isfinite(img).all()
    assert 0.01 < img.std().item() < 1
    assert torch.equal(img, G(z, None, truncation_psi=0.7, noise_mode="none"))  # noise_mode accepted and ignored.
    assert torch.equal(G.synthesis(G.mapping(z, None), force_fp32=True), G(z, None))
    with pytest.raises(ValueError, match="noise_mode"):
        G(z, None, noise_mode="bogus")
    R = Generator(tiny_sg3("stylegan3-r"))
    assert R.synthesis.L0_36_32.weight.shape[-1] == 1 and R.synthesis.L0_36_32.down_filter.ndim == 2


def test_magnitude_ema_updates_only_when_tracking():
    torch.manual_seed(0)
    G = Generator(tiny_sg3(magnitude_ema_beta=0.5))
    z = torch.randn(4, 32)
    G(z, None).mean().backward()  # Training forward without tracking: statistics untouched.
    assert all(torch.equal(layer.magnitude_ema, torch.ones([])) for layer in G.synthesis.layers())
    assert torch.equal(G.mapping.w_avg, torch.zeros(32))
    with tracking_emas(G):
        ws = G.mapping(z, None)
        x = G.synthesis.input(ws[:, 0]).detach()
        G.synthesis(ws)
    first = G.synthesis.layers()[0].magnitude_ema
    assert torch.allclose(first, 0.5 * x.square().mean() + 0.5)
    assert not torch.equal(G.mapping.w_avg, torch.zeros(32))
    assert all(not layer.track_emas for layer in G.synthesis.layers())


@torch.no_grad()
def test_integer_translation_translates_the_image():
    torch.manual_seed(0)
    G = Generator(tiny_sg3()).eval()
    ws = G.mapping(torch.randn(2, 32), None)
    img = G.synthesis(ws)
    m = 6  # Ignore the borders, where new content enters.
    for dx, dy in [(2, 0), (0, 3), (-1, 2)]:
        set_input_transform(G, translate=(dx / 32, dy / 32))
        moved = G.synthesis(ws)
        back = torch.roll(moved, shifts=(-dy, -dx), dims=(2, 3))  # +x moves content right, +y down.
        mse = (back - img)[..., m:-m, m:-m].square().mean().item()
        assert 10 * np.log10(4 / mse) > 50, (dx, dy)  # PSNR in dB for the [-1, 1] range.
    set_input_transform(G)
    assert torch.equal(G.synthesis(ws), img)


def test_transform_convention():
    m = make_transform((0.25, -0.5), 90)
    assert np.allclose(m, [[0, 1, 0.25], [-1, 0, -0.5], [0, 0, 1]])
    G = Generator(tiny_sg3())
    set_input_transform(G, (0.25, -0.5), 90)
    assert torch.allclose(G.synthesis.input.transform, torch.from_numpy(np.linalg.inv(m)).float())
    assert has_input_transform(G) and has_input_transform(G.synthesis)
    sg2 = Generator(tiny_generator_config())
    assert not has_input_transform(sg2)
    with pytest.raises(ValueError, match="StyleGAN3"):
        set_input_transform(sg2, (0.1, 0))


def test_generate_cli_translate_rotate(tmp_path, capsys):
    torch.manual_seed(0)
    path = tmp_path / "sg3.safetensors"
    checkpoint.save(Generator(tiny_sg3()), path)
    base = ["generate", "--network", str(path), "--seeds", "1", "--device", "cpu", "--outdir"]
    assert main(base + [str(tmp_path / "a")]) == 0
    assert main(base + [str(tmp_path / "b"), "--translate", "0.0625,0", "--rotate", "0"]) == 0
    assert main(base + [str(tmp_path / "c"), "--rotate", "30"]) == 0
    a, b, c = (np.asarray(PIL.Image.open(tmp_path / d / "seed0001.png"), dtype=np.float64) for d in "abc")
    assert a.shape == (32, 32, 3) and not np.array_equal(a, c)
    assert np.abs(b[8:-8, 10:-6] - a[8:-8, 8:-8]).mean() < 2  # Moved right by 0.0625 * 32 = 2 pixels.
    text = PIL.Image.open(tmp_path / "b" / "seed0001.png").text
    assert text["stylegan:translate"] == "0.0625,0" and text["stylegan:rotate"] == "0"

    sg2 = tmp_path / "sg2.safetensors"
    checkpoint.save(Generator(tiny_generator_config()), sg2)
    capsys.readouterr()
    assert main(["generate", "--network", str(sg2), "--seeds", "1", "--rotate", "10", "--outdir",
                 str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "StyleGAN3" in err and "no input transform" in err
    assert not (tmp_path / "d").exists()


@pytest.mark.cuda
@torch.no_grad()
def test_fp16_layers_on_cuda():
    torch.manual_seed(0)
    G = Generator(tiny_sg3(num_fp16_res=2)).eval().cuda()
    assert any(layer.use_fp16 for layer in G.synthesis.layers())
    ws = G.mapping(torch.randn(2, 32, device="cuda"), None)
    for impl in ("ref", "fast"):
        G.synthesis.set_impl(impl)
        img16, img32 = G.synthesis(ws), G.synthesis(ws, force_fp32=True)
        assert img16.dtype == torch.float32 and (img16 - img32).abs().max().item() < 0.05
