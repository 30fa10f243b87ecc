"""impl="fast" equals impl="ref" (DESIGN R6): values, gradients, and the second-order gradients that R1 (through D)
and path-length regularization (through G) need. float64 where the comparison is of the math, float32 for networks."""

import math

import pytest
import torch
from tiny import assert_close, tiny_discriminator_config, tiny_generator_config

from stylegan.nn import EqualizedConv2d, bias_act, conv2d_resample, setup_filter, upfirdn2d, use_impl
from stylegan.nn.impl import get_impl, resolve, set_impl
from stylegan.nn.modconv import modulated_conv2d, modulated_layer

D64 = dict(dtype=torch.float64)


def grads(fn, inputs, create_graph=False):
    """Output and the gradient of <output, fixed random cotangent> w.r.t. inputs."""
    y = fn(*inputs)
    g = torch.randn(y.shape, generator=torch.Generator().manual_seed(1), dtype=y.dtype)
    return y, torch.autograd.grad((y * g).sum(), inputs, create_graph=create_graph)


def test_switch_and_context_manager():
    before = get_impl()
    with use_impl("ref"):
        assert resolve(None) == "ref" and resolve("fast") == "fast"
        with use_impl("fast"):
            assert get_impl() == "fast"
        assert get_impl() == "ref"
    assert get_impl() == before
    with pytest.raises(ValueError):
        resolve("cuda")
    set_impl(before)


FIR_CASES = [  # (filter, up, down, padding)
    ("4x4", 1, 1, (1, 2, 2, 1)),
    ("4x4", 2, 1, (2, 1, 2, 1)),
    ("4x4", 1, 2, (1, 1, 1, 1)),
    ("4x4", 2, 2, (2, 2, 1, 1)),
    ("sep12", 2, 1, (6, 5, 6, 5)),  # ADA's 2x upsampling with the sym6 wavelet.
    ("sep12", 1, 2, (-1, -1, -1, -1)),  # ... and its cropped downsampling.
    ("3x2", 3, 1, (-1, 2, 3, -2)),
    ("sep5", (2, 1), (1, 2), (5, 4, 0, 3)),
    (None, 2, 1, (0, 1, 1, 0)),
]


@pytest.mark.parametrize("name,up,down,pad", FIR_CASES)
@pytest.mark.parametrize("flip", [False, True])
def test_upfirdn2d(name, up, down, pad, flip):
    torch.manual_seed(0)
    f = {"4x4": torch.randn(4, 4, **D64), "sep12": torch.randn(12, **D64), "3x2": torch.randn(3, 2, **D64),
         "sep5": torch.randn(5, **D64), None: None}[name]
    x = torch.randn(2, 3, 15, 17, **D64, requires_grad=True)
    fn = lambda impl: lambda x: upfirdn2d(x, f, up=up, down=down, padding=pad, flip_filter=flip, gain=1.7, impl=impl)
    y_ref, (g_ref,) = grads(fn("ref"), [x])
    y_fast, (g_fast,) = grads(fn("fast"), [x])
    assert_close(y_fast, y_ref, 1e-12)
    assert_close(g_fast, g_ref, 1e-12)


@pytest.mark.parametrize("name,up,down,pad", [FIR_CASES[1], FIR_CASES[2], FIR_CASES[5], FIR_CASES[7]])
def test_upfirdn2d_fast_second_order(name, up, down, pad):
    """The fast FIR's backward is its own adjoint op (custom autograd Function): check derivatives numerically."""
    torch.manual_seed(0)
    f = torch.randn({"4x4": (4, 4), "sep12": (12,), "sep5": (5,)}[name], **D64)
    x = torch.randn(1, 1, 15, 14, **D64, requires_grad=True)
    fn = lambda x: upfirdn2d(x, f, up=up, down=down, padding=pad, impl="fast")
    assert torch.autograd.gradcheck(fn, [x])
    assert torch.autograd.gradgradcheck(fn, [x])


@pytest.mark.parametrize("k,up,down", [(3, 1, 1), (3, 2, 1), (3, 1, 2), (1, 2, 1), (1, 1, 2), (1, 1, 1)])
def test_conv2d_resample_with_bias(k, up, down):
    torch.manual_seed(0)
    x = torch.randn(2, 4, 8, 8, **D64, requires_grad=True)
    w = torch.randn(5, 4, k, k, **D64, requires_grad=True)
    b = torch.randn(5, **D64, requires_grad=True)
    f = setup_filter([1, 3, 3, 1]).double()
    fn = lambda impl: lambda x, w, b: conv2d_resample(x, w, f, up=up, down=down, padding=k // 2,
                                                      flip_weight=(up == 1), bias=b, impl=impl)
    y_ref, g_ref = grads(fn("ref"), [x, w, b])
    y_fast, g_fast = grads(fn("fast"), [x, w, b])
    assert_close(y_fast, y_ref, 1e-12)
    for a, r in zip(g_fast, g_ref):
        assert_close(a, r, 1e-12)


