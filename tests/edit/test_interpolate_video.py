"""Interpolation endpoints, closed loops, and the video writer (MP4 through imageio-ffmpeg, GIF fallback)."""

import numpy as np
import PIL.Image
import pytest
import torch
from tiny import tiny_sg3_config
from videoutil import mp4_info

from stylegan.edit import video as video_mod
from stylegan.edit.interpolate import LoopPath, lerp, slerp
from stylegan.edit.video import VideoSpec, video_frames, write_video
from stylegan.errors import UserError
from stylegan.models import Generator


def test_lerp_slerp_endpoints_and_sphere():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(4, 32, generator=g), torch.randn(4, 32, generator=g)
    for f in (lerp, slerp):
        torch.testing.assert_close(f(a, b, 0.0), a)
        torch.testing.assert_close(f(a, b, 1.0), b)
    # Slerp between unit vectors stays on the sphere; lerp cuts through it.
    ua, ub = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    torch.testing.assert_close(slerp(ua, ub, 0.3).norm(dim=1), torch.ones(4))
    assert (lerp(ua, ub, 0.5).norm(dim=1) < 0.99).all()
    torch.testing.assert_close(slerp(a, a, 0.4), a)  # Parallel vectors: no division by zero.


@pytest.mark.parametrize("kind", ["cubic", "linear", "slerp"])
def test_loop_passes_through_keys_and_closes(kind):
    keys = torch.randn(4, 3, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    path = LoopPath(keys, kind)
    torch.testing.assert_close(path([0, 1, 2, 3]), keys)
    torch.testing.assert_close(path([4.0]), path([0.0]))  # The loop closes ...
    eps = 1e-4
    near = path([4 - eps, eps])
    torch.testing.assert_close(near[0], keys[0], atol=1e-2, rtol=0)  # ... continuously.
    if kind == "cubic":  # ... and smoothly: the slope across the seam matches the slope just after it.
        before = (path([0.0]) - path([-eps])) / eps
        after = (path([eps]) - path([0.0])) / eps
        torch.testing.assert_close(before, after, atol=1e-2, rtol=1e-2)


def test_video_frames_loop(tiny_G):
    spec = VideoSpec(seeds=list(range(8)), grid=(2, 2), w_frames=3, psi=0.7)
    frames = list(video_frames(tiny_G, spec))
    assert spec.num_keyframes == 2 and len(frames) == 6 and frames[0].shape == (32, 32, 3)
    assert not np.array_equal(frames[0], frames[1])
    from stylegan.edit.render import render_ws, seeds_to_ws
    keys = render_ws(tiny_G, seeds_to_ws(tiny_G, [0, 2, 4, 6], psi=0.7))  # Frame 0 shows each cell's first seed.
    assert np.array_equal(frames[0][:16, 16:], keys[1]) and np.array_equal(frames[0][16:, :16], keys[2])
    with pytest.raises(UserError, match="multiple of the grid"):
        VideoSpec(seeds=[0, 1, 2], grid=(2, 1)).validate()
    with pytest.raises(UserError, match="StyleGAN3"):
        list(video_frames(tiny_G, VideoSpec(seeds=[0], w_frames=1, rotate=5.0)))


def _frames(n, h=16, w=24):
    return [np.full([h, w, 3], 20 * i, dtype=np.uint8) for i in range(n)]


def test_write_mp4_frame_count_and_size(tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    path = write_video(tmp_path / "a.mp4", _frames(7), fps=10, progress=False)
    assert path == tmp_path / "a.mp4"
    assert mp4_info(path) == (7, (24, 16))
    assert not list(tmp_path.glob(".*partial"))


@pytest.mark.parametrize("channels", [1, 4])
def test_write_mp4_gray_and_rgba(tmp_path, channels):  # RGBA frames sent as RGB made a scrambled video.
    pytest.importorskip("imageio_ffmpeg")
    import imageio.v3 as iio

    rng = np.random.default_rng(0)
    frames = [np.repeat(np.repeat(rng.integers(0, 256, [4, 6, channels], dtype=np.uint8), 4, 0), 4, 1)
              for _ in range(3)]
    path = write_video(tmp_path / "a.mp4", frames, fps=10, progress=False)
    back = iio.imread(path)
    assert back.shape == (3, 16, 24, 3)
    expected = np.stack([np.repeat(f, 3, 2) if channels == 1 else f[..., :3] for f in frames]).astype(int)
    assert np.abs(back.astype(int) - expected).mean() < 12  # H.264 at quality 8 on 4x4 blocks.


def test_gif_fallback_without_ffmpeg(tmp_path, monkeypatch):
    monkeypatch.setattr(video_mod, "ffmpeg_available", lambda: False)
    path = write_video(tmp_path / "a.mp4", _frames(5), fps=20, progress=False)
    assert path == tmp_path / "a.gif" and not (tmp_path / "a.mp4").exists()
    with PIL.Image.open(path) as im:
        assert im.n_frames == 5 and im.size == (24, 16)


def test_stylegan3_video_can_move():
    from stylegan.edit.render import render_ws, seeds_to_ws
    cfg = tiny_sg3_config()
    torch.manual_seed(0)
    G = Generator(cfg).eval().requires_grad_(False)
    still = list(video_frames(G, VideoSpec(seeds=[0], w_frames=4)))
    moving = list(video_frames(G, VideoSpec(seeds=[0], w_frames=4, translate=(0.25, 0.0), rotate=20.0)))
    assert len(moving) == 4 and np.array_equal(moving[0], still[0])  # sin(0) = 0: frame 0 is unmoved ...
    assert np.array_equal(still[1], still[0]) and not np.array_equal(moving[1], still[1])  # ... later ones move.
    assert torch.equal(G.synthesis.input.transform, torch.eye(3))  # The network is left untransformed.
    assert np.array_equal(render_ws(G, seeds_to_ws(G, [0]))[0], still[0])
