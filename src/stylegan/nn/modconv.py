"""Modulated convolution with weight demodulation (Karras et al. 2020, StyleGAN2 §2.2, Eq. 1-3).

impl "ref" (impl.py) is the official reference: the per-sample weights [N, O, I, k, k] (fused) or activation scaling
plus a [N, O, I, k, k] temporary for the demodulation coefficients (non-fused), then bias_act as separate passes.
impl "fast" (`modulated_layer_fast`) computes the same layer, conv to activation, with less memory traffic:
sigma_j^2 = (s^2 @ (sum_k w^2)^T)_j needs no [N, O, I, k, k] tensor; demodulation, activation gain and bias are one
multiply-add pass (act(g y) = g act(y) for g > 0); noise is added in place; fused or non-fused form is picked per
shape (per-sample weights only when they are smaller than the activations they replace); 1x1 convolutions are one
batched matmul with the bias; activations stay channels-last.
"""

from __future__ import annotations

import contextlib

import torch

from .bias_act import LEAKY_SLOPES, bias_act, lrelu_clamp
from . import weight_cache, winograd
from .impl import resolve
from .perf import tune_cpu_allocator
from .resample import Padding, _pad4, conv2d_resample, to_channels_last


def demodulation_coefficients(weight: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
    """sigma_j^-1 = 1 / sqrt(sum_{i,k} (s_i w_ijk)^2 + eps) (Eq. 3), shape [N, O]."""
    w = weight.unsqueeze(0) * styles[:, None, :, None, None]  # [NOIkk]
    return (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()


def modulated_conv2d(
    x: torch.Tensor,  # Input [N, I, H, W]
    weight: torch.Tensor,  # Weights [O, I, kh, kw]
    styles: torch.Tensor,  # Per-sample input-channel scales s [N, I]
    noise: torch.Tensor | None = None,  # Added after the convolution, broadcastable to [N, O, H', W']
    up: int = 1,
    down: int = 1,
    padding: Padding = 0,
    resample_filter: torch.Tensor | None = None,
    demodulate: bool = True,
    flip_weight: bool = True,
    fused_modconv: bool = True,  # True = one grouped conv with per-sample weights; False = scale activations instead.
    impl: str | None = None,  # "ref" | "fast" (fused_modconv is then only a hint); None = the current default.
) -> torch.Tensor:
    if resolve(impl) == "fast":
        return modulated_layer_fast(x, weight, styles, noise=noise, up=up, down=down, padding=padding,
                                    resample_filter=resample_filter, demodulate=demodulate, flip_weight=flip_weight)
    N = x.shape[0]
    O, I, kh, kw = weight.shape

    # Pre-normalize to avoid FP16 overflow (does not change the demodulated result).
    if x.dtype == torch.float16 and demodulate:
        weight = weight * (1 / (I * kh * kw) ** 0.5 / weight.norm(float("inf"), dim=[1, 2, 3], keepdim=True))
        styles = styles / styles.norm(float("inf"), dim=1, keepdim=True)

    # Non-fused: modulate the activations, convolve with the shared weight, demodulate the output (Eq. 1 and 3).
    if not fused_modconv:
        x = x * styles.to(x.dtype).reshape(N, -1, 1, 1)
        x = conv2d_resample(x, weight.to(x.dtype), f=resample_filter, up=up, down=down, padding=padding,
                            flip_weight=flip_weight, impl="ref")
        if demodulate:
            x = x * demodulation_coefficients(weight, styles).to(x.dtype).reshape(N, -1, 1, 1)
        if noise is not None:
            x = x + noise.to(x.dtype)
        return x

    # Fused: per-sample weights w'_ijk = s_i w_ijk (Eq. 1), w'' = w' / sigma_j (Eq. 3), one grouped convolution.
    w = weight.unsqueeze(0) * styles.reshape(N, 1, -1, 1, 1)  # [NOIkk]
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt().reshape(N, -1, 1, 1, 1)
    x = x.reshape(1, -1, *x.shape[2:])
    x = conv2d_resample(x, w.reshape(-1, I, kh, kw).to(x.dtype), f=resample_filter, up=up, down=down,
                        padding=padding, groups=N, flip_weight=flip_weight, impl="ref")
    x = x.reshape(N, -1, *x.shape[2:])
    if noise is not None:
        x = x + noise.to(x.dtype)
    return x


def modulated_layer(
    x: torch.Tensor,  # [N, I, H, W]
    weight: torch.Tensor,  # [O, I, kh, kw]
    styles: torch.Tensor,  # [N, I]
    bias: torch.Tensor | None,  # [O]
    noise: torch.Tensor | None = None,  # Broadcastable to [N, O, H', W'], added before the bias.
    up: int = 1,
    padding: Padding = 0,
    resample_filter: torch.Tensor | None = None,
    demodulate: bool = True,
    flip_weight: bool = True,
    fused_modconv: bool = True,
    act: str = "linear",
    gain: float = 1.0,  # Total output gain (the activation's default gain included).
    clamp: float | None = None,
    impl: str | None = None,
) -> torch.Tensor:
    """One StyleGAN2 synthesis layer from convolution to activation: bias_act(modulated_conv2d(...) + noise)."""
    if resolve(impl) == "fast" and act in LEAKY_SLOPES and gain > 0:
        return modulated_layer_fast(x, weight, styles, bias, noise, up=up, padding=padding,
                                    resample_filter=resample_filter, demodulate=demodulate, flip_weight=flip_weight,
                                    act=act, gain=gain, clamp=clamp)
    x = modulated_conv2d(x, weight, styles, noise=noise, up=up, padding=padding, resample_filter=resample_filter,
                         demodulate=demodulate, flip_weight=flip_weight, fused_modconv=fused_modconv, impl="ref")
    return bias_act(x, bias.to(x.dtype) if bias is not None else None, act=act, gain=gain, clamp=clamp, impl="ref")


def _symmetric(padding: Padding) -> tuple[int, int] | None:
    """(py, px) for symmetric non-negative padding, else None."""
    x0, x1, y0, y1 = _pad4(padding)
    return (y0, x0) if x0 == x1 >= 0 and y0 == y1 >= 0 else None


def full_precision(device_type: str):
    """Autocast off inside (for per-channel coefficient math); a no-op context when autocast is not on."""
    if torch.is_autocast_enabled(device_type):
        return torch.autocast(device_type, enabled=False)
    return contextlib.nullcontext()


def demodulation_coefficients_fast(weight: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
    """Eq. 3 without the [N, O, I, k, k] tensor: sum_{i,k} (s_i w_oik)^2 = sum_i s_i^2 (sum_k w_oik^2). [N, O]"""
    return (styles.square() @ kernel_energy(weight).t() + 1e-8).rsqrt()


def kernel_energy(weight: torch.Tensor) -> torch.Tensor:
    """sum_k w_oik^2 [O, I], computed once per weight value in inference (weight_cache.py)."""
    return weight_cache.derived(weight, "kernel_energy", lambda w: w.square().sum(dim=[2, 3]))


def _tune_allocator_for(x: torch.Tensor) -> None:
    """Large CPU activations reuse freed memory (nn/perf.py, once per process); not for the shape-only tensors of the
    FLOP counter, which allocate nothing."""
    if x.device.type == "cpu" and type(x) is torch.Tensor:
        tune_cpu_allocator()


def modulated_layer_fast(x, weight, styles, bias=None, noise=None, up=1, down=1, padding=0, resample_filter=None,
                         demodulate=True, flip_weight=True, act="linear", gain=1.0, clamp=None) -> torch.Tensor:
    """modulated_layer with impl="fast" (see the module docstring)."""
    _tune_allocator_for(x)
    N, I, H, W = x.shape
    O, _, kh, kw = weight.shape
    with full_precision(x.device.type):  # Small coefficient math stays FP32 under autocast.
        styles = styles.to(weight.dtype)  # (The affine layer's output is BF16/FP16 under autocast.)
        if x.dtype == torch.float16 and demodulate:  # As the ref: keeps FP16 in range, cancels under demodulation.
            weight = weight * (1 / (I * kh * kw) ** 0.5 / weight.norm(float("inf"), dim=[1, 2, 3], keepdim=True))
            styles = styles / styles.norm(float("inf"), dim=1, keepdim=True)
        # Output scale per (sample, output channel): demodulation times the gain, which commutes with (leaky) ReLU.
        scale = demodulation_coefficients_fast(weight, styles) * gain if demodulate else None  # [N, O]
        b = bias.to(x.dtype) * gain if bias is not None else None
        if noise is not None:
            noise = noise.to(x.dtype) * gain

    is_1x1 = kh == 1 and kw == 1 and up == 1 and down == 1 and _pad4(padding) == (0, 0, 0, 0)
    out_pixels = H * W * up * up // (down * down)
    per_sample_w = is_1x1 or (N == 1 and O * I * kh * kw < I * H * W + O * out_pixels)
    use_winograd = (up == 1 and down == 1 and flip_weight and _symmetric(padding) is not None
                    and winograd.applicable(x, weight, 1, 1, False))
    if use_winograd:
        # CPU inference: Winograd with the shared weights (transform cached), the modulation fused into its padding
        # pass; then demodulation / gain and bias in one pass.
        y = winograd.conv2d_winograd(x, weight, _symmetric(padding), scale=styles)
        s = (scale if scale is not None else torch.full([N, O], gain, device=x.device)).to(y.dtype)
        s = s.reshape(N, O, 1, 1)
        y = torch.addcmul(b.to(y.dtype).reshape(1, O, 1, 1), y, s) if b is not None else y * s
    elif per_sample_w:
        # Fused: w''_oik = s_i w_oik sigma_o^-1 g, built in channels-last order [N, O, kh, kw, I].
        w = weight.permute(0, 2, 3, 1).unsqueeze(0) * styles.reshape(N, 1, 1, 1, I)
        if scale is None:
            scale = torch.full([N, O], gain, dtype=weight.dtype, device=x.device)
        w = w * scale.reshape(N, O, 1, 1, 1)
        w = w.to(x.dtype)
        if is_1x1:  # One batched matmul over pixels, bias included: [N, HW, I] @ [N, I, O], then act in place.
            xf = to_channels_last(x).permute(0, 2, 3, 1).reshape(N, H * W, I)
            wf = w.reshape(N, O, I).transpose(1, 2)
            y = torch.baddbmm(b.reshape(1, 1, O), xf, wf) if b is not None else torch.bmm(xf, wf)
            if noise is not None:
                n4 = noise.reshape([1] * (4 - noise.ndim) + list(noise.shape))
                y = y.add_(n4.permute(0, 2, 3, 1).expand(-1, H, W, -1).reshape(n4.shape[0], H * W, n4.shape[1]))
            y = lrelu_clamp(y, LEAKY_SLOPES[act], clamp, inplace=True)
            return y.reshape(N, H, W, O).permute(0, 3, 1, 2)  # Views only after the in-place ops (cheap backward).
        else:  # N == 1: an ordinary convolution with the modulated weights.
            w = w.reshape(O, kh, kw, I).permute(0, 3, 1, 2)
            y = conv2d_resample(x, w, f=resample_filter, up=up, down=down, padding=padding, flip_weight=flip_weight,
                                bias=b, impl="fast")
    else:
        # Non-fused: scale the activations (Eq. 1), shared weights, then scale (Eq. 3 and gain) and bias in one pass.
        x = to_channels_last(x) * styles.to(x.dtype).reshape(N, I, 1, 1)
        w = weight.to(x.dtype) if scale is not None else (weight * gain).to(x.dtype)
        y = conv2d_resample(x, w, f=resample_filter, up=up, down=down, padding=padding, flip_weight=flip_weight,
                            bias=b if scale is None else None, impl="fast")
        if scale is not None:
            s = scale.to(y.dtype).reshape(N, O, 1, 1)  # (y is BF16/FP16 under autocast: keep it so.)
            y = torch.addcmul(b.to(y.dtype).reshape(1, O, 1, 1), y, s) if b is not None else y * s
    if noise is not None:
        y = y.add_(noise.to(y.dtype))  # y is a temporary that nothing saved for backward.
    return lrelu_clamp(y, LEAKY_SLOPES[act], clamp, inplace=True)


def modulated_conv2d_v3_fast(
    x: torch.Tensor,  # [N, I, H, W]
    weight: torch.Tensor,  # [O, I, k, k]
    styles: torch.Tensor,  # [N, I]
    demodulate: bool,
    padding: int,
    input_gain: torch.Tensor | None = None,  # [] or [I]
    bias: torch.Tensor | None = None,  # [O], added after the convolution (saves filtered_lrelu its bias pass).
) -> torch.Tensor:
    """The StyleGAN3 modulated convolution (synthesis_v3.modulated_conv2d, official pre-normalization included)
    with shared weights: activations scaled by s (and the input gain), one dense convolution (Winograd on CPU for wide
    layers, the weight transform cached), outputs scaled by the demodulation coefficients, plus the bias, in one pass.
    sigma_o^2 = a_o^2 b^2 (s^2 @ (sum_k w^2)^T)_o with a_o, b the pre-normalization factors of weight and styles."""
    _tune_allocator_for(x)
    N, I = styles.shape
    O = weight.shape[0]
    s = styles = styles.to(weight.dtype)
    out_scale = None
    with full_precision(x.device.type):
        if demodulate:
            w2 = kernel_energy(weight)  # [O, I]
            a = (w2.sum(dim=1) / (I * weight.shape[2] * weight.shape[3])).rsqrt()  # Pre-normalization of weight,
            s = styles * styles.square().mean().rsqrt()  # ... and of the styles (over the whole batch, as official).
            out_scale = a * ((s.square() @ w2.t()) * a.square() + 1e-8).rsqrt()  # [N, O]
        if input_gain is not None:
            s = s * input_gain.expand(N, I)
    if winograd.applicable(x, weight, 1, 1, False):  # CPU inference: modulation fused into Winograd's padding.
        y = winograd.conv2d_winograd(x, weight, padding, scale=s)
        if out_scale is None:
            return y if bias is None else y + bias.to(y.dtype).reshape(1, O, 1, 1)
    else:
        x = to_channels_last(x) * s.to(x.dtype).reshape(N, I, 1, 1)
        y = conv2d_resample(x, weight.to(x.dtype), padding=padding, bias=bias if out_scale is None else None,
                            impl="fast")
    if out_scale is None:
        return y
    out_scale = out_scale.to(y.dtype).reshape(N, O, 1, 1)
    b = bias.to(y.dtype).reshape(1, O, 1, 1) if bias is not None else torch.zeros([], dtype=y.dtype, device=y.device)
    return torch.addcmul(b, y, out_scale)  # Channels-last when y is, as filtered_lrelu prefers on CPU.