@pytest.mark.parametrize("act,gain,clamp", [("lrelu", None, None), ("lrelu", 0.7, 0.5), ("linear", 2.0, 0.3),
                                            ("relu", None, 1.0), ("tanh", None, None)])
def test_bias_act(act, gain, clamp):
    torch.manual_seed(0)
    x = torch.randn(3, 5, 4, 4, **D64, requires_grad=True)
    b = torch.randn(5, **D64, requires_grad=True)
    fn = lambda impl: lambda x, b: bias_act(x, b, act=act, gain=gain, clamp=clamp, impl=impl)
    y_ref, g_ref = grads(fn("ref"), [x, b])
    y_fast, g_fast = grads(fn("fast"), [x, b])
    assert_close(y_fast, y_ref, 1e-12)
    for a, r in zip(g_fast, g_ref):
        assert_close(a, r, 1e-12)


@pytest.mark.parametrize("clamp,expect_clamp_op", [(50.0, False), (2.0, True)])
def test_lrelu_clamp_skips_an_inactive_clamp_exactly(monkeypatch, clamp, expect_clamp_op):
    """With autograd on CPU the fast path leaves out a clamp that no value reaches (values and gradients unchanged),
    and keeps it when some values are clamped."""
    import torch.nn.functional as F

    calls = []
    hardtanh = F.hardtanh
    monkeypatch.setattr(F, "hardtanh", lambda *a, **k: calls.append(1) or hardtanh(*a, **k))
    torch.manual_seed(0)
    x = torch.randn(2, 3, 5, 5, **D64, requires_grad=True)
    b = torch.randn(3, **D64, requires_grad=True)
    fn = lambda impl: lambda x, b: bias_act(x, b, act="lrelu", clamp=clamp, impl=impl)
    y_ref, g_ref = grads(fn("ref"), [x, b])
    calls.clear()
    y_fast, g_fast = grads(fn("fast"), [x, b])
    assert bool(calls) == expect_clamp_op
    assert_close(y_fast, y_ref, 1e-12)
    for a, r in zip(g_fast, g_ref):
        assert_close(a, r, 1e-12)
    empty = torch.zeros([0, 3, 5, 5], **D64, requires_grad=True)  # An empty batch has nothing to check.
    assert bias_act(empty, b, act="lrelu", clamp=clamp, impl="fast").shape == empty.shape


@pytest.mark.parametrize("lo,hi,inside", [(-5.0, 5.0, True), (-5.0, 0.5, False), (-0.5, 5.0, False)])
def test_inactive_clamp_check_reads_channels_last_in_place(lo, hi, inside):
    """The check reads channels-last activations (the fast path's layout) where they lie: no NCHW copy of a
    full activation per layer, and the same answer as on the contiguous tensor."""
    from torch.profiler import ProfilerActivity, profile

    from stylegan.nn.bias_act import _strictly_inside

    x = torch.randn(2, 8, 6, 6).clamp(-3, 3)
    x[0, 1, 2, 3], x[1, 7, 5, 0] = 2.9, -2.9
    x_cl = x.contiguous(memory_format=torch.channels_last)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        got = _strictly_inside(x_cl, lo, hi)
    assert got == _strictly_inside(x, lo, hi) == inside
    copies = [e.name for e in prof.events() if e.name in ("aten::clone", "aten::copy_", "aten::contiguous")]
    assert not copies, copies


LAYER_CASES = [  # (N, k, up, demodulate, with noise, act, clamp)
    (3, 3, 1, True, True, "lrelu", 0.8),
    (3, 3, 2, True, True, "lrelu", None),
    (1, 3, 1, True, True, "lrelu", None),  # N = 1: the per-sample-weight (fused) form.
    (1, 3, 2, True, False, "lrelu", 0.5),
    (3, 1, 1, False, False, "linear", 0.5),  # ToRGB: batched matmul.
    (2, 1, 1, True, True, "lrelu", None),  # 1x1 with noise (StyleGAN3-R style layers).
]


