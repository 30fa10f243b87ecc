"""Resolution and channel layout shared by the StyleGAN1/2 generators and the discriminator."""

from __future__ import annotations

import math

import torch

FP16_DEVICES = ("cuda",)  # Where the FP16 layers run in FP16 (as the official code: elsewhere they run in FP32).


def block_resolutions(img_resolution: int) -> list[int]:
    """[4, 8, ..., img_resolution]; img_resolution must be a power of two >= 4."""
    log2 = int(math.log2(img_resolution)) if img_resolution > 0 else 0
    if img_resolution < 4 or 2**log2 != img_resolution:
        raise ValueError(f"img_resolution must be a power of two >= 4, got {img_resolution}")
    return [2**i for i in range(2, log2 + 1)]


def channels_at(resolutions: list[int], channel_base: int, channel_max: int) -> dict[int, int]:
    """Feature maps per resolution: min(channel_base // r, channel_max), halving as resolution doubles."""
    return {r: min(channel_base // r, channel_max) for r in resolutions}


def fp16_resolution(img_resolution: int, num_fp16_res: int) -> int:
    """Lowest resolution that runs in FP16 on CUDA: the top num_fp16_res resolutions, but never below 8."""
    return max(2 ** (int(math.log2(img_resolution)) + 1 - num_fp16_res), 8)


def layer_dtype(use_fp16: bool, force_fp32: bool, device: torch.device) -> torch.dtype:
    """The dtype of a block's activations: FP16 for an FP16 layer on a device of FP16_DEVICES, else FP32."""
    return torch.float16 if use_fp16 and not force_fp32 and device.type in FP16_DEVICES else torch.float32
