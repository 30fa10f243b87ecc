"""stylegan: a faithful, safe, pure-PyTorch toolkit for the StyleGAN family."""

__version__ = "0.1.0"
