"""Exploring and editing a trained generator through its ws, for every generation (StyleGAN1/2/3):
style mixing, truncation sweeps, looping interpolation videos, projection of images, semantic directions
(SeFa, GANSpace) and model cards. Each `stylegan <command>` is a thin shell around these functions.
"""

from .directions import Directions, apply_direction, edit_grid, ganspace, sefa
from .interpolate import LoopPath, lerp, loop_path, slerp
from .layers import layer_groups, parse_layers, style_affines
from .mixing import style_mix, style_mixing_grid
from .project import ProjectConfig, Projection, project
from .render import render_ws, seeds_to_ws
from .truncation import truncation_sweep
from .video import VideoSpec, video_frames, write_video

__all__ = ["Directions", "LoopPath", "ProjectConfig", "Projection", "VideoSpec", "apply_direction", "edit_grid",
           "ganspace", "layer_groups", "lerp", "loop_path", "parse_layers", "project", "render_ws", "seeds_to_ws",
           "sefa", "slerp", "style_affines", "style_mix", "style_mixing_grid", "truncation_sweep", "video_frames",
           "write_video"]