@pytest.mark.parametrize("N,k,up,demod,with_noise,act,clamp", LAYER_CASES)
def test_modulated_layer_double_backward(N, k, up, demod, with_noise, act, clamp):
    """Values, first and second derivatives (the path-length penalty differentiates a gradient)."""
    torch.manual_seed(0)
    x = torch.randn(N, 6, 8, 8, **D64, requires_grad=True)
    weight = torch.randn(4, 6, k, k, **D64, requires_grad=True)
    styles = (torch.randn(N, 6, **D64) + 1).requires_grad_(True)
    bias = torch.randn(4, **D64, requires_grad=True)
    noise = torch.randn(N, 1, 8 * up, 8 * up, **D64) * 0.3 if with_noise else None
    f = setup_filter([1, 3, 3, 1]).double()

    def fn(impl):
        def layer(x, weight, styles, bias):
            return modulated_layer(x, weight, styles, bias, noise=noise, up=up, padding=k // 2, resample_filter=f,
                                   demodulate=demod, flip_weight=(up == 1), fused_modconv=False, act=act,
                                   gain=math.sqrt(2), clamp=clamp, impl=impl)
        return layer

    inputs = [x, weight, styles, bias]
    out = {}
    for impl in ("ref", "fast"):
        y, g = grads(fn(impl), inputs, create_graph=True)
        gg = torch.autograd.grad(sum((t.square().sum() for t in g[:3])), inputs[:3])  # Second order.
        out[impl] = (y, g, gg)
    assert_close(out["fast"][0], out["ref"][0], 1e-10)
    for a, r in zip(out["fast"][1] + out["fast"][2], out["ref"][1] + out["ref"][2]):
        assert_close(a, r, 1e-9)


def test_modulated_conv2d_fast_matches_both_ref_forms():
    torch.manual_seed(0)
    x, w, s = torch.randn(3, 8, 8, 8), torch.randn(6, 8, 3, 3), torch.randn(3, 8) + 1
    kw = dict(noise=torch.randn(3, 1, 16, 16), up=2, padding=1, resample_filter=setup_filter([1, 3, 3, 1]),
              flip_weight=False)
    fast = modulated_conv2d(x, w, s, impl="fast", **kw)
    for fused in (True, False):
        assert_close(fast, modulated_conv2d(x, w, s, fused_modconv=fused, impl="ref", **kw), 1e-5)


@pytest.mark.parametrize("up,down,k,act", [(1, 1, 3, "lrelu"), (1, 2, 3, "lrelu"), (1, 2, 1, "linear"),
                                           (2, 1, 1, "linear")])
def test_equalized_conv2d(up, down, k, act):
    torch.manual_seed(0)
    layer = EqualizedConv2d(4, 6, k, bias=(act != "linear"), activation=act, up=up, down=down, conv_clamp=0.9).double()
    with torch.no_grad():
        if layer.bias is not None:
            layer.bias.normal_()
    x = torch.randn(2, 4, 8, 8, **D64, requires_grad=True)
    out = {}
    for impl in ("ref", "fast"):
        with use_impl(impl):
            out[impl] = grads(lambda x: layer(x, gain=0.7), [x])
    assert_close(out["fast"][0], out["ref"][0], 1e-12)
    assert_close(out["fast"][1][0], out["ref"][1][0], 1e-12)


# ---------------------------------------------------------------------------------------------------------------------
# Whole networks: what training differentiates.


def _params_grads(module, loss):
    params = [p for p in module.parameters() if p.requires_grad]
    return torch.autograd.grad(loss, params, allow_unused=True)


@pytest.mark.parametrize("arch", ["skip", "resnet"])
def test_generator_values_grads_and_path_length(arch):
    from tiny import tiny_generator_config

    from stylegan.models import Generator
    from stylegan.train.losses import path_length

    torch.manual_seed(0)
    G = Generator(tiny_generator_config(synthesis={"architecture": arch, "conv_clamp": 256})).train()
    z = torch.randn(4, G.z_dim)
    out = {}
    for impl in ("ref", "fast"):
        with use_impl(impl):
            torch.manual_seed(1)
            ws = G.mapping(z, None)
            img = G.synthesis(ws, noise_mode="random")
            g_main = _params_grads(G, img.square().mean())
            torch.manual_seed(2)
            ws = G.mapping(z, None)
            img = G.synthesis(ws, noise_mode="const")
            lengths = path_length(img, ws)  # create_graph=True: the penalty's gradient is second order.
            g_pl = _params_grads(G, lengths.square().mean())
            with torch.no_grad():
                eval_img = G.eval()(z, None, noise_mode="const")
            G.train()
            out[impl] = (img, eval_img, g_main, lengths, g_pl)
    (img_f, eval_f, gm_f, len_f, gpl_f), (img_r, eval_r, gm_r, len_r, gpl_r) = out["fast"], out["ref"]
    assert_close(img_f, img_r, 1e-5)
    assert_close(eval_f, eval_r, 1e-5)
    assert_close(len_f, len_r, 1e-5)
    for a, r in zip(gm_f + gpl_f, gm_r + gpl_r):  # None = unused = zero (the fast graph may give explicit zeros).
        if a is not None or r is not None:
            assert_close(a if a is not None else torch.zeros_like(r), r if r is not None else torch.zeros_like(a), 1e-4)


