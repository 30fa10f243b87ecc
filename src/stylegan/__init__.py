"""stylegan: a faithful, safe, pure-PyTorch toolkit for the StyleGAN family (StyleGAN 1, 2, 2-ADA, 3).

    import stylegan
    G = stylegan.load("model.safetensors")            # or an official network-snapshot .pkl (read safely)
    img = G(stylegan.seeds_to_z([0, 1], G.z_dim), None, truncation_psi=0.7, noise_mode="const")
"""

__version__ = "0.1.0"

from .checkpoint import load, model_id, save  # noqa: E402
from .generate import generate_images  # noqa: E402
from .latents import class_to_c, parse_seeds, seeds_to_z  # noqa: E402
from .models import (Discriminator, DiscriminatorConfig, Generator, GeneratorConfig, MappingConfig,  # noqa: E402
                     StyleGAN2SynthesisConfig, truncate)

__all__ = ["__version__", "load", "save", "model_id", "generate_images", "class_to_c", "parse_seeds", "seeds_to_z",
           "Generator", "GeneratorConfig", "Discriminator", "DiscriminatorConfig", "MappingConfig",
           "StyleGAN2SynthesisConfig", "truncate"]
