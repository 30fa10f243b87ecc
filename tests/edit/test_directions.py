"""SeFa and GANSpace directions, and applying them."""

import numpy as np
import pytest
import torch

from stylegan.edit.directions import apply_direction, edit_grid, ganspace, load_directions, save_directions, sefa
from stylegan.edit.layers import style_affines
from stylegan.errors import UserError


def test_sefa_directions_are_orthonormal_eigenvectors(tiny_G):
    d = sefa(tiny_G, [0, 1, 2], num=8)
    assert d.directions.shape == (8, tiny_G.w_dim) and d.layers == [0, 1, 2]
    torch.testing.assert_close(d.directions @ d.directions.T, torch.eye(8), atol=1e-5, rtol=0)
    assert (d.values[:-1] >= d.values[1:]).all()
    # Eq. 5: the first direction changes the (row-normalized) styles of those layers more than any other unit vector.
    A = torch.cat([a.module.weight * a.module.weight_gain for a in style_affines(tiny_G.synthesis, 6, 32)
                   if a.w_index in (0, 1, 2)])
    A = (A / A.norm(dim=1, keepdim=True)).detach()
    gain = lambda n: float((A @ n).square().sum())
    assert gain(d.directions[0]) == pytest.approx(float(d.values[0]), rel=1e-4)
    randoms = torch.nn.functional.normalize(torch.randn(200, 32, generator=torch.Generator().manual_seed(0)), dim=1)
    assert all(gain(n) <= gain(d.directions[0]) + 1e-5 for n in randoms)
    # Other layers, other directions.
    fine = sefa(tiny_G, [3, 4, 5], num=1)
    assert abs(float(fine.directions[0] @ d.directions[0])) < 0.99


def test_ganspace_principal_axes(tiny_G):
    d = ganspace(tiny_G, num=5, num_samples=2000)
    torch.testing.assert_close(d.directions @ d.directions.T, torch.eye(5), atol=1e-5, rtol=0)
    assert (d.values[:-1] >= d.values[1:]).all() and torch.allclose(d.scales, d.values.sqrt())
    z = torch.from_numpy(np.random.RandomState(0).randn(2000, tiny_G.z_dim)).float()
    with torch.no_grad():
        w = tiny_G.mapping(z, None)[:, 0]
    proj = (w - w.mean(0)) @ d.directions[0]  # The first axis carries the measured variance.
    assert float(proj.var()) == pytest.approx(float(d.values[0]), rel=1e-3)


def test_apply_direction_and_edit_grid(tiny_G, tmp_path):
    ws = torch.randn(2, tiny_G.num_ws, tiny_G.w_dim)
    n = torch.nn.functional.normalize(torch.randn(tiny_G.w_dim), dim=0)
    out = apply_direction(ws, n, 2.0, [1, 2])
    torch.testing.assert_close(out[:, [0, 3, 4, 5]], ws[:, [0, 3, 4, 5]])
    torch.testing.assert_close(out[:, 1] - ws[:, 1], 2.0 * n.expand(2, -1))
    d = sefa(tiny_G, [0, 1], num=3)
    save_directions(tmp_path / "d.npz", d, "abc")
    back = load_directions(tmp_path / "d.npz", tiny_G.w_dim, tiny_G.num_ws)
    assert back.method == "sefa" and back.layers == [0, 1] and torch.equal(back.directions, d.directions)
    grid = edit_grid(tiny_G, [0, 1], back, 0, [-3.0, 0.0, 3.0], back.layers)
    assert grid.shape == (2, 3, 16, 16, 3)
    assert not np.array_equal(grid[0, 0], grid[0, 1]) and not np.array_equal(grid[0, 2], grid[0, 1])
    with pytest.raises(UserError, match="out of range"):
        edit_grid(tiny_G, [0], back, 3, [1.0], back.layers)
    with pytest.raises(UserError, match=r"needs \[K, 16\]"):
        load_directions(tmp_path / "d.npz", 16, tiny_G.num_ws)
