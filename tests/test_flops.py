"""FLOP counter: exact on a single convolution, linear in the batch, and consistent with the training-step
composition (G main = 3 G + 2 D forward costs: forward + backward of G, forward + input-gradient of D)."""

import pytest
import torch
from tiny import tiny_discriminator_config, tiny_generator_config

from stylegan.flops import count_flops, discriminator_flops, generator_flops, training_flops
from stylegan.models import Discriminator, Generator


def test_single_convolution_is_exact():
    w = torch.randn(5, 4, 3, 3)
    flops = count_flops(lambda x: torch.nn.functional.conv2d(x, w, padding=1), (2, 4, 8, 8))
    assert flops == 2 * 2 * 5 * 4 * 9 * 8 * 8  # 2 FLOPs per multiply-accumulate.


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(0)
    G = Generator(tiny_generator_config())
    D = Discriminator(tiny_discriminator_config(mbstd_group_size=2))
    return G, D


def test_forward_counts(nets):
    G, D = nets
    g1, d1 = generator_flops(G, 1), discriminator_flops(D, 1)
    assert generator_flops(G, 4) == 4 * g1 and discriminator_flops(D, 4) == 4 * d1
    # Lower bound: the 3x3 convolutions at full resolution (conv1 of every block), 2 FLOPs per MAC.
    conv1 = sum(2 * b.conv1.weight.numel() * b.resolution**2 for b in G.synthesis.blocks())
    assert conv1 < g1 < 3 * conv1
    assert not any(hasattr(p, "_stylegan_cache") for p in G.parameters())  # Counting runs no real kernels.


def test_training_step_composition(nets):
    G, D = nets
    g1, d1 = generator_flops(G, 1), discriminator_flops(D, 1)
    t = training_flops(G, D, batch=4)
    assert t["Gmain"] == pytest.approx(4 * (3 * g1 + 2 * d1), rel=0.1)
    assert t["Dmain"] == pytest.approx(4 * (g1 + 6 * d1), rel=0.1)
    assert t["Dreg"] > 4 * 3 * d1 and t["Greg"] > 2 * 3 * g1  # Double backward costs more than one backward.
    assert t["step_avg"] == pytest.approx(t["Gmain"] + t["Dmain"] + t["Dreg"] / 16 + t["Greg"] / 4)


def test_training_step_with_clamped_activations():
    """With conv_clamp (the official configs' 256), CPU training checks whether a clamp can be skipped by reading the
    values; on the shape-only tensors of the counter there are none, so the clamp is counted as run."""
    G = Generator(tiny_generator_config(synthesis={"conv_clamp": 256}))
    D = Discriminator(tiny_discriminator_config(mbstd_group_size=2, conv_clamp=256))
    t = training_flops(G, D, batch=2)
    assert t["Gmain"] > 0 and t["Dreg"] > 0


def test_counting_leaves_the_cpu_allocator_alone():
    """The fast path tunes glibc's allocator at its first real CPU layer (nn/perf.py); the shape-only tensors of the
    FLOP counter allocate nothing and must not (a benchmark of the ref path would otherwise run tuned)."""
    import os
    import subprocess
    import sys
    code = ("from tiny import tiny_generator_config\n"
            "from stylegan.flops import generator_flops\nfrom stylegan.models import Generator\n"
            "from stylegan.nn import perf\n"
            "assert generator_flops(Generator(tiny_generator_config()), 2) > 0\n"
            "print(perf.cpu_allocator_tuned())\n"
            "import torch\nG = Generator(tiny_generator_config()).eval()\n"
            "with torch.no_grad():\n    G(torch.randn(1, G.z_dim), None)\n"
            "print(perf.cpu_allocator_tuned())\n")
    env = {k: v for k, v in os.environ.items() if k != "STYLEGAN_TUNE_MALLOC"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=os.path.dirname(__file__),
                       env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["False", "True"]
