"""Speed options (nn/perf.py, DESIGN R6): option parsing, the torch.compile fallback and compiled networks against
eager, and the CUDA precision options (STYLEGAN_AUTOCAST, the official FP16 layers) with the CPU standing in for CUDA,
which runs their code paths here: results within BF16 / FP16 rounding of FP32. Training runs with these options:
tests/train/test_training.py."""

import pytest
import torch
from tiny import assert_close, tiny_discriminator_config, tiny_generator_config, tiny_sg3_config

from stylegan.nn import perf, use_impl


def test_speed_options_from_environment(monkeypatch):
    monkeypatch.setenv("STYLEGAN_AUTOCAST", "bf16")
    monkeypatch.setenv("STYLEGAN_COMPILE", "1")
    s = perf.Speed.from_env()
    assert (s.autocast, s.compile, s.tf32) == ("bf16", "default", False)
    assert perf.Speed.from_env().for_device(torch.device("cpu")) == perf.Speed()  # Nothing applies on CPU.
    monkeypatch.setenv("STYLEGAN_COMPILE", "reduce-overhead")
    with pytest.raises(ValueError):
        perf.Speed.from_env()


def test_compiled_falls_back_to_eager():
    def boom(x):
        raise RuntimeError("no compiler here")

    c = perf.Compiled(lambda x: x + 1, "default", "f")
    c._compile = lambda: boom
    with pytest.warns(UserWarning, match="running it eagerly"):
        assert c(1) == 2
    assert c.failed and c(2) == 3


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Raised inside torch's own compile stack, not ours.
def test_compiled_networks_match_eager():
    """torch.compile (CPU inductor) of the fast D and G synthesis gives the eager results (~10 s to compile here)."""
    from stylegan.models import Discriminator, Generator

    torch.manual_seed(0)
    G = Generator(tiny_generator_config(synthesis={"conv_clamp": 256}))
    D = Discriminator(tiny_discriminator_config(conv_clamp=256))
    ws, img = G.mapping(torch.randn(4, G.z_dim), None), torch.randn(4, 3, 16, 16)
    with use_impl("fast"):
        for module, args in ((G.synthesis, (ws,)), (D, (img,))):
            compiled = perf.CompiledModule(module, "default", "test")
            torch.manual_seed(1)
            a = module(*args)
            torch.manual_seed(1)
            assert_close(compiled(*args), a, 1e-5)
            assert not compiled._run.failed


# The CUDA speed option STYLEGAN_AUTOCAST runs the networks under autocast. CPU autocast (the same dtype rules for
# convolutions and matmuls) checks every code path for dtype handling here: results within BF16 / FP16 rounding.
@pytest.mark.parametrize("dtype,tol", [(torch.bfloat16, 0.05), (torch.float16, 0.01)])
@pytest.mark.parametrize("arch", ["stylegan2", "stylegan3-t", "stylegan3-r"])
@pytest.mark.parametrize("impl", ["ref", "fast"])
def test_networks_under_autocast_match_float32(impl, arch, dtype, tol):
    from stylegan.models import Discriminator, Generator

    torch.manual_seed(0)
    cfg = tiny_generator_config(synthesis={"conv_clamp": 256}) if arch == "stylegan2" else tiny_sg3_config(arch)
    G = Generator(cfg)
    D = Discriminator(tiny_discriminator_config(conv_clamp=256, mbstd_group_size=2))
    z = torch.randn(4, G.z_dim)
    params = [p for p in G.parameters() if p.requires_grad]
    with use_impl(impl):
        img = G(z, None, noise_mode="const")
        grad = torch.cat([g.flatten() for g in torch.autograd.grad(img.square().mean(), params)])
        logits = D(img.detach())
        with torch.autocast("cpu", dtype=dtype):  # force_fp32: no official FP16 layers inside the autocast.
            img_ac = G(z, None, noise_mode="const", force_fp32=True)
            logits_ac = D(img_ac.detach())
        grad_ac = torch.cat([g.flatten() for g in torch.autograd.grad(img_ac.float().square().mean(), params)])
    assert logits_ac.dtype == dtype  # Autocast was on (D ends in a linear layer).
    assert_close(img_ac.float(), img, tol)
    assert_close(logits_ac.float(), logits, 2 * tol)
    assert ((grad_ac - grad).norm() / grad.norm()).item() < 0.1  # (FP16 StyleGAN3: ~0.02)


@pytest.mark.parametrize("arch", ["stylegan2", "stylegan3-t", "stylegan3-r"])
@pytest.mark.parametrize("impl", ["ref", "fast"])
def test_fp16_layers_match_float32(monkeypatch, impl, arch):
    """The official mixed precision (FP16 in the top resolutions, conv_clamp 256) acts on CUDA only; with CPU
    standing in (models/layout.py FP16_DEVICES), its code runs here: G and D within FP16 rounding of force_fp32, and
    the gradients of the main losses, path length and R1 finite."""
    import dataclasses

    from stylegan.models import Discriminator, Generator, layout
    from stylegan.train.losses import gradient_penalty, path_length

    monkeypatch.setattr(layout, "FP16_DEVICES", ("cuda", "cpu"))
    torch.manual_seed(0)
    if arch == "stylegan2":
        cfg = tiny_generator_config(synthesis={"conv_clamp": 256, "num_fp16_res": 2})
    else:
        cfg = tiny_sg3_config(arch)
        cfg = dataclasses.replace(cfg, synthesis=dataclasses.replace(cfg.synthesis, num_fp16_res=2))
    G = Generator(cfg)
    D = Discriminator(tiny_discriminator_config(conv_clamp=256, mbstd_group_size=2, num_fp16_res=2))
    dtypes = []
    for m in [*G.synthesis.modules(), *D.modules()]:
        if getattr(m, "use_fp16", False):
            m.register_forward_hook(lambda m, args, out: dtypes.append(out[0].dtype))  # (x of (x, img), or x[0])
    z = torch.randn(4, G.z_dim)
    params = [p for p in [*G.parameters(), *D.parameters()] if p.requires_grad]
    with use_impl(impl):
        img32, img16 = G(z, None, noise_mode="const", force_fp32=True), G(z, None, noise_mode="const")
        assert dtypes and set(dtypes) == {torch.float32, torch.float16}  # FP16 layers ran in FP16 only without force.
        dtypes.clear()
        logits32, logits16 = D(img32.detach(), force_fp32=True), D(img16.detach())
        assert dtypes and set(dtypes) == {torch.float32, torch.float16}
        assert img16.dtype == logits16.dtype == torch.float32  # Outputs leave in FP32.
        assert_close(img16, img32, 0.01)
        assert_close(logits16, logits32, 0.01)
        ws = G.mapping(z, None)
        lengths = path_length(G.synthesis(ws, noise_mode="const"), ws)
        real = img32.detach().requires_grad_(True)
        logits = D(real)
        loss = logits16.sum() + D(img16).sum() + lengths.square().mean() + gradient_penalty(real, logits).sum()
        grads = [g for g in torch.autograd.grad(loss, params, allow_unused=True) if g is not None]
    assert len(grads) > len(params) // 2 and all(torch.isfinite(g).all() for g in grads)
