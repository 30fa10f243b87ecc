"""Low-pass FIR filter design for alias-free resampling (Karras et al. 2021, "Alias-Free GANs", §3.1-3.2).

Two designs, both Kaiser-windowed ideal low-pass responses (Kaiser 1974):
- separable windowed sinc, used along x and y in turn (StyleGAN3-T and the up-filters of -R);
- radially symmetric windowed jinc (the 2D analogue of sinc), used for the down-filters of StyleGAN3-R (§3.2).
The results are float32 taps for `upfirdn2d`, bit-identical to the official buffers (tests/nn/test_filtered_lrelu.py).
"""

from __future__ import annotations

import numpy as np
import torch


def kaiser_beta(numtaps: int, width: float, fs: float) -> float:
    """Kaiser window shape beta for a transition band of `width` (Hz) at `fs` (Kaiser's empirical formulas)."""
    import scipy.signal

    atten = scipy.signal.kaiser_atten(numtaps, width / (fs / 2))  # Stopband attenuation [dB] reachable with numtaps.
    return float(scipy.signal.kaiser_beta(atten))


def windowed_sinc(numtaps: int, cutoff: float, width: float, fs: float) -> np.ndarray:
    """1D low-pass h[n] = 2 f_c/fs sinc(2 f_c (n - (numtaps-1)/2)/fs) w_kaiser[n], normalized to unit DC gain."""
    import scipy.signal

    # scipy's firwin is exactly this window method; calling it keeps the taps bit-identical to the official ones.
    return scipy.signal.firwin(numtaps=numtaps, cutoff=cutoff, width=width, fs=fs)


def windowed_jinc(numtaps: int, cutoff: float, width: float, fs: float) -> np.ndarray:
    """2D radially symmetric low-pass h(r) = J1(2 pi f_c r) / (pi r) w(x) w(y), unit DC gain (§3.2, jinc filter)."""
    import scipy.special

    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs  # Tap positions in units of the continuous signal.
    r = np.hypot(*np.meshgrid(x, x))  # Even numtaps: r > 0 everywhere, so no 0/0 at the centre.
    h = scipy.special.j1(2 * cutoff * (np.pi * r)) / (np.pi * r)
    window = np.kaiser(numtaps, kaiser_beta(numtaps, width, fs))
    h *= np.outer(window, window)  # Separable Kaiser window, as in the paper.
    h /= np.sum(h)
    return h


def design_lowpass_filter(
    numtaps: int,
    cutoff: float,  # f_c, in the same units as fs (cycles per unit length of the continuous signal).
    width: float,  # Transition band width (2 f_h).
    fs: float,  # Sampling rate the filter runs at.
    radial: bool = False,  # True = 2D jinc [numtaps, numtaps]; False = separable 1D sinc [numtaps].
) -> torch.Tensor | None:
    """float32 filter taps for upfirdn2d; None when numtaps == 1 (identity)."""
    if numtaps < 1:
        raise ValueError(f"numtaps must be >= 1, got {numtaps}")
    if numtaps == 1:
        return None
    h = windowed_jinc(numtaps, cutoff, width, fs) if radial else windowed_sinc(numtaps, cutoff, width, fs)
    return torch.as_tensor(h, dtype=torch.float32)
