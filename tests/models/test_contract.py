"""The official Python contract for every architecture and resolution."""

import pytest
import torch
from tiny import tiny_discriminator_config, tiny_generator_config

from stylegan.models import Discriminator, Generator, tracking_emas


@pytest.mark.parametrize("arch", ["skip", "resnet", "orig"])
@pytest.mark.parametrize("res", [4, 8, 32])
def test_generator_shapes(arch, res):
    G = Generator(tiny_generator_config(img_resolution=res, synthesis=dict(architecture=arch)))
    assert G.num_ws == 2 * (res.bit_length() - 1) - 2
    z = torch.randn(2, G.z_dim)
    ws = G.mapping(z, None)
    assert ws.shape == (2, G.num_ws, G.w_dim)
    img = G(z, None, noise_mode="none")
    assert img.shape == (2, 3, res, res) and img.dtype == torch.float32
    assert (G.z_dim, G.c_dim, G.w_dim, G.img_resolution, G.img_channels) == (32, 0, 32, res, 3)
    assert G.mapping.w_avg.shape == (G.w_dim,)


def test_generator_1024_num_ws_and_channels():
    from stylegan.models import StyleGAN2SynthesisConfig

    G = Generator(tiny_generator_config(img_resolution=1024, synthesis=dict(channel_base=1024, channel_max=8)))
    assert G.num_ws == 18
    assert G.synthesis.b1024.conv1.weight.shape[0] == 1  # min(1024 // 1024, 8)
    assert StyleGAN2SynthesisConfig().channel_base == 32768


@pytest.mark.parametrize("arch", ["resnet", "skip", "orig"])
def test_discriminator_shapes_and_conditioning(arch):
    D = Discriminator(tiny_discriminator_config(c_dim=3, architecture=arch, mbstd_group_size=2))
    img = torch.randn(4, 3, 16, 16)
    c = torch.eye(3)[[0, 1, 2, 0]]
    out = D(img, c)
    assert out.shape == (4, 1)
    assert not torch.allclose(out, D(img, torch.eye(3)[[1, 2, 0, 1]]))  # Labels change the projection.


def test_conditional_generator_uses_labels():
    G = Generator(tiny_generator_config(c_dim=4))
    z = torch.randn(1, G.z_dim).repeat(2, 1)
    c = torch.eye(4)[[0, 1]]
    img = G(z, c, noise_mode="const")
    assert not torch.allclose(img[0], img[1])


def test_truncation_psi_zero_gives_w_avg_and_cutoff_limits_layers(tiny_G):
    tiny_G.mapping.w_avg.normal_()
    z = torch.randn(3, tiny_G.z_dim)
    ws = tiny_G.mapping(z, None, truncation_psi=0)
    assert torch.allclose(ws, tiny_G.mapping.w_avg.expand_as(ws))
    ws_full = tiny_G.mapping(z, None)
    ws_cut = tiny_G.mapping(z, None, truncation_psi=0.5, truncation_cutoff=2)
    assert torch.equal(ws_cut[:, 2:], ws_full[:, 2:]) and not torch.allclose(ws_cut[:, :2], ws_full[:, :2])


def test_w_avg_updates_only_when_tracking(tiny_G):
    before = tiny_G.mapping.w_avg.clone()
    tiny_G(torch.randn(4, tiny_G.z_dim))
    assert torch.equal(before, tiny_G.mapping.w_avg)
    with tracking_emas(tiny_G):
        tiny_G(torch.randn(4, tiny_G.z_dim))
    assert not torch.equal(before, tiny_G.mapping.w_avg)


def test_bad_ws_shape_and_noise_mode_are_clear_errors(tiny_G):
    with pytest.raises(ValueError, match=r"ws must have shape \[N, 6, 32\]"):
        tiny_G.synthesis(torch.randn(1, 5, 32))
    with pytest.raises(ValueError, match="noise_mode"):
        tiny_G.synthesis(torch.randn(1, 6, 32), noise_mode="sometimes")


def test_gradients_reach_every_parameter():
    G = Generator(tiny_generator_config(synthesis=dict(architecture="resnet"))).train()
    D = Discriminator(tiny_discriminator_config(mbstd_group_size=2))
    D(G(torch.randn(2, G.z_dim))).sum().backward()
    for name, p in list(G.named_parameters()) + list(D.named_parameters()):
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
