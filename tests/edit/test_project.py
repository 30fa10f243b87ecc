"""The projector recovers images the network drew itself; projected_w.npz round-trips."""

import copy

import numpy as np
import PIL.Image
import pytest
import torch
from tiny import tiny_sg3_config

from stylegan.edit.distance import PixelSSIMDistance, ssim
from stylegan.edit.latent_file import load_projected_w, save_projected_w
from stylegan.edit.project import (
    ProjectConfig,
    learning_rate,
    noise_buffers,
    noise_regularization,
    prepare_target,
    project,
    psnr,
    set_noise,
)
from stylegan.edit.render import render_ws, seeds_to_ws
from stylegan.errors import UserError
from stylegan.models import Generator


def test_ssim_and_distance():
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    assert float(ssim(x, x)) == pytest.approx(1.0, abs=1e-5)
    assert float(ssim(x, torch.rand(1, 3, 16, 16) * 2 - 1)) < 0.2
    d = PixelSSIMDistance(x)
    assert float(d(x)) == pytest.approx(0.0, abs=1e-5) and float(d(x + 0.1)) > 0


def test_schedule_and_noise_regularizer():
    cfg = ProjectConfig(num_steps=100)
    assert learning_rate(0.0, cfg) == 0 and learning_rate(0.5, cfg) == pytest.approx(cfg.initial_lr)
    assert learning_rate(0.99, cfg) < 0.01 * cfg.initial_lr
    smooth = torch.ones(16, 16)  # Perfectly correlated neighbours are penalized, white noise hardly.
    white = torch.randn(16, 16, generator=torch.Generator().manual_seed(0))
    assert float(noise_regularization([smooth])) > 100 * float(noise_regularization([white]))


def test_prepare_target_crops_and_resizes():
    img = PIL.Image.new("RGB", (40, 20), (255, 0, 0))
    img.paste((0, 0, 255), (0, 0, 10, 20))  # A blue band outside the centre square.
    arr = prepare_target(img, 16, 3)
    assert arr.shape == (16, 16, 3) and arr.flags.writeable and (arr[..., 0] == 255).all()
    assert prepare_target(img, 8, 1).shape == (8, 8, 1)


def test_prepare_target_scales_16_bit_and_composites_transparency():
    gray16 = PIL.Image.fromarray(np.full((8, 8), 32896, np.uint16))  # 128 * 257: mid-grey in 16 bits.
    assert gray16.mode.startswith("I;16")
    assert (prepare_target(gray16, 8, 3) == 128).all()
    clear = PIL.Image.new("RGBA", (8, 8), (0, 0, 0, 0))  # Fully transparent: the white background shows.
    assert (prepare_target(clear, 8, 3) == 255).all()


def _noisy(G, strength: float = 0.05):
    with torch.no_grad():
        for m in G.synthesis.modules():
            if hasattr(m, "noise_strength"):
                m.noise_strength.fill_(strength)
    return G


def test_projection_in_w_plus_reaches_high_psnr_and_round_trips(tiny_G, tmp_path):
    G = copy.deepcopy(tiny_G)
    target_u8 = render_ws(G, seeds_to_ws(G, [7]))[0]  # What a saved PNG of seed 7 holds.
    target = torch.from_numpy(target_u8).permute(2, 0, 1)[None].float() / 127.5 - 1
    proj = project(G, target, PixelSSIMDistance(target), ProjectConfig(num_steps=150, space="w+", w_avg_samples=1000))
    assert proj.ws.shape == (1, G.num_ws, G.w_dim) and proj.trajectory.shape == (150, G.num_ws, G.w_dim)
    assert not torch.equal(proj.ws[0, 0], proj.ws[0, -1])  # W+: one w per layer.
    assert proj.losses[-1] < 0.05 * proj.losses[0]
    img = render_ws(G, proj.ws)[0]
    assert psnr(img, target_u8) > 25  # About 41 dB here.
    # The file holds w [1, num_ws, w_dim] and the fitted noise maps; a fresh network renders the same image from it,
    # also when the noise is visible.
    save_projected_w(tmp_path / "projected_w.npz", proj.ws, proj.noise)
    with np.load(tmp_path / "projected_w.npz", allow_pickle=False) as f:
        assert f["w"].shape == (1, G.num_ws, G.w_dim) and f["w"].dtype == np.float32
    img = render_ws(_noisy(G), proj.ws)[0]
    fresh = _noisy(copy.deepcopy(tiny_G))
    ws, noise = load_projected_w(tmp_path / "projected_w.npz", fresh)
    assert not np.array_equal(render_ws(fresh, ws)[0], img)  # The network's own noise maps differ ...
    set_noise(fresh, noise)
    assert np.array_equal(render_ws(fresh, ws)[0], img)  # ... the saved ones reproduce the projection.


def test_projection_in_w_is_one_w(tiny_G):
    G = copy.deepcopy(tiny_G)
    target = G.synthesis(seeds_to_ws(G, [3]), noise_mode="const")
    proj = project(G, target, PixelSSIMDistance(target), ProjectConfig(num_steps=5, w_avg_samples=100))
    assert torch.equal(proj.ws[0, 0], proj.ws[0, -1]) and len(proj.noise) == len(noise_buffers(G)) > 0


def test_load_projected_w_rejects_bad_files(tiny_G, tmp_path):
    np.savez(tmp_path / "bad.npz", w=np.zeros([1, 3, tiny_G.w_dim], np.float32))
    with pytest.raises(UserError, match=r"shape \[1, 3, 32\].*\[N, 6, 32\]"):
        load_projected_w(tmp_path / "bad.npz", tiny_G)
    np.savez(tmp_path / "nokey.npz", x=np.zeros(3))
    with pytest.raises(UserError, match="no array 'w'"):
        load_projected_w(tmp_path / "nokey.npz", tiny_G)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(UserError, match="not a readable"):
        load_projected_w(tmp_path / "junk.npz", tiny_G)


def test_projection_works_for_stylegan3():
    cfg = tiny_sg3_config()

    torch.manual_seed(0)
    G = Generator(cfg).eval().requires_grad_(False)
    target_u8 = render_ws(G, seeds_to_ws(G, [3]))[0]
    target = torch.from_numpy(target_u8).permute(2, 0, 1)[None].float() / 127.5 - 1
    proj = project(G, target, PixelSSIMDistance(target), ProjectConfig(num_steps=40, space="w+", w_avg_samples=200))
    assert proj.noise == [] and proj.losses[-1] < 0.2 * proj.losses[0]
    assert psnr(render_ws(G, proj.ws)[0], target_u8) > 25  # About 37 dB here.