@pytest.mark.parametrize("arch", ["resnet", "skip", "orig"])
def test_discriminator_values_and_r1(arch):
    from stylegan.models import Discriminator
    from stylegan.train.losses import gradient_penalty

    torch.manual_seed(0)
    D = Discriminator(tiny_discriminator_config(architecture=arch, conv_clamp=256, mbstd_group_size=2))
    img = torch.randn(4, 3, 16, 16)
    out = {}
    for impl in ("ref", "fast"):
        with use_impl(impl):
            real = img.clone().requires_grad_(True)
            logits = D(real)
            r1 = gradient_penalty(real, logits)  # grad w.r.t. the input with create_graph=True ...
            out[impl] = (logits, r1, _params_grads(D, logits.sum() + r1.sum()))  # ... then its parameter gradient.
    assert_close(out["fast"][0], out["ref"][0], 1e-5)
    assert_close(out["fast"][1], out["ref"][1], 1e-4)
    for a, r in zip(out["fast"][2], out["ref"][2]):
        assert_close(a, r, 1e-4)


def test_augment_pipe_fast_equals_ref():
    from stylegan.train.augment import AugmentPipe, augment_config

    pipe = AugmentPipe(augment_config("bgcfnc"))
    pipe.p.fill_(0.8)
    img = torch.randn(2, 3, 32, 32)
    out = {}
    for impl in ("ref", "fast"):
        with use_impl(impl):
            torch.manual_seed(3)
            x = img.clone().requires_grad_(True)
            y = pipe(x)
            out[impl] = (y, torch.autograd.grad(y.square().sum(), x)[0])
    assert_close(out["fast"][0], out["ref"][0], 1e-5)
    assert_close(out["fast"][1], out["ref"][1], 1e-4)


@pytest.mark.parametrize("arch", ["stylegan3-t", "stylegan3-r"])
def test_stylegan3_values_and_grads(arch):
    from tiny import tiny_sg3_config

    from stylegan.models import Generator

    torch.manual_seed(0)
    G = Generator(tiny_sg3_config(arch)).train()
    z = torch.randn(2, G.z_dim)
    out = {}
    for impl in ("ref", "fast"):
        with use_impl(impl):
            ws = G.mapping(z, None)
            img = G.synthesis(ws)
            out[impl] = (img, _params_grads(G, img.square().mean()))
    assert_close(out["fast"][0], out["ref"][0], 1e-5)
    for a, r in zip(out["fast"][1], out["ref"][1]):
        if a is not None or r is not None:
            assert_close(a, r, 1e-4)


@pytest.mark.parametrize("shape,padding", [((2, 128, 128, 8, 8), 1), ((1, 128, 256, 9, 7), 2),
                                           ((1, 160, 128, 5, 6), 0), ((2, 181, 139, 7, 9), 1)])  # O padded to 144.
@pytest.mark.parametrize("gemms", ["onednn", "bmm"])
def test_winograd_conv(shape, padding, gemms, monkeypatch):
    """F(4x4, 3x3) Winograd (CPU inference on >= 128 channels) against the direct convolution, its GEMMs with packed
    oneDNN weights or as torch.bmm."""
    from stylegan.nn import onednn
    from stylegan.nn.winograd import conv2d_winograd

    if gemms == "bmm" or not onednn.available():
        monkeypatch.setattr(onednn, "_available", False)

    N, I, O, H, W = shape
    torch.manual_seed(0)
    x, w = torch.randn(N, I, H, W), torch.randn(O, I, 3, 3) / (I * 9) ** 0.5
    with torch.no_grad():
        assert_close(conv2d_winograd(x, w, padding), torch.nn.functional.conv2d(x, w, padding=padding), 3e-5)
        assert_close(conv2d_winograd(x, w, padding), torch.nn.functional.conv2d(x, w, padding=padding), 3e-5)  # Cached.
        w.mul_(2)  # In-place change: the cached transform must be recomputed.
        assert_close(conv2d_winograd(x, w, padding), torch.nn.functional.conv2d(x, w, padding=padding), 3e-5)


