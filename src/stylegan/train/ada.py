"""Adaptive discriminator augmentation: the heuristic that tunes the augmentation probability p (Karras et al. 2020,
"Training Generative Adversarial Networks with Limited Data", Section 3). Explicit inputs: the training loop hands in
the sum and count of sign(D(x_real)) and asks for an update every `interval` minibatches. Run the tests with
`pytest tests/train/test_ada.py`.
"""

from __future__ import annotations

import math

import torch


def ada_adjust(p: float, rt: float, target: float, batch_size: int, interval: int, ada_kimg: float) -> float:
    """p <- max(0, p + sign(r_t - target) * batch * interval / (ada_kimg * 1000)) (Sec. 3: p can go 0 -> 1 in
    ada_kimg thousand images). r_t = E[sign(D(x_real))] (Eq. 1); no upper clamp, as in the official code."""
    direction = (rt > target) - (rt < target)  # sign(r_t - target); 0 for r_t == target or NaN.
    return max(0.0, p + direction * batch_size * interval / (ada_kimg * 1000))


class AdaController:
    """Accumulates the real-sign statistic and adjusts p every `interval` minibatches.

    Per minibatch:   ctrl.observe(logits_real.sign().sum(), logits_real.numel())   (also from R1 minibatches)
    Every interval:  [several processes: torch.distributed.all_reduce(ctrl.stats) (sum), in place, first]
                     augment_pipe.p.fill_(ctrl.update(float(augment_pipe.p), global_batch_size))
    p itself lives in the augmentation pipe (one source of truth); the controller holds only the statistics.
    """

    def __init__(
        self,
        target: float = 0.6,  # Target r_t: the fraction of reals D may classify as real, in sign terms.
        ada_kimg: float = 500,  # Thousands of images for p to move by 1 (official: 100 when fine-tuning).
        interval: int = 4,  # Minibatches between updates; the step size scales with it.
    ):
        if not -1 <= target <= 1 or ada_kimg <= 0 or interval < 1:
            raise ValueError(f"need -1 <= target <= 1, ada_kimg > 0, interval >= 1; got {target=}, {ada_kimg=}, "
                             f"{interval=}")
        self.target, self.ada_kimg, self.interval = float(target), float(ada_kimg), int(interval)
        self.rt = math.nan  # r_t used by the last update (for logging); NaN before the first.
        self.stats = torch.zeros([2], dtype=torch.float64)  # [sum of sign(D(x_real)), count] since the last update.

    def observe(self, sign_sum: torch.Tensor | float, count: torch.Tensor | int) -> None:
        """Add a sum of sign(D(x_real)) over `count` logits. Tensors stay on their device (no host sync)."""
        sign_sum = torch.as_tensor(sign_sum).detach()
        if self.stats.device != sign_sum.device:
            self.stats = self.stats.to(sign_sum.device)
        count = torch.as_tensor(count, dtype=torch.float64, device=self.stats.device)
        self.stats += torch.stack([sign_sum.to(torch.float64), count])

    def update(self, p: float, batch_size: int) -> float:
        """Consume the statistics and return p adjusted by one step (batch_size = global minibatch size).
        Without observations since the last update p is returned unchanged."""
        sign_sum, count = self.stats.tolist()
        self.stats.zero_()
        if count == 0:
            return float(p)
        self.rt = sign_sum / count
        return ada_adjust(float(p), self.rt, self.target, batch_size, self.interval, self.ada_kimg)

    def state_dict(self) -> dict[str, float | torch.Tensor]:
        """Plain floats and a CPU tensor, readable with torch.load(weights_only=True)."""
        return {"rt": self.rt, "stats": self.stats.detach().cpu().clone()}

    def load_state_dict(self, state: dict[str, float | torch.Tensor]) -> None:
        self.rt = float(state["rt"])
        self.stats = torch.as_tensor(state["stats"], dtype=torch.float64).to(self.stats.device).clone()

    def __repr__(self) -> str:
        return (f"AdaController(target={self.target}, ada_kimg={self.ada_kimg:g}, interval={self.interval}, "
                f"rt={self.rt:.3f})")
