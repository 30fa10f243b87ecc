"""Tiny network configs for fast CPU tests, and the relative-error check the network tests share."""


def tiny_generator_config(**overrides):
    """A 16x16 StyleGAN2 small enough for fast CPU tests."""
    from stylegan.models import GeneratorConfig, MappingConfig, StyleGAN2SynthesisConfig

    synthesis = StyleGAN2SynthesisConfig(**{"channel_base": 256, "channel_max": 32, **overrides.pop("synthesis", {})})
    kw = dict(z_dim=32, w_dim=32, img_resolution=16, img_channels=3, mapping=MappingConfig(num_layers=2),
              synthesis=synthesis)
    kw.update(overrides)
    return GeneratorConfig(**kw)


def tiny_discriminator_config(**overrides):
    """A 16x16 StyleGAN2 discriminator (32 channels at most) for fast CPU tests; overrides are config fields."""
    from stylegan.models import DiscriminatorConfig

    return DiscriminatorConfig(**{"img_resolution": 16, "channel_base": 256, "channel_max": 32, **overrides})


def tiny_sg3_config(arch: str = "stylegan3-t"):
    """A 16x16 StyleGAN3 with 4 layers, small enough for fast CPU tests."""
    from stylegan.models import GeneratorConfig, MappingConfig
    from stylegan.models.config import StyleGAN3RSynthesisConfig, StyleGAN3SynthesisConfig

    cls = StyleGAN3RSynthesisConfig if arch == "stylegan3-r" else StyleGAN3SynthesisConfig
    return GeneratorConfig(arch=arch, z_dim=16, w_dim=16, img_resolution=16, img_channels=3,
                           mapping=MappingConfig(num_layers=2),
                           synthesis=cls(channel_base=256, channel_max=16, num_layers=4, num_critical=1, margin_size=4))


def assert_close(a, b, tol):
    """max |a - b| <= tol * max |b| (and equal shapes)."""
    assert a.shape == b.shape, (a.shape, b.shape)
    err = (a - b).abs().max().item() / max(b.abs().max().item(), 1e-12)
    assert err < tol, err