@pytest.fixture
def avx2_thresholds(monkeypatch):
    """Winograd's thresholds as on an AVX2 CPU (where it pays from 128 channels), whatever this CPU is."""
    from stylegan.nn import winograd

    monkeypatch.setattr(winograd, "MIN_CHANNELS", 128)
    monkeypatch.setattr(winograd, "MIN_PIXELS_WITH_ONEDNN", 256)


def test_winograd_is_chosen_for_wide_layers_with_enough_pixels(monkeypatch, avx2_thresholds):
    from stylegan.nn import onednn
    from stylegan.nn.impl import direct_convolutions
    from stylegan.nn.winograd import applicable

    w = torch.randn(128, 128, 3, 3)
    big, small = torch.randn(1, 128, 16, 16), torch.randn(2, 128, 8, 8)  # 256 and 128 output pixels.
    with torch.no_grad():
        assert applicable(big, w, 1, 1, False)
        assert not applicable(torch.randn(1, 64, 16, 16), torch.randn(64, 64, 3, 3), 1, 1, False)  # Too narrow.
        assert not applicable(big, w, 2, 1, False) and not applicable(big, w, 1, 1, True)
        assert applicable(small, w, 1, 1, False) == (not onednn.available())  # Prepacked direct conv is faster.
        monkeypatch.setattr(onednn, "_available", False)
        assert applicable(small, w, 1, 1, False)  # Without prepacked weights, Winograd beats the plain conv there.
        with direct_convolutions():
            assert not applicable(big, w, 1, 1, False)
    assert not applicable(big, w.requires_grad_(True), 1, 1, False)  # Training goes through autograd-able convs.


def test_winograd_thresholds_with_avx512(monkeypatch):
    """With AVX-512 oneDNN's direct kernels are twice as fast: Winograd only from 256 channels and 1024 pixels."""
    from stylegan.nn import onednn, winograd

    monkeypatch.setattr(winograd, "MIN_CHANNELS", winograd.THRESHOLDS["AVX512"][0])
    monkeypatch.setattr(winograd, "MIN_PIXELS_WITH_ONEDNN", winograd.THRESHOLDS["AVX512"][1])
    w = torch.randn(256, 256, 3, 3)
    with torch.no_grad():
        assert winograd.applicable(torch.randn(1, 256, 32, 32), w, 1, 1, False)
        assert winograd.applicable(torch.randn(2, 256, 16, 16), w, 1, 1, False) == (not onednn.available())
        assert not winograd.applicable(torch.randn(2, 128, 64, 64), torch.randn(128, 128, 3, 3), 1, 1, False)


def test_wide_generator_inference_uses_winograd_and_matches_ref(avx2_thresholds):
    from stylegan.models import Generator
    from stylegan.nn import onednn

    torch.manual_seed(0)
    G = Generator(tiny_generator_config(synthesis=dict(channel_base=2048, channel_max=128))).eval()  # 128 ch at 16².
    z = torch.randn(2, G.z_dim)
    with torch.no_grad():
        with use_impl("ref"):
            ref = G(z, None, noise_mode="const")
        with use_impl("fast"):
            fast = [G(z, None, noise_mode="const") for _ in range(2)]  # oneDNN packs weights on their second use.
    cached = getattr(G.synthesis.b16.conv1.weight, "_stylegan_cache", {})  # 128 channels, 2x16x16: Winograd, its
    assert ("onednn-bmm", "winograd") in cached if onednn.available() else "winograd" in cached  # GEMMs packed.
    if onednn.available():  # Fewer pixels (2x8x8) and the up-sampling convolution: prepacked oneDNN weights.
        for layer in (G.synthesis.b8.conv1, G.synthesis.b16.conv0):
            cached = [v for k, v in _all_cached(layer.weight) if k[0] == "onednn" and k[-1] != "seen"]
            assert len(cached) == 1 and cached[0].layout == torch._mkldnn
    for img in fast:
        assert_close(img, ref, 1e-4)


def _all_cached(w):
    """(name, value) of every term cached on w and on the terms derived from it."""
    for name, (_, value) in getattr(w, "_stylegan_cache", {}).items():
        yield name, value
        if value.layout == torch.strided and value is not w:  # (A derived copy may be w itself.)
            yield from _all_cached(value)
