"""Image distances for the projector: VGG16 LPIPS features (StyleGAN2 Appendix D), or an offline fallback.

The fallback needs no downloaded network: a multi-scale pixel + SSIM distance (Wang et al. 2004 SSIM, summed over
an image pyramid that halves the resolution down to 8 px). It reproduces colours and structure well but lacks the
semantic tolerance of LPIPS, so projections of real photos look sharper with the VGG16 detector.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

VGG_RESOLUTION = 256  # Images larger than this are area-downsampled before VGG16 (as the official projector).


def _gaussian_window(size: int, sigma: float, device: torch.device) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2
    g = torch.exp(-x.square() / (2 * sigma**2))
    return g / g.sum()


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 2.0, window: int = 11,
         sigma: float = 1.5) -> torch.Tensor:
    """Mean structural similarity of two [N, C, H, W] images (Wang et al. 2004, Eq. 13), Gaussian window,
    reflect-padded so small images keep their size. 1 = identical."""
    C = x.shape[1]
    side = min(x.shape[2], x.shape[3])
    window = min(window, side if side % 2 else side - 1)  # Odd, at most the image size.
    g = _gaussian_window(window, sigma, x.device)
    kh = g.reshape(1, 1, 1, -1).repeat(C, 1, 1, 1)
    kv = g.reshape(1, 1, -1, 1).repeat(C, 1, 1, 1)
    pad = window // 2

    def blur(t: torch.Tensor) -> torch.Tensor:
        t = F.pad(t, [pad, pad, pad, pad], mode="reflect")
        return F.conv2d(F.conv2d(t, kh, groups=C), kv, groups=C)

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx.square(), blur(y * y) - my.square(), blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx.square() + my.square() + c1) * (sxx + syy + c2))
    return s.mean()


class PixelSSIMDistance:
    """Σ over pyramid levels of MSE + (1 - SSIM), images in [-1, 1]; the projector's offline fallback.

    Target pixels at the ends of the range (0 or 255 in 8 bits) only say "at least this bright / dark": a saved
    image clamps there, so overshooting them costs nothing (a one-sided penalty, with exact gradients)."""

    name = "pixel+ssim"

    def __init__(self, target: torch.Tensor, min_size: int = 8):  # target [1, C, H, W] in [-1, 1]
        self.min_size = min_size
        target = target.detach().to(torch.float32)
        self.high, self.low = target >= 1 - 0.5 / 127.5, target <= -1 + 0.5 / 127.5
        self.targets = self._pyramid(target)

    def _pyramid(self, img: torch.Tensor) -> list[torch.Tensor]:
        levels = [img]
        while min(levels[-1].shape[2:]) // 2 >= self.min_size:
            levels.append(F.avg_pool2d(levels[-1], 2))
        return levels

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        img = img.to(torch.float32)
        img = torch.where(self.high, img.clamp(max=1), torch.where(self.low, img.clamp(min=-1), img))
        total = img.new_zeros([])
        for x, y in zip(self._pyramid(img), self.targets):
            total = total + (x - y).square().mean() + (1 - ssim(x, y))
        return total


class VGG16Distance:
    """Squared L2 distance of VGG16 LPIPS features (the official projector's loss); needs a VGG16 detector."""

    name = "vgg16"

    def __init__(self, detector, target: torch.Tensor):  # detector: stylegan.metrics.detectors.Detector
        self.detector = detector
        self.target_features = detector.lpips(self._prepare(target.detach())).detach()

    @staticmethod
    def _prepare(img: torch.Tensor) -> torch.Tensor:
        """[-1, 1] NCHW -> [0, 255] RGB, area-downsampled to at most 256 px."""
        img = (img.to(torch.float32) + 1) * (255 / 2)
        if img.shape[1] == 1:
            img = img.repeat(1, 3, 1, 1)
        if img.shape[2] > VGG_RESOLUTION:
            img = F.interpolate(img, size=(VGG_RESOLUTION, VGG_RESOLUTION), mode="area")
        return img

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        return (self.target_features - self.detector.lpips(self._prepare(img))).square().sum()
