"""Layer groups, style-affine discovery, style mixing and truncation on a tiny StyleGAN2."""

import numpy as np
import pytest
import torch

from stylegan.edit.layers import layer_groups, parse_layers, style_affines
from stylegan.edit.mixing import style_mix, style_mixing_grid
from stylegan.edit.render import render_ws, seeds_to_ws
from stylegan.edit.truncation import truncation_sweep
from stylegan.errors import UserError


@pytest.mark.parametrize("num_ws, expected", [
    (18, ([0, 3], [4, 7], [8, 17])),  # StyleGAN paper, 1024²: 4²-8² | 16²-32² | 64²-1024².
    (16, ([0, 3], [4, 6], [7, 15])),
    (14, ([0, 2], [3, 5], [6, 13])),
    (6, ([0, 0], [1, 2], [3, 5])),
    (3, ([0, 0], [1, 1], [2, 2])),
])
def test_layer_groups_rule(num_ws, expected):
    groups = layer_groups(num_ws)
    assert [[g[0], g[-1]] for g in groups.values()] == [list(e) for e in expected]
    assert [i for g in groups.values() for i in g] == list(range(num_ws))  # Contiguous, disjoint, complete.


def test_parse_layers():
    assert parse_layers("coarse", 18) == [0, 1, 2, 3]
    assert parse_layers("fine,coarse", 6) == [0, 3, 4, 5]
    assert parse_layers("0-2,5", 6) == [0, 1, 2, 5]
    assert parse_layers("all", 4) == [0, 1, 2, 3]
    with pytest.raises(UserError, match="unknown layer name 'hair'"):
        parse_layers("coarse,hair", 6)
    with pytest.raises(UserError, match="out of range"):
        parse_layers("0-6", 6)


def test_style_affines_follow_the_blocks_w_slices(tiny_G):
    found = style_affines(tiny_G.synthesis, tiny_G.num_ws, tiny_G.w_dim)
    expected = []
    for (name, first, last), block in zip(tiny_G.synthesis.layer_ranges(), tiny_G.synthesis.blocks()):
        layers = [m for m in ("conv0", "conv1", "torgb") if hasattr(block, m)]
        expected += [(f"{name}.{m}.affine", first + i) for i, m in enumerate(layers)]
    assert [(a.name, a.w_index) for a in found] == expected
    assert found[-1].w_index == tiny_G.num_ws - 1


def test_style_mixing_grid(tiny_G):
    ws = seeds_to_ws(tiny_G, [1, 2, 3, 4, 5])
    rows, cols = ws[:2], ws[2:]
    none = style_mixing_grid(tiny_G, rows, cols, styles=[])
    assert none.cells.shape == (2, 3, 16, 16, 3)
    for r in range(2):  # All styles from the row: the row image.
        for c in range(3):
            assert np.array_equal(none.cells[r, c], none.row_images[r])
    every = style_mixing_grid(tiny_G, rows, cols, styles=list(range(tiny_G.num_ws)))
    assert np.array_equal(every.cells[1, 2], every.col_images[2])
    part = style_mixing_grid(tiny_G, rows, cols, styles=[0, 1])
    manual = render_ws(tiny_G, style_mix(rows[1:2], cols[0:1], [0, 1]))[0]
    assert np.array_equal(part.cells[1, 0], manual)
    assert not np.array_equal(manual, part.row_images[1]) and not np.array_equal(manual, part.col_images[0])
    grid = part.grid()
    assert grid.shape == (3 * 16, 4 * 16, 3)
    assert np.array_equal(grid[16:32, :16], part.row_images[0]) and np.array_equal(grid[:16, 16:32], part.col_images[0])
    assert np.array_equal(grid[32:48, 16:32], part.cells[1, 0])


def test_truncation_identity_and_average(tiny_G):
    with torch.no_grad():
        tiny_G.mapping.w_avg.copy_(torch.randn(tiny_G.w_dim))
    ws = seeds_to_ws(tiny_G, [0, 1, 2])
    sweep = truncation_sweep(tiny_G, ws, [1.0, 0.0, 0.5])
    assert sweep.shape == (3, 3, 16, 16, 3)
    assert np.array_equal(sweep[:, 0], render_ws(tiny_G, ws))  # psi = 1: identity.
    avg = render_ws(tiny_G, tiny_G.mapping.w_avg.expand(1, tiny_G.num_ws, -1))[0]
    for i in range(3):  # psi = 0: the w_avg image, whatever the seed.
        assert np.array_equal(sweep[i, 1], avg)
    assert not np.array_equal(sweep[0, 2], sweep[0, 0])
    # The seed-level helper applies the same formula.
    assert np.array_equal(render_ws(tiny_G, seeds_to_ws(tiny_G, [0, 1, 2], psi=0.5)), sweep[:, 2])
