"""Networks of the StyleGAN family and the registry that maps generation names to them."""

from .config import (DiscriminatorConfig, GeneratorConfig, MappingConfig, StyleGAN1SynthesisConfig,
                     StyleGAN2SynthesisConfig, StyleGAN3RSynthesisConfig, StyleGAN3SynthesisConfig)
from .discriminator import Discriminator
from .ema_tracking import tracking_emas
from .generator import Generator
from .mapping import MappingNetwork, truncate
from .synthesis_v1 import SynthesisNetwork as StyleGAN1Synthesis
from .synthesis_v2 import SynthesisNetwork as StyleGAN2Synthesis
from .synthesis_v3 import SynthesisNetwork as StyleGAN3Synthesis

# Generation name -> synthesis network class. Every class takes (cfg, w_dim, img_resolution, img_channels)
# and exposes num_ws; Generator wraps any of them with the mapping network.
SYNTHESIS_NETWORKS: dict[str, type] = {"stylegan1": StyleGAN1Synthesis, "stylegan2": StyleGAN2Synthesis,
                                       "stylegan3-t": StyleGAN3Synthesis, "stylegan3-r": StyleGAN3Synthesis}

__all__ = ["DiscriminatorConfig", "GeneratorConfig", "MappingConfig", "StyleGAN1SynthesisConfig",
           "StyleGAN2SynthesisConfig", "StyleGAN3SynthesisConfig", "StyleGAN3RSynthesisConfig", "Discriminator",
           "Generator", "MappingNetwork", "truncate", "tracking_emas", "SYNTHESIS_NETWORKS"]
