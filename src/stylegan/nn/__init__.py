"""Paper-agnostic building blocks; imports only torch and numpy."""

from .bias_act import ACTIVATIONS, bias_act
from .conv import EqualizedConv2d
from .impl import get_impl, set_impl, use_impl
from .linear import EqualizedLinear
from .modconv import demodulation_coefficients, modulated_conv2d
from .normalize import MinibatchStdLayer, minibatch_stddev, normalize_2nd_moment
from .resample import conv2d_resample, downsample2d, filter2d, setup_filter, upfirdn2d, upsample2d

__all__ = [
    "ACTIVATIONS", "bias_act", "EqualizedConv2d", "EqualizedLinear", "demodulation_coefficients", "modulated_conv2d",
    "MinibatchStdLayer", "minibatch_stddev", "normalize_2nd_moment", "conv2d_resample", "downsample2d", "filter2d",
    "setup_filter", "upfirdn2d", "upsample2d", "get_impl", "set_impl", "use_impl",
]
