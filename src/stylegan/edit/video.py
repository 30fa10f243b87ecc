"""Looping latent-walk videos (as the official gen_video.py) and the video/GIF writer.

Seeds fill the grid cells keyframe by keyframe: cell i (row-major) has keyframes seeds[i*K : (i+1)*K], with
K = len(seeds) / (grid columns * rows). Each cell walks the closed loop through its keyframes in `w_frames` frames
per keyframe, so the video has K * w_frames frames and its last frame leads back into its first.
StyleGAN3 networks can also move the image: translate/rotate follow amplitude * sin(2π t) over the loop, which
shows that texture moves with the content (no texture sticking, Karras et al. 2021 §1).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import PIL.Image
import torch

from ..errors import UserError
from ..files import atomic_path
from ..images import make_grid, to_uint8
from ..latents import class_to_c, seeds_to_z
from .interpolate import INTERPS, Interp, LoopPath
from .render import device_of, seeds_to_ws


@dataclass(frozen=True)
class VideoSpec:
    seeds: list[int]
    grid: tuple[int, int] = (1, 1)  # (columns, rows) of the video grid.
    w_frames: int = 120  # Frames from one keyframe to the next.
    space: Literal["w", "z"] = "w"  # Interpolate mapped ws (truncated) or latents z (mapped per frame).
    interp: Interp = "cubic"  # cubic | linear | slerp.
    psi: float = 1.0  # Truncation psi.
    noise_mode: str = "const"
    class_idx: int | None = None  # Class of every cell for conditional networks.
    translate: tuple[float, float] = (0.0, 0.0)  # StyleGAN3 only: translation amplitude in image widths.
    rotate: float = 0.0  # StyleGAN3 only: rotation amplitude in degrees.

    @property
    def num_cells(self) -> int:
        return self.grid[0] * self.grid[1]

    @property
    def num_keyframes(self) -> int:
        return len(self.seeds) // self.num_cells

    @property
    def num_frames(self) -> int:
        return self.num_keyframes * self.w_frames

    @property
    def moves(self) -> bool:
        return self.translate != (0.0, 0.0) or self.rotate != 0.0

    def validate(self) -> None:
        cols, rows = self.grid
        if cols < 1 or rows < 1:
            raise UserError(f"grid must be at least 1x1, got {cols}x{rows}")
        if not self.seeds or len(self.seeds) % self.num_cells:
            raise UserError(f"the number of seeds ({len(self.seeds)}) must be a positive multiple of the grid cells "
                            f"({cols}x{rows} = {self.num_cells})")
        if self.w_frames < 1:
            raise UserError(f"--w-frames must be >= 1, got {self.w_frames}")
        if self.interp not in INTERPS:
            raise UserError(f"unknown interpolation {self.interp!r}: choose from {', '.join(INTERPS)}")


def _keyframes(G, spec: VideoSpec) -> torch.Tensor:
    """[K, cells, ...]: ws [num_ws, w_dim] per keyframe (space w) or z [z_dim] (space z)."""
    K, n = spec.num_keyframes, spec.num_cells
    if spec.space == "w":
        keys = seeds_to_ws(G, spec.seeds, psi=spec.psi, class_idx=spec.class_idx)
    else:
        keys = seeds_to_z(spec.seeds, G.z_dim, device_of(G))
    return keys.reshape(n, K, *keys.shape[1:]).transpose(0, 1)


def check_network(G, spec: VideoSpec) -> None:
    """Validate the spec, and that G can move when asked to (only StyleGAN3 has an input transform)."""
    spec.validate()
    if spec.moves:
        from ..models.synthesis_v3 import set_input_transform

        try:
            set_input_transform(G)  # Identity: also the state a video leaves behind.
        except ValueError:
            raise UserError("--translate/--rotate need a StyleGAN3 network (it has an input transform); "
                            f"this one is {getattr(G, 'arch', 'not StyleGAN3')}") from None


@torch.no_grad()
def video_frames(G, spec: VideoSpec) -> Iterator[np.ndarray]:
    """Yield spec.num_frames uint8 frames [rows*H, cols*W, C] of the looping walk."""
    check_network(G, spec)
    if spec.moves:
        from ..models.synthesis_v3 import set_input_transform
    path = LoopPath(_keyframes(G, spec), spec.interp)
    c = class_to_c(spec.class_idx, G.c_dim, spec.num_cells, device_of(G))
    try:
        for frame in range(spec.num_frames):
            x = path([frame / spec.w_frames])[0]  # [cells, ...]
            ws = x if spec.space == "w" else G.mapping(x, c, truncation_psi=spec.psi)
            if spec.moves:
                s = math.sin(2 * math.pi * frame / spec.num_frames)
                set_input_transform(G, (spec.translate[0] * s, spec.translate[1] * s), spec.rotate * s)
            img = to_uint8(G.synthesis(ws, noise_mode=spec.noise_mode))
            yield make_grid(img, spec.grid[0])
    finally:
        if spec.moves:
            set_input_transform(G)  # Back to the identity.


def ffmpeg_available() -> bool:
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
        return True
    except (ImportError, RuntimeError):
        return False


def write_video(path: str | Path, frames: Iterable[np.ndarray], fps: float = 60, total: int | None = None,
                progress: bool = True) -> Path:
    """Write frames (uint8 HWC) as H.264 MP4 via imageio-ffmpeg, or as GIF when `path` ends in .gif or ffmpeg is
    missing (then the suffix becomes .gif and a warning is printed). Atomic; returns the path written."""
    from ..progress import progress_bar

    path = Path(path)
    if path.suffix.lower() != ".gif" and not ffmpeg_available():
        path = path.with_suffix(".gif")
        print(f"warning: imageio-ffmpeg not available, writing a GIF instead: {path}", file=sys.stderr)
    frames = progress_bar(frames, total=total, desc=path.name, unit="frame", enabled=progress)
    if path.suffix.lower() == ".gif":
        _write_gif(path, frames, fps)
    else:
        _write_mp4(path, frames, fps)
    return path


def _even(frame: np.ndarray) -> np.ndarray:
    """Pad by edge replication to even height/width (H.264 with 4:2:0 chroma needs them); grey frames -> RGB."""
    if frame.shape[2] == 1:
        frame = np.repeat(frame, 3, axis=2)
    h, w = frame.shape[:2]
    return np.pad(frame, [(0, h % 2), (0, w % 2), (0, 0)], mode="edge") if (h % 2 or w % 2) else frame


_PIX_FMT = {1: "gray", 3: "rgb24", 4: "rgba"}  # ffmpeg's names for uint8 frames by channel count.


def _write_mp4(path: Path, frames: Iterable[np.ndarray], fps: float) -> None:
    import imageio_ffmpeg

    with atomic_path(path) as tmp:
        writer = None
        try:
            for frame in frames:
                frame = np.ascontiguousarray(_even(frame))
                if writer is None:  # Alpha (RGBA networks) is dropped: H.264 in MP4 has none.
                    writer = imageio_ffmpeg.write_frames(str(tmp), (frame.shape[1], frame.shape[0]), fps=fps,
                                                         pix_fmt_in=_PIX_FMT[frame.shape[2]],
                                                         codec="libx264", quality=8, macro_block_size=1,
                                                         output_params=["-f", "mp4"], ffmpeg_log_level="error")
                    writer.send(None)
                writer.send(frame)
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            raise UserError("no frames to write")


def _write_gif(path: Path, frames: Iterable[np.ndarray], fps: float) -> None:
    images = [PIL.Image.fromarray(np.repeat(f, 3, axis=2) if f.shape[2] == 1 else f) for f in frames]
    if not images:
        raise UserError("no frames to write")
    with atomic_path(path) as tmp:  # GIF frame times are in 10 ms steps: 60 fps plays at 50 fps.
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], loop=0,
                       duration=max(10, round(1000 / fps / 10) * 10), disposal=1)
