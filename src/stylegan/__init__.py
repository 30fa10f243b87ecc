"""stylegan: a faithful, safe, pure-PyTorch toolkit for the StyleGAN family (StyleGAN 1, 2, 2-ADA, 3).

    import stylegan
    G = stylegan.load("model.safetensors")            # or an official network-snapshot .pkl (read safely)
    img = G(stylegan.seeds_to_z([0, 1], G.z_dim), None, truncation_psi=0.7, noise_mode="const")
"""

__version__ = "0.1.0"

# What each public name is imported from, on first use (PEP 562): `import stylegan` and the command line's --help and
# argument errors do not wait for torch.
_LAZY = {"load": "checkpoint", "save": "checkpoint", "model_id": "checkpoint", "generate_images": "generate",
         "class_to_c": "latents", "parse_seeds": "latents", "seeds_to_z": "latents", "Generator": "models",
         "GeneratorConfig": "models", "Discriminator": "models", "DiscriminatorConfig": "models",
         "MappingConfig": "models", "StyleGAN2SynthesisConfig": "models", "truncate": "models"}
__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'stylegan' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
