"""Weight-only terms cached on the weight (nn/weight_cache.py): reused while the weight is unchanged, recomputed after
any in-place change, never cached where autograd must see the computation, and never mixing inference tensors into
autograd graphs."""

import torch

from stylegan.models import Generator, GeneratorConfig, MappingConfig, StyleGAN2SynthesisConfig
from stylegan.nn import use_impl
from stylegan.nn import weight_cache


def test_cached_until_the_weight_changes():
    w = torch.nn.Parameter(torch.randn(4, 3, 3, 3))
    calls = []

    def energy(v):
        calls.append(1)
        return v.square().sum(dim=[2, 3])

    with torch.no_grad():
        a = weight_cache.derived(w, "e", energy)
        assert weight_cache.derived(w, "e", energy) is a and len(calls) == 1
        w.mul_(2)  # An optimizer step / load_state_dict: in place, bumps the version counter.
        b = weight_cache.derived(w, "e", energy)
    assert len(calls) == 2 and torch.allclose(b, 4 * a)
    w.data = torch.randn(4, 3, 3, 3)  # New storage, same tensor object.
    with torch.no_grad():
        assert torch.allclose(weight_cache.derived(w, "e", energy), w.square().sum(dim=[2, 3]))
    assert len(calls) == 3


def test_not_cached_when_autograd_records():
    w = torch.nn.Parameter(torch.randn(4, 3, 3, 3))
    e = weight_cache.derived(w, "e", lambda v: v.square().sum(dim=[2, 3]))
    assert e.requires_grad and not hasattr(w, weight_cache.ATTR)
    (g,) = torch.autograd.grad(e.sum(), w)
    assert torch.allclose(g, 2 * w)
    frozen = torch.randn(4, 3, 3, 3)  # Grad mode on, weight frozen (training's other network): computed, not kept.
    weight_cache.derived(frozen, "e", lambda v: v.square().sum(dim=[2, 3]))
    assert not hasattr(frozen, weight_cache.ATTR)


def _generator():
    torch.manual_seed(0)
    return Generator(GeneratorConfig(z_dim=32, w_dim=32, img_resolution=16, mapping=MappingConfig(num_layers=1),
                                     synthesis=StyleGAN2SynthesisConfig(channel_base=512, channel_max=32))).eval()


def test_generator_reuses_terms_and_sees_weight_updates():
    G = _generator()
    z = torch.randn(2, 32)
    with use_impl("fast"), torch.inference_mode():
        first = G(z, None, noise_mode="const")
        cached = dict(getattr(G.synthesis.b16.conv0.weight, weight_cache.ATTR))
        assert ("up", 1, False) in cached and "kernel_energy" in cached  # Up-sampling conv and demodulation terms.
        assert torch.equal(G(z, None, noise_mode="const"), first)
    with torch.no_grad():
        for p in G.synthesis.parameters():
            p.mul_(1.1)
    with use_impl("fast"), torch.inference_mode():
        updated = G(z, None, noise_mode="const")
    with use_impl("ref"), torch.inference_mode():
        ref = G(z, None, noise_mode="const")
    assert not torch.allclose(updated, first)
    assert (updated - ref).abs().max() < 1e-4


def test_inference_cache_does_not_leak_into_autograd():
    """Projection: run inference first, then optimize w through the frozen generator (styles need grad)."""
    G = _generator().requires_grad_(False)
    with use_impl("fast"):
        with torch.inference_mode():
            G(torch.randn(1, 32), None, noise_mode="const")
        ws = G.mapping(torch.randn(1, 32), None).detach().requires_grad_(True)
        img = G.synthesis(ws, noise_mode="const")
        (g,) = torch.autograd.grad(img.square().sum(), ws)
    with use_impl("ref"):
        (g_ref,) = torch.autograd.grad(G.synthesis(ws, noise_mode="const").square().sum(), ws)
    assert (g - g_ref).abs().max() < 1e-5 * g_ref.abs().max()


def test_changes_through_data_need_clear():
    """`.data` bypasses the version counter (documented blind spot); clear() makes the change visible."""
    G = _generator()
    z = torch.randn(1, 32)
    with use_impl("fast"), torch.inference_mode():
        before = G(z, None, noise_mode="const")
        for p in G.synthesis.parameters():
            p.data.mul_(1.5)
        stale = G(z, None, noise_mode="const")
        weight_cache.clear(G)
        fresh = G(z, None, noise_mode="const")
    with use_impl("ref"), torch.inference_mode():
        ref = G(z, None, noise_mode="const")
    assert (fresh - ref).abs().max() < 1e-4
    assert (stale - ref).abs().max() > 1e-3  # What the docstring warns about (if this fails, the note can go).
    assert not torch.equal(before, fresh)
