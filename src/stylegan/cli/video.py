"""A looping latent walk as a video (as the official gen_video.py): each grid cell moves through its keyframe
seeds and back to the first, `--w-frames` frames per keyframe, so the file has keyframes * w-frames frames.
Seeds fill the cells keyframe by keyframe: with --grid 2x2 and --seeds 0-7, cell 0 walks 0 -> 1 -> 0, cell 1
walks 2 -> 3 -> 2, and so on. --space w interpolates mapped ws (cubic, like the official tool, or linear);
--space z interpolates latents (slerp by default) and maps every frame. H.264 MP4 through imageio-ffmpeg (which
ships ffmpeg); a GIF when the output ends in .gif or ffmpeg is unavailable.

StyleGAN3 networks can also move: --translate X,Y and --rotate DEG are amplitudes of a back-and-forth motion
(image widths, degrees) over the loop, which shows details moving with the surface (no texture sticking).

Examples:
  stylegan video --network model.safetensors --seeds 0-31 --grid 2x2 --w-frames 120 --trunc 0.7 --output walk.mp4
  stylegan video --network model.safetensors --seeds 0-7 --space z --interp slerp --output walk.mp4
  stylegan video --network sg3.safetensors --seeds 0-3 --translate 0.2,0 --rotate 10 --output move.mp4
  stylegan video --network model.safetensors --seeds 0-3 --w-frames 30 --fps 30 --output walk.gif
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from ..errors import UserError
from .common import (add_device_argument, add_network_argument, add_rendering_arguments, finite_float,
                     load_rendering_network, output_file)
from .truncation import accept_negative_lists, parse_finite_list

HELP = "render a looping interpolation video (MP4, or GIF)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    accept_negative_lists(p)
    add_network_argument(p)
    p.add_argument("--seeds", required=True, metavar="LIST", help="keyframe seeds; a multiple of the grid cells")
    p.add_argument("--grid", default="1x1", metavar="WxH", help="columns x rows of the video grid (default: 1x1)")
    p.add_argument("--w-frames", type=int, default=120, metavar="N", help="frames per keyframe (default: 120)")
    p.add_argument("--space", choices=["w", "z"], default="w", help="interpolate in W or Z (default: w)")
    p.add_argument("--interp", choices=["cubic", "linear", "slerp"], default=None,
                   help="interpolation (default: cubic in W, slerp in Z)")
    p.add_argument("--translate", default="0,0", metavar="X,Y", help="StyleGAN3: translation amplitude (image widths)")
    p.add_argument("--rotate", type=finite_float, default=0.0, metavar="DEG", help="StyleGAN3: rotation amplitude")
    add_rendering_arguments(p)
    p.add_argument("--fps", type=finite_float, default=60.0, metavar="N", help="frames per second (default: 60)")
    p.add_argument("--output", type=output_file(".mp4", ".gif"), required=True, metavar="FILE",
                   help="output .mp4 (or .gif)")
    add_device_argument(p)


def parse_grid(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        raise UserError(f"bad --grid {text!r}: expected COLSxROWS such as 2x2 or 3x1")
    return int(m.group(1)), int(m.group(2))


def run(args) -> int:
    from ..edit.video import VideoSpec, check_network, video_frames, write_video
    from ..latents import parse_seeds

    translate = parse_finite_list(args.translate, "--translate")
    if len(translate) != 2:
        raise UserError(f"bad --translate {args.translate!r}: expected X,Y")
    if args.fps <= 0:
        raise UserError(f"--fps must be > 0, got {args.fps}")
    spec = VideoSpec(seeds=parse_seeds(args.seeds), grid=parse_grid(args.grid), w_frames=args.w_frames,
                     space=args.space, interp=args.interp or ("cubic" if args.space == "w" else "slerp"),
                     psi=args.trunc, noise_mode=args.noise_mode, class_idx=args.class_idx,
                     translate=(translate[0], translate[1]), rotate=args.rotate)
    spec.validate()
    G = load_rendering_network(args)
    check_network(G, spec)
    print(f"{spec.num_keyframes} keyframe(s) x {spec.w_frames} frames = {spec.num_frames} frames, "
          f"{spec.grid[0]}x{spec.grid[1]} grid, {spec.interp} in {spec.space.upper()}")
    path = write_video(Path(args.output), video_frames(G, spec), fps=args.fps, total=spec.num_frames)
    print(f"wrote {path}")
    return 0
