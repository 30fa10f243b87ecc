"""Networks called in grad mode with nothing that requires grad run as under no_grad (nn/frozen.py): the same output
and the inference caches; wherever a graph could be wanted (a trainable parameter, an input that requires grad, a
forward hook) they record it as before."""

import torch

from stylegan.models import Discriminator, Generator
from stylegan.nn import use_impl, weight_cache
from tiny import tiny_discriminator_config, tiny_generator_config, tiny_sg3_config


def _frozen_generator(config=None):
    torch.manual_seed(0)
    return Generator(config or tiny_generator_config()).eval().requires_grad_(False)


def _caches(G) -> int:
    return sum(weight_cache.ATTR in p.__dict__ for p in G.parameters())


def test_frozen_generator_in_grad_mode_runs_as_under_no_grad():
    for config in (tiny_generator_config(), tiny_sg3_config()):
        G = _frozen_generator(config)
        z = torch.randn(2, G.z_dim)
        with use_impl("fast"):
            img = G(z, None, noise_mode="const")  # Grad mode on, as official-style scripts call it.
            assert not img.requires_grad and img.grad_fn is None
            assert _caches(G) > 0  # The weight cache, which grad mode alone would have left out, was used.
            with torch.no_grad():
                assert torch.equal(G(z, None, noise_mode="const"), img)
            ws = G.mapping(z, None)
            assert torch.equal(G.synthesis(ws, noise_mode="const"), img)


def test_graph_recorded_where_a_gradient_could_be_wanted():
    G = _frozen_generator()
    z = torch.randn(2, G.z_dim)
    with use_impl("fast"):
        ws = G.mapping(z, None).requires_grad_(True)  # Projection: frozen G, optimized ws.
        img = G.synthesis(ws, noise_mode="const")
        assert img.requires_grad
        assert torch.autograd.grad(img.square().sum(), ws)[0].abs().sum() > 0

        G.synthesis.b16.conv1.weight.requires_grad_(True)  # One trainable parameter.
        img = G(z, None, noise_mode="const")
        img.square().sum().backward()
        assert G.synthesis.b16.conv1.weight.grad.abs().sum() > 0
        G.requires_grad_(False)

        def make_leaf(module, inputs, output):  # A hook asking for gradients of an intermediate activation.
            return output.detach().requires_grad_(True)

        handle = G.synthesis.b8.conv1.register_forward_hook(make_leaf)
        try:
            assert G(z, None, noise_mode="const").requires_grad
        finally:
            handle.remove()


def test_frozen_discriminator_passes_gradients_to_its_input():
    """The generator phase of training: D frozen, its input (the fakes) requires grad."""
    torch.manual_seed(0)
    D = Discriminator(tiny_discriminator_config()).requires_grad_(False)
    img = torch.randn(2, 3, 16, 16, requires_grad=True)
    (g,) = torch.autograd.grad(D(img, None).sum(), img)
    assert g.abs().sum() > 0
    with torch.no_grad():
        expected = D(img, None)
    assert torch.equal(D(img.detach(), None), expected)  # Nothing requires grad: no_grad's result.
