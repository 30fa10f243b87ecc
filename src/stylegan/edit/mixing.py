"""Style mixing (Karras et al. 2019, StyleGAN §3.1, Fig. 3): the ws of one image with some layers from another."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .render import header_grid, render_ws


def style_mix(ws_row: torch.Tensor, ws_col: torch.Tensor, styles: list[int]) -> torch.Tensor:
    """ws_row with ws_row[:, styles] replaced by ws_col[:, styles]. Both [N, num_ws, w_dim]."""
    ws = ws_row.clone()
    ws[:, styles] = ws_col[:, styles]
    return ws


@dataclass
class MixingGrid:
    styles: list[int]  # w indices taken from the column image.
    row_images: np.ndarray  # [R, H, W, C] uint8
    col_images: np.ndarray  # [C, H, W, C]
    cells: np.ndarray  # [R, C, H, W, C]: row image with the column's styles.

    def grid(self) -> np.ndarray:
        """One image: column sources across the top, row sources down the left, mixes in the cells."""
        return header_grid(self.cells, self.row_images, self.col_images)


@torch.no_grad()
def style_mixing_grid(G, ws_rows: torch.Tensor, ws_cols: torch.Tensor, styles: list[int],
                      noise_mode: str = "const") -> MixingGrid:
    """Render every (row, col) mix: the row's ws with the column's ws at `styles` (the official style_mixing.py).

    ws_rows [R, num_ws, w_dim], ws_cols [C, num_ws, w_dim] (e.g. from render.seeds_to_ws)."""
    R, C = len(ws_rows), len(ws_cols)
    mixed = style_mix(ws_rows.repeat_interleave(C, dim=0), ws_cols.repeat(R, 1, 1), styles)  # [R*C, ...]
    images = render_ws(G, torch.cat([ws_rows, ws_cols, mixed]), noise_mode)
    cells = images[R + C:].reshape(R, C, *images.shape[1:])
    return MixingGrid(styles, images[:R], images[R: R + C], cells)
