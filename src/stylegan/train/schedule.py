"""Named schedules: lazy-regularization Adam correction, generator EMA decay, StyleGAN3-R input-blur fade."""

from __future__ import annotations


def lazy_regularization_adam(lr: float, betas: tuple[float, float], interval: int) -> tuple[float, tuple[float, float]]:
    """Adam lr and betas for a loss evaluated every `interval` minibatches (StyleGAN2 Appendix B):
    scale by c = interval / (interval + 1) so the combined main + regularization steps keep their effective rate."""
    c = interval / (interval + 1)
    return lr * c, (betas[0] ** c, betas[1] ** c)


def ema_beta(batch: int, ema_kimg: float, ema_rampup: float | None, cur_nimg: int) -> float:
    """Per-step decay for a generator EMA with a half-life of ema_kimg thousand images (ramped up early on)."""
    ema_nimg = ema_kimg * 1000
    if ema_rampup is not None:
        ema_nimg = min(ema_nimg, cur_nimg * ema_rampup)
    return 0.5 ** (batch / max(ema_nimg, 1e-8))


def blur_sigma(cur_nimg: int, init_sigma: float, fade_kimg: float) -> float:
    """StyleGAN3-R blurs the discriminator's inputs with a Gaussian whose sigma fades linearly to 0 (§D)."""
    if fade_kimg <= 0:
        return 0.0
    return max(1 - cur_nimg / (fade_kimg * 1e3), 0) * init_sigma
