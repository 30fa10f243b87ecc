"""Convolutions with weights packed once into oneDNN's blocked layout, for CPU inference in the "fast" implementation.

F.conv2d / F.conv_transpose2d on CPU hand oneDNN plain weights, which it reorders into its blocked layout on every
call. Where the weights are large next to the activations (StyleGAN2's 4²-16² layers: 512x512x3x3 = 9 MB of weights
for a few thousand pixels), that reorder costs as much as the convolution itself. Packed once per weight value (cached
on the weight, weight_cache.py, from the second use of a weight value on) and reused, those layers run 1.2-4x faster
(measured on a 2-core AVX2 CPU; results equal F.conv2d's up to float rounding). The packed layout depends on the
input shape: one packing per weight and operation is kept, and a new input shape repacks.

The ops are PyTorch's internal `torch.ops.mkldnn` ones, which torch.compile's CPU freezing pass emits. They are not a
public API, so `available()` checks them once per process against F.conv2d / F.conv_transpose2d; when they are
missing, fail or disagree, the plain ops run instead. Only without autograd (inference), on dense float32 CPU tensors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import weight_cache
from .impl import direct_convolutions_only

_available: bool | None = None


def _pair(v: int | tuple[int, int] | list[int]) -> list[int]:
    return [v, v] if isinstance(v, int) else [int(v[0]), int(v[1])]


def _pack(w: torch.Tensor, stride: list[int], padding: list[int], transpose: bool, input_size: list[int]):
    mkldnn = torch.ops.mkldnn
    if transpose:
        return mkldnn._reorder_convolution_transpose_weight(w, padding, [0, 0], stride, [1, 1], 1, input_size)
    return mkldnn._reorder_convolution_weight(w, padding, stride, [1, 1], 1, input_size)


def _run(x, packed, bias, stride: list[int], padding: list[int], transpose: bool) -> torch.Tensor:
    mkldnn = torch.ops.mkldnn
    if transpose:
        return mkldnn._convolution_transpose_pointwise(x, packed, bias, padding, [0, 0], stride, [1, 1], 1, "none",
                                                        [], "")
    return mkldnn._convolution_pointwise(x, packed, bias, padding, stride, [1, 1], 1, "none", [], "")


def available() -> bool:
    """Whether this PyTorch has the packed-weight oneDNN convolutions and they agree with F.conv2d /
    F.conv_transpose2d (checked once per process on small inputs)."""
    global _available
    if _available is None:
        _available = False
        try:
            if torch.backends.mkldnn.is_available():
                g = torch.Generator().manual_seed(0)
                x = torch.randn(2, 8, 5, 6, generator=g).contiguous(memory_format=torch.channels_last)
                w, b = torch.randn(8, 8, 3, 3, generator=g), torch.randn(8, generator=g)
                with torch.no_grad(), torch.autocast("cpu", enabled=False):
                    y = _run(x, _pack(w, [1, 1], [1, 1], False, list(x.shape)), b, [1, 1], [1, 1], False)
                    yt = _run(x, _pack(w, [2, 2], [0, 0], True, list(x.shape)), b, [2, 2], [0, 0], True)
                    _available = (torch.allclose(y, F.conv2d(x, w, b, padding=1), atol=1e-5)
                                  and torch.allclose(yt, F.conv_transpose2d(x, w, b, stride=2), atol=1e-5))
        except (RuntimeError, AttributeError, TypeError, NotImplementedError):  # Missing op, other signature.
            pass
    return _available


def applicable(x: torch.Tensor, w: torch.Tensor, groups: int) -> bool:
    """Dense float32 CPU convolution with no gradient to record, outside autocast, torch.compile and FLOP counting."""
    return (type(x) is torch.Tensor and type(w) in (torch.Tensor, torch.nn.Parameter) and x.device.type == "cpu"
            and x.dtype == torch.float32 and w.dtype == torch.float32 and groups == 1 and x.ndim == 4
            and not torch.is_grad_enabled() and not torch.is_autocast_enabled("cpu")
            and not torch.compiler.is_compiling() and not direct_convolutions_only() and available())


_SEEN = torch.empty(0)  # Marks a weight value used once at an input shape (see conv2d).


def conv2d(x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor | None = None, stride: int | tuple[int, int] = 1,
           padding: int | tuple[int, int] = 0, transpose: bool = False) -> torch.Tensor:
    """F.conv2d(x, w, bias, stride, padding) (or F.conv_transpose2d, w [I, O, kh, kw]) with w packed for oneDNN.
    The packing is kept from the second use of a weight value at this input shape on: in training, where the
    generator also runs without autograd (the fakes of the discriminator's phase), every weight value is used once,
    and a kept packing would only hold memory. (Every call runs the packed kernels, so repeated calls give identical
    results; the plain op's may differ from them in the last bits.)"""
    stride, padding = _pair(stride), _pair(padding)
    name, shape = ("onednn", transpose, *stride, *padding), tuple(x.shape)
    packed = _kept_packing(w, name, shape, lambda: _pack(w, stride, padding, transpose, list(shape)))
    return _run(x, packed, bias, stride, padding, transpose)


def _kept_packing(w: torch.Tensor, name: tuple, shape: tuple, make):
    """make() (a packing of w for inputs of this shape), kept on w from the second use of this value of w on."""
    packed = weight_cache.lookup(w, name, shape)
    if packed is None:
        packed = make()
        if weight_cache.lookup(w, (*name, "seen"), shape) is None:
            weight_cache.store(w, (*name, "seen"), _SEEN, shape)
        else:
            weight_cache.store(w, name, packed, shape)
    return packed


def bmm(a: torch.Tensor, owner: torch.Tensor, name: str, b_of) -> torch.Tensor:
    """a [B, R, K] @ b [B, K, N], b = b_of(owner) a function of the weight `owner` only, as B 1x1 convolutions with
    b[i] packed for oneDNN (kept as `conv2d` keeps its packing). On an AMD CPU with AVX-512 (Zen 5) these GEMMs ran
    2-3x faster than torch.bmm, which runs MKL's float32 GEMM (e.g. 36 x [512, 256] @ [256, 256]: 8.6 vs 15.4 ms),
    and with both limited to AVX2 0.9-1.4x. a[i] [R, K] is a 1x1 convolution's channels-last input [1, K, R, 1]; its
    output [1, N, R, 1] is the product a[i] @ b[i] in the same memory order."""
    B, R, K = a.shape

    def make():
        b = b_of(owner)  # [B, K, N]
        return tuple(_pack(b[i].t().contiguous()[:, :, None, None], [1, 1], [0, 0], False, [1, K, R, 1])
                     for i in range(B))

    packed = _kept_packing(owner, ("onednn-bmm", name), tuple(a.shape), make)
    out = None
    for i in range(B):
        y = _run(a[i].view(1, R, 1, K).permute(0, 3, 1, 2), packed[i], None, [1, 1], [0, 0], False)
        if out is None:
            out = a.new_empty([B, R, y.shape[1]])
        out[i] = y.permute(0, 2, 3, 1).view(R, -1)
    return out
