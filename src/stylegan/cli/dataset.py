"""Prepare a training dataset from a folder or zip of pictures (the official layout: 00000/img00000000.png +
dataset.json).

Awkward files are handled, not fatal: corrupt or truncated files and exact duplicates are skipped, CMYK, palette,
16-bit and grayscale pictures are converted, transparent ones composited over --background (or kept with
--keep-alpha), EXIF rotation is applied, small pictures are upscaled with a warning. The report (kept/skipped and
why, per file) is printed and written to DST-report.txt, a preview grid to DST-preview.png. DST appears complete or
not at all. Labels come from the source's dataset.json ({"labels": [[relative_path, class], ...]}) or, with
--labels-from-dirs, from sub-folder names.

Examples:
  stylegan dataset --source ~/Pictures/cats --dest data/cats.zip --resolution 256
  stylegan dataset --source photos.zip --dest data/photos --resolution 128 --transform pad
  stylegan dataset --source animals/ --dest data/animals.zip --resolution 64 --labels-from-dirs
  stylegan dataset --source cars/ --dest data/cars.zip --resolution 512x384 --transform center-crop-wide
"""

from __future__ import annotations

import argparse

import PIL.ImageColor

from .common import output_parent

HELP = "prepare a dataset from a folder or zip of pictures"


def resolution_arg(text: str) -> tuple[int, int | None]:
    """'256' -> (256, None); '512x384' -> (512, 384), the official WxH form."""
    w, _, h = text.lower().partition("x")
    try:
        return int(w), (int(h) if h else None)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or WxH, e.g. 256 or 512x384, got {text!r}") from None


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def color_arg(text: str) -> tuple[int, int, int]:
    try:
        return PIL.ImageColor.getrgb(text)[:3]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a colour: {text!r} (try white, black or #rrggbb)") from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", required=True, metavar="SRC", help="folder (searched recursively) or .zip of pictures")
    p.add_argument("--dest", type=output_parent, required=True, metavar="DST",
                   help="output folder or .zip (uncompressed, official layout)")
    p.add_argument("--resolution", type=resolution_arg, metavar="N",
                   help="output size in pixels, a power of two (WxH for center-crop-wide); default: from the pictures")
    p.add_argument("--transform", default="center-crop", choices=["center-crop", "center-crop-wide", "pad"],
                   help="how non-square pictures become square (default: center-crop)")
    p.add_argument("--resize-filter", default="lanczos", choices=["lanczos", "box"],
                   help="resampling filter (default: lanczos; box reproduces the paper's downscaled FFHQ)")
    p.add_argument("--max-images", type=positive_int, metavar="N", help="keep at most N pictures (default: all)")
    p.add_argument("--labels-from-dirs", action="store_true", help="class labels from sub-folder names")
    p.add_argument("--keep-alpha", action="store_true", help="keep transparency as a 4th channel (RGBA output)")
    p.add_argument("--background", type=color_arg, default=(255, 255, 255), metavar="COLOR",
                   help="colour behind transparent pixels and around --transform pad (default: white)")
    p.add_argument("--overwrite", action="store_true", help="replace DST if it is an existing dataset")


def run(args) -> int:
    from ..data import PrepareOptions, prepare_dataset

    width, height = args.resolution or (None, None)
    options = PrepareOptions(resolution=width, wide_height=height, transform=args.transform,
                             resize_filter=args.resize_filter, max_images=args.max_images,
                             labels_from_dirs=args.labels_from_dirs, keep_alpha=args.keep_alpha,
                             background=args.background, overwrite=args.overwrite)
    report = prepare_dataset(args.source, args.dest, options, progress=True)
    print(report.to_text(limit=20, every_file=False), end="")
    print(f"report: {report.report_path}\npreview: {report.preview}")
    return 0
