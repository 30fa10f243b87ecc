"""The named augmentation sets of StyleGAN2-ADA's `--augpipe` (no torch: the command line lists them)."""

_BLIT = {"xflip": 1.0, "rotate90": 1.0, "xint": 1.0}
_GEOM = {"scale": 1.0, "rotate": 1.0, "aniso": 1.0, "xfrac": 1.0}
_COLOR = {"brightness": 1.0, "contrast": 1.0, "lumaflip": 1.0, "hue": 1.0, "saturation": 1.0}
# Named sets of probability multipliers (stylegan2-ada `--augpipe`); "bgc" is the default.
AUGMENT_PRESETS: dict[str, dict[str, float]] = {
    "blit": _BLIT,
    "geom": _GEOM,
    "color": _COLOR,
    "filter": {"imgfilter": 1.0},
    "noise": {"noise": 1.0},
    "cutout": {"cutout": 1.0},
    "bg": {**_BLIT, **_GEOM},
    "bgc": {**_BLIT, **_GEOM, **_COLOR},
    "bgcf": {**_BLIT, **_GEOM, **_COLOR, "imgfilter": 1.0},
    "bgcfn": {**_BLIT, **_GEOM, **_COLOR, "imgfilter": 1.0, "noise": 1.0},
    "bgcfnc": {**_BLIT, **_GEOM, **_COLOR, "imgfilter": 1.0, "noise": 1.0, "cutout": 1.0},
}
