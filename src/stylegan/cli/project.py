"""Project an image into the network's latent space (StyleGAN2 §5, Appendix D): optimize w (--space w: one w
for all layers, as the paper; w+: one per layer, closer fits) and the noise maps so the network redraws the target.
Writes target.png (the cropped, resized target), proj.png, projected_w.npz (key `w`, [1, num_ws, w_dim], the
official format, plus the fitted noise maps) and with --save-video proj.mp4 (target | projection per step).
Render the result again with `stylegan generate --network N --projected-w projected_w.npz --outdir D`.

Distance (--distance auto): VGG16 LPIPS features as the official projector when a VGG16 detector is found
(--vgg PATH, $STYLEGAN_VGG16, the cache, then a download; see `stylegan metrics --help`), otherwise the offline
fallback "pixel": multi-scale pixel MSE + (1 - SSIM) over an image pyramid (sharp colours and structure, less
tolerant of misalignment than LPIPS). --distance vgg16 fails instead of falling back.

Examples:
  stylegan project --network ffhq.safetensors --target face.png --num-steps 1000 --outdir proj
  stylegan project --network model.safetensors --target img.jpg --space w+ --distance pixel --save-video --outdir proj
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UserError
from .common import add_device_argument, add_network_argument, load_rendering_network, output_dir, warn

HELP = "find the latent that reproduces a target image"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_network_argument(p)
    p.add_argument("--target", required=True, metavar="IMG", help="target image (centre-cropped and resized)")
    p.add_argument("--num-steps", type=int, default=1000, metavar="N", help="optimization steps (default: 1000)")
    p.add_argument("--space", choices=["w", "w+"], default="w", help="one w for all layers, or one per layer")
    p.add_argument("--distance", choices=["auto", "vgg16", "pixel"], default="auto",
                   help="image distance (default: auto = vgg16 if available, else pixel)")
    p.add_argument("--vgg", default=None, metavar="PATH", help="VGG16 TorchScript file or URL (official vgg16.pt)")
    p.add_argument("--offline", action="store_true", help="never download the VGG16 detector")
    p.add_argument("--seed", type=int, default=303, metavar="N", help="random seed (default: 303)")
    p.add_argument("--class", dest="class_idx", type=int, default=None, metavar="K", help="class for conditional nets")
    p.add_argument("--save-video", action="store_true", help="also write proj.mp4 of the optimization")
    p.add_argument("--outdir", type=output_dir, required=True, metavar="DIR", help="output folder")
    add_device_argument(p)


def make_distance(args, target, device):
    from ..edit.distance import PixelSSIMDistance, VGG16Distance

    if args.distance != "pixel":
        from ..metrics.detectors import load_detector

        try:
            return VGG16Distance(load_detector("vgg16", args.vgg, device, allow_download=not args.offline), target)
        except UserError as e:
            if args.distance == "vgg16" or args.vgg:  # A detector the user named must be there.
                raise
            warn(f"no VGG16 detector ({str(e).split(';')[0]}); using the offline pixel+SSIM distance")
    return PixelSSIMDistance(target)


def run(args) -> int:
    import numpy as np
    import PIL.Image
    from ..edit.latent_file import save_projected_w
    from ..edit.project import ProjectConfig, prepare_target, project, psnr
    from ..edit.render import render_ws
    from ..images import from_uint8, provenance, save_png
    from ..progress import progress_bar

    if args.num_steps < 1:
        raise UserError(f"--num-steps must be >= 1, got {args.num_steps}")
    G = load_rendering_network(args)  # (A conditional network's --class is checked before any download.)
    try:
        with PIL.Image.open(args.target) as im:
            target_u8 = prepare_target(im, G.img_resolution, G.img_channels)
    except (PIL.UnidentifiedImageError, OSError) as e:
        raise UserError(f"{args.target}: cannot read the image ({type(e).__name__})") from None
    device = next(G.parameters()).device
    target = from_uint8(target_u8[None]).to(device)
    distance = make_distance(args, target, device)
    cfg = ProjectConfig(num_steps=args.num_steps, space=args.space, seed=args.seed, class_idx=args.class_idx)
    bar = progress_bar(total=args.num_steps, desc="projecting", unit="step")
    proj = project(G, target, distance, cfg,
                   on_step=lambda i, d: (bar.set_postfix(dist=f"{d:.4g}", refresh=False), bar.update(1)))
    bar.close()
    outdir = Path(args.outdir)
    img = render_ws(G, proj.ws)[0]
    text = provenance(model_id=G.model_id, target=Path(args.target).name, space=args.space, steps=args.num_steps,
                      distance=distance.name)
    save_png(outdir / "target.png", target_u8, text)
    save_png(outdir / "proj.png", img, text)
    save_projected_w(outdir / "projected_w.npz", proj.ws, proj.noise)
    print(f"{distance.name} distance {proj.losses[-1]:.4g}, PSNR {psnr(img, target_u8):.2f} dB; wrote {outdir}")
    if args.save_video:
        from ..edit.video import write_video

        frames = (np.concatenate([target_u8, render_ws(G, w[None])[0]], axis=1) for w in proj.trajectory)
        path = write_video(outdir / "proj.mp4", frames, fps=10, total=len(proj.trajectory))
        print(f"wrote {path}")
    return 0
