"""ADA augmentation pipe: identity at p = 0, geometry conventions, per-op probabilities, gradients of any order."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from stylegan.train import augment
from stylegan.train.augment import AUGMENT_PRESETS, AugmentConfig, AugmentPipe, augment_config, grid_sample_bilinear

BLIT = ["xflip", "rotate90", "xint"]
GEOM = ["scale", "rotate", "aniso", "xfrac"]
COLOR = ["brightness", "contrast", "lumaflip", "hue", "saturation"]
ALL_OPS = BLIT + GEOM + COLOR + ["imgfilter", "noise", "cutout"]


def make_pipe(p: float, preset: str | None = None, **multipliers: float) -> AugmentPipe:
    cfg = augment_config(preset) if preset else dataclasses.replace(AugmentConfig(), **multipliers)
    pipe = AugmentPipe(cfg)
    pipe.p.fill_(p)
    return pipe


def images(n=4, c=3, size=8, seed=0, dtype=torch.float32):
    return torch.rand([n, c, size, size], generator=torch.Generator().manual_seed(seed), dtype=dtype) * 2 - 1


def size_for(op: str) -> int:
    return 24 if op == "imgfilter" else 8  # The 43-tap filter bank needs reflect padding of 21 pixels.


def test_presets_contain_the_right_ops():
    expected = {"blit": BLIT, "geom": GEOM, "color": COLOR, "filter": ["imgfilter"], "noise": ["noise"],
                "cutout": ["cutout"], "bg": BLIT + GEOM, "bgc": BLIT + GEOM + COLOR,
                "bgcf": BLIT + GEOM + COLOR + ["imgfilter"], "bgcfn": BLIT + GEOM + COLOR + ["imgfilter", "noise"],
                "bgcfnc": ALL_OPS}
    assert {k: sorted(v) for k, v in AUGMENT_PRESETS.items()} == {k: sorted(v) for k, v in expected.items()}
    cfg = augment_config()  # Default preset: bgc.
    assert {op: getattr(cfg, op) for op in ALL_OPS} == {op: float(op in expected["bgc"]) for op in ALL_OPS}
    with pytest.raises(ValueError, match="bgcfnc"):
        augment_config("bgcx")


def test_config_and_filters_match_official_snapshot(official):
    from stylegan.models.safe_pickle import flatten_state_dict, safe_load

    with open(official / "snapshot-stylegan3-sg2.pkl", "rb") as f:
        stub = safe_load(f)["augment_pipe"]  # An official bgc pipe.
    ours = dataclasses.asdict(augment_config("bgc"))
    for name, value in ours.items():
        assert stub.state[name] == (list(value) if isinstance(value, tuple) else value), name
    buffers = flatten_state_dict(stub)
    pipe = AugmentPipe(augment_config("bgc"))
    torch.testing.assert_close(pipe.hz_geom, buffers["Hz_geom"], rtol=0, atol=1e-7)
    torch.testing.assert_close(pipe.hz_fbank, buffers["Hz_fbank"], rtol=0, atol=1e-7)
    assert list(pipe.state_dict()) == ["p"]


@pytest.mark.parametrize("op", ALL_OPS)
def test_identity_at_p0(op):
    x = images(size=size_for(op))
    assert torch.equal(make_pipe(0.0, **{op: 1.0})(x), x)
    # Gates that never open run the full machinery (wavelet resampling, filter bank at unit gains) as identity.
    torch.testing.assert_close(make_pipe(1e-12, **{op: 1.0})(x), x, rtol=0, atol=2e-5)


@pytest.mark.parametrize("ops", [[op] for op in BLIT + GEOM] + [BLIT + GEOM])
def test_geometric_ops_keep_a_constant_image_constant(ops):
    torch.manual_seed(1)
    out = make_pipe(1.0, **{op: 1.0 for op in ops})(torch.full([16, 3, 16, 16], 0.3))
    torch.testing.assert_close(out, torch.full_like(out, 0.3), rtol=0, atol=1e-5)


def smooth_images(n: int, size: int = 16) -> torch.Tensor:
    """Low-frequency RGB images (random phases), where resampling errors are small."""
    gen = torch.Generator().manual_seed(2)
    coords = torch.stack(torch.meshgrid(torch.arange(size) / size, torch.arange(size) / size, indexing="ij"))
    freqs, phases = torch.randn([n, 3, 2, 1, 1], generator=gen) * 0.5, torch.rand([n, 3, 1, 1], generator=gen) * 6.3
    return torch.sin(6.3 * (freqs * coords).sum(dim=2) + phases)


def nearest_variant(out: torch.Tensor, variants: list[torch.Tensor], crop: int = 0) -> tuple[int, list[float]]:
    s = slice(crop, out.shape[-1] - crop)
    errors = [(out - v)[..., s, s].abs().max().item() for v in variants]
    return errors.index(min(errors)), errors


def test_integer_translation_is_an_exact_blit():
    torch.manual_seed(2)
    x = images(n=32, size=16)  # Random pixels: any sub-pixel misalignment of the resampling would show.
    out = make_pipe(1.0, xint=1.0)(x)
    shifts = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)]  # xint_max * 16 = 2 pixels.
    chosen = set()
    for xi, yi in zip(x, out):
        k, errors = nearest_variant(yi, [torch.roll(xi, s, dims=(1, 2)) for s in shifts], crop=2)
        assert errors[k] < 1e-5, errors
        chosen.add(k)
    assert len(chosen) > 10


def test_xflip_and_rotate90_follow_torch_flip_and_rot90():
    # Not bit-exact: sym6 is not symmetric, so resampling a mirrored grid shifts it by a constant ~0.1 px (as in the
    # official pipe, which uses the same filters and coordinates); hence smooth images and a tolerance.
    torch.manual_seed(2)
    x = smooth_images(32)
    for op, variants in [("xflip", lambda v: [v, v.flip(2)]),
                         ("rotate90", lambda v: [torch.rot90(v, k, dims=(1, 2)) for k in range(4)])]:
        out = make_pipe(1.0, **{op: 1.0})(x)
        chosen = []
        for xi, yi in zip(x, out):
            k, errors = nearest_variant(yi, variants(xi))
            assert errors[k] < 0.1 and sorted(errors)[1] > 3 * errors[k] + 1e-3, (op, errors)
            chosen.append(k)
        assert set(chosen) == set(range(len(variants(x[0])))), (op, chosen)  # Every variant occurs.


# Fraction of samples changed when the op's multiplier is 0.5 and p = 0.8 (applied with probability 0.4). Flips and
# 90-degree rotations then pick the identity with probability 1/2 and 1/4; the 4 filter bands have their own gates.
PROBABILITIES = {op: 0.4 for op in ALL_OPS} | {"xflip": 0.2, "rotate90": 0.3, "lumaflip": 0.2, "imgfilter": 1 - 0.6**4}
del PROBABILITIES["xint"]  # A translation by up to +-0.125 * 8 px mostly rounds to 0; covered by the constant test.


@pytest.mark.parametrize("op", sorted(PROBABILITIES))
def test_probability_is_multiplier_times_p(op):
    n = 400 if op == "imgfilter" else 1000
    x = images(n=n, size=size_for(op), seed=3)
    torch.manual_seed(3)
    out = make_pipe(0.8, **{op: 0.5})(x)
    changed = ((out - x).flatten(1).abs().amax(dim=1) > 1e-4).float().mean().item()
    assert changed == pytest.approx(PROBABILITIES[op], abs=0.05)


def test_color_ops_keep_or_flip_luma():
    x = images(n=16)
    luma = x.mean(dim=1)
    for op in ["hue", "saturation"]:  # Rotations about / scaling orthogonal to the luma axis keep luma.
        torch.testing.assert_close(make_pipe(1.0, **{op: 1.0})(x).mean(dim=1), luma, rtol=0, atol=1e-5)
    out = make_pipe(1.0, lumaflip=1.0)(x).mean(dim=1)
    assert all(torch.allclose(o, l, atol=1e-5) or torch.allclose(o, -l, atol=1e-5) for o, l in zip(out, luma))
    shift = make_pipe(1.0, brightness=1.0)(x) - x  # One offset per image, the same for every channel and pixel.
    torch.testing.assert_close(shift, shift[:, :1, :1, :1].expand_as(shift), rtol=0, atol=1e-6)


def test_grayscale_and_rgba():
    torch.manual_seed(4)
    gray = images(c=1)
    assert torch.equal(make_pipe(1.0, hue=1.0, saturation=1.0)(gray), gray)  # Skipped for one channel.
    shift = make_pipe(1.0, brightness=1.0)(gray) - gray  # Mean RGB row of the color matrix: the same offset.
    torch.testing.assert_close(shift, shift[:, :, :1, :1].expand_as(shift), rtol=0, atol=1e-6)
    out = make_pipe(1.0, "bgc")(gray)
    assert out.shape == gray.shape and torch.isfinite(out).all()
    rgba = images(c=4)
    assert torch.equal(make_pipe(1.0, "color")(rgba)[:, 3], rgba[:, 3])  # Alpha is not color-augmented.
    with pytest.raises(ValueError, match="channels"):
        make_pipe(1.0, "color")(images(c=2))


@pytest.mark.parametrize("preset, dtype", [(k, torch.float32) for k in AUGMENT_PRESETS] + [("bgcfnc", torch.float64)])
def test_shape_dtype_and_determinism(preset, dtype):
    x = images(n=2, size=24, dtype=dtype)
    pipe = make_pipe(1.0, preset)
    torch.manual_seed(5)
    out = pipe(x)
    assert out.shape == x.shape and out.dtype == dtype and torch.isfinite(out).all()
    assert not torch.allclose(out, x)
    torch.manual_seed(5)
    assert torch.equal(pipe(x), out)  # All randomness comes from torch's global RNG.


def test_small_images_fail_loudly_for_imgfilter():
    with pytest.raises(ValueError, match="imgfilter needs images larger"):
        make_pipe(1.0, "filter")(images(size=16))


def test_gradients_reach_the_input():
    x = images(size=24).requires_grad_()
    torch.manual_seed(6)
    out = make_pipe(1.0, "bgcfnc")(x)
    (out * torch.randn_like(out)).sum().backward()
    assert torch.isfinite(x.grad).all() and (x.grad.flatten(1).abs().amax(dim=1) > 0).all()


def test_grid_sample_matches_torch_and_has_every_derivative():
    gen = torch.Generator().manual_seed(7)
    x = torch.randn([2, 2, 4, 5], dtype=torch.float64, generator=gen, requires_grad=True)
    grid = torch.rand([2, 3, 4, 2], dtype=torch.float64, generator=gen) * 2.6 - 1.3  # Some samples fall outside.
    ref = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    out = grid_sample_bilinear(x, grid)
    torch.testing.assert_close(out, ref)
    dy = torch.randn_like(out)
    torch.testing.assert_close(torch.autograd.grad(out, x, dy)[0], torch.autograd.grad(ref, x, dy)[0])
    assert torch.autograd.gradcheck(lambda v: grid_sample_bilinear(v, grid), (x,))
    assert torch.autograd.gradgradcheck(lambda v: grid_sample_bilinear(v, grid), (x,))
    with pytest.raises(ValueError, match="constant"):
        grid_sample_bilinear(x, grid.clone().requires_grad_())


def test_whole_pipe_gradcheck_and_gradgradcheck():
    pipe = make_pipe(1.0, "bgc")
    x = images(n=1, size=8, dtype=torch.float64).requires_grad_()

    def augment_seeded(v):
        torch.manual_seed(8)  # The same transform on every call.
        return pipe(v)

    assert torch.autograd.gradcheck(augment_seeded, (x,), fast_mode=True)
    assert torch.autograd.gradgradcheck(augment_seeded, (x,), fast_mode=True)


def r1_grads(pipe: AugmentPipe, x: torch.Tensor) -> list[torch.Tensor]:
    torch.manual_seed(9)
    d = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.LeakyReLU(0.2), torch.nn.Flatten(),
                            torch.nn.Linear(4 * 14 * 14, 1))
    x = x.detach().requires_grad_()
    (g,) = torch.autograd.grad(d(pipe(x)).sum(), x, create_graph=True)
    g.square().sum().backward()
    return [d[0].weight.grad, d[3].weight.grad]  # The biases do not enter the input gradient.


def test_r1_double_backward_reaches_discriminator(monkeypatch):
    x = images(n=4, size=16)
    grads = r1_grads(make_pipe(1.0, "bgc"), x)
    assert all(g is not None and torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)
    # Same penalty gradients as torch's own grid_sample, where its double backward is available.
    def native(v, grid):
        return F.grid_sample(v, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    monkeypatch.setattr(augment, "grid_sample_bilinear", native)
    try:
        expected = r1_grads(make_pipe(1.0, "bgc"), x)
    except RuntimeError:
        pytest.skip("this torch has no double backward for grid_sample")
    for g, e in zip(grads, expected):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("p", [0.05, 0.3, 1.0])
def test_fast_geometry_resamples_only_transformed_images_and_matches_ref(p):
    """impl='fast' skips identity transforms; same random draws, same result as resampling the whole batch."""
    from stylegan.train.augment import AugmentPipe, augment_config

    x = torch.randn(16, 3, 32, 32, dtype=torch.float64, requires_grad=True)
    out = {}
    for impl in ("ref", "fast"):
        pipe = AugmentPipe(augment_config("bgc"), impl=impl).double()
        pipe.p.fill_(p)
        torch.manual_seed(3)
        y = pipe(x)
        (g,) = torch.autograd.grad(y.square().sum(), x)
        out[impl] = (y.detach(), g)
    # Not bit-identical: the reflect-pad margin follows the largest transform in the (sub)batch, which moves the
    # upsampling filter's border effects by ~1e-5 (the official pipe depends on batch composition the same way).
    assert torch.allclose(out["ref"][0], out["fast"][0], atol=1e-4)
    assert torch.allclose(out["ref"][1], out["fast"][1], atol=1e-4)
    moved = (out["ref"][0] != x.detach()).flatten(1).any(dim=1)
    assert torch.equal(out["fast"][0][~moved], x.detach()[~moved]) or moved.all()
