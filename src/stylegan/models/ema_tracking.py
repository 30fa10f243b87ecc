"""Running statistics inside networks (the mapping's w_avg, StyleGAN3's magnitude EMAs) update only inside
`tracking_emas(G)`, instead of through an `update_emas` flag threaded through every forward (DESIGN R4).

Modules that keep such statistics define `track_emas = False` and update them in forward when it is True.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from torch import nn


@contextlib.contextmanager
def tracking_emas(module: nn.Module) -> Iterator[None]:
    """Within the block, forward passes of `module` update its running statistics (as official update_emas=True)."""
    tracked = [m for m in module.modules() if hasattr(m, "track_emas")]
    for m in tracked:
        m.track_emas = True
    try:
        yield
    finally:
        for m in tracked:
            m.track_emas = False
