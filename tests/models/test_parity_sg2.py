"""Official fixtures: our StyleGAN2 networks loaded from official state_dicts reproduce the recorded outputs."""

import json

import pytest
import torch
from safetensors.torch import load_file

from stylegan.models import Discriminator, Generator
from stylegan.models.official import (
    discriminator_config_from_official,
    generator_config_from_official,
    load_official_state_dict,
)

TOL = 1e-4


def build(official, name, kind):
    meta = json.loads((official / f"{name}.json").read_text())
    if kind == "G":
        net = Generator(generator_config_from_official(meta["init_kwargs"]))
    else:
        net = Discriminator(discriminator_config_from_official(meta["init_kwargs"]))
    load_official_state_dict(net, load_file(official / f"{name}.safetensors"))
    return net.eval(), load_file(official / f"{name}_io.safetensors")


def maxdiff(a, b):
    assert a.shape == b.shape
    return (a - b).abs().max().item()


@torch.no_grad()
def test_sg2_G32_all_outputs(official):
    G, io = build(official, "sg2_G32", "G")
    z = io["z"]
    assert maxdiff(G.mapping(z, None), io["ws"]) <= TOL
    assert maxdiff(G.mapping(z, None, truncation_psi=0.5), io["ws_psi05"]) <= TOL
    assert maxdiff(G.mapping(z, None, truncation_psi=0.5, truncation_cutoff=3), io["ws_psi05_cutoff3"]) <= TOL
    assert maxdiff(G.synthesis(io["ws"], noise_mode="const"), io["img_const"]) <= TOL
    assert maxdiff(G.synthesis(io["ws"], noise_mode="none"), io["img_none"]) <= TOL
    assert maxdiff(G(z, None, truncation_psi=0.7, noise_mode="const"), io["img_psi07_const"]) <= TOL
    assert maxdiff(G.synthesis(io["ws"], noise_mode="const", fused_modconv=False), io["img_const_unfused"]) <= TOL


@torch.no_grad()
def test_sg2_G16_conditional_resnet(official):
    G, io = build(official, "sg2_G16_cond_resnet", "G")
    assert G.c_dim == 5 and hasattr(G.synthesis.b8, "skip")
    assert maxdiff(G(io["z"], io["c"], noise_mode="const"), io["img_const"]) <= TOL


@torch.no_grad()
@pytest.mark.parametrize("name", ["sg2_D32", "sg2_D16_cond_skip"])
def test_sg2_discriminators(official, name):
    D, io = build(official, name, "D")
    assert maxdiff(D(io["img"], io.get("c")), io["logits"]) <= TOL


@torch.no_grad()
def test_random_noise_mode_differs_but_const_is_deterministic(official):
    G, io = build(official, "sg2_G32", "G")
    a = G.synthesis(io["ws"], noise_mode="random")
    b = G.synthesis(io["ws"], noise_mode="random")
    assert maxdiff(a, b) > 1e-3
    assert maxdiff(G.synthesis(io["ws"], noise_mode="const"), G.synthesis(io["ws"], noise_mode="const")) == 0
