"""Build the built-in dataset `builtin:emoji` (src/stylegan/data/builtin/emoji.zip) from the emoji-datasource npm
packages.

Takes the 64x64 PNGs of Twemoji (emoji-datasource-twitter, graphics CC-BY 4.0) and Noto Emoji
(emoji-datasource-google, Apache-2.0) for the face emoji, selected by the category fields of each package's
emoji.json, and prepares them with the dataset tool (RGBA composited over white, exact duplicates dropped).
meta.json in the zip records each image's set, name and subsets ("smileys", "cats", "monkeys", "animals",
"people", "twitter", "google"), read by open_dataset("builtin:emoji-cats") and the like; "builtin:emoji" alone
selects the round faces and "builtin:emoji-all" everything (src/stylegan/data/builtin.py).

Needs npm and the npm registry. Run from the repository root:
    python scripts/build_emoji_dataset.py [--out src/stylegan/data/builtin/emoji.zip] [--preview emoji-preview.png]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from stylegan.data import PrepareOptions, prepare_dataset
from stylegan.files import atomic_path

# Pinned so that a rebuild gives the same images (and, with fixed zip dates, the same bytes).
PACKAGES = {"twitter": "emoji-datasource-twitter@16.0.0", "google": "emoji-datasource-google@16.0.0"}
PEOPLE_SUBCATEGORIES = ("person", "person-gesture", "person-role")  # head-and-shoulders portraits
RESOLUTION = 64


def subsets_of(entry: dict) -> list[str]:
    """Which subsets an emoji.json entry belongs to; [] means not a face emoji (not included)."""
    cat, sub, name = entry["category"], entry["subcategory"], entry["name"].upper()
    if cat == "Smileys & Emotion" and sub.startswith("face-"):
        return ["smileys"]
    if sub == "cat-face" or name == "CAT FACE":
        return ["cats", "animals"]
    if sub == "monkey-face" or name == "MONKEY FACE":
        return ["monkeys", "animals"]
    if cat == "Animals & Nature" and name.endswith(" FACE"):
        return ["animals"]
    if cat == "People & Body" and sub in PEOPLE_SUBCATEGORIES:
        return ["people"]
    return []


def npm_pack(spec: str, workdir: Path) -> Path:
    """Download one npm package tarball (no install scripts run) and return its path."""
    out = subprocess.run(["npm", "pack", spec, "--pack-destination", str(workdir), "--silent"],
                         check=True, capture_output=True, text=True).stdout.strip().splitlines()
    return workdir / out[-1]


def stage_set(tgz: Path, image_set: str, staging: Path) -> dict[str, dict]:
    """Copy the selected 64px images of one set into staging/<set>/; return meta fields by staged path."""
    meta = {}
    with tarfile.open(tgz) as tf:
        emoji = json.load(tf.extractfile("package/emoji.json"))
        for entry in emoji:
            subsets = subsets_of(entry)
            variants = [(None, entry)] + sorted((entry.get("skin_variations") or {}).items())
            for tone, var in variants if subsets else []:
                if not var.get(f"has_img_{image_set}"):
                    continue
                member = tf.extractfile(f"package/img/{image_set}/{RESOLUTION}/{var['image']}")
                dest = staging / image_set / var["image"]
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(member.read())
                meta[f"{image_set}/{var['image']}"] = {
                    "set": image_set, "name": entry["name"], "unified": var["unified"], "category": entry["category"],
                    "subcategory": entry["subcategory"], "skin_tone": tone, "subsets": subsets + [image_set]}
    return meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="src/stylegan/data/builtin/emoji.zip", metavar="ZIP")
    parser.add_argument("--preview", default=None, metavar="PNG", help="also keep the preview grid here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        meta = {}
        for image_set, spec in PACKAGES.items():
            print(f"npm pack {spec}")
            meta.update(stage_set(npm_pack(spec, tmp), image_set, tmp / "staging"))
        options = PrepareOptions(resolution=RESOLUTION, compress_level=9)
        report = prepare_dataset(tmp / "staging", tmp / "emoji.zip", options, extra_meta=meta)
        print(report.summary())
        with atomic_path(args.out) as out:  # /tmp may be another file system: copy, then rename.
            shutil.copyfile(tmp / "emoji.zip", out)
        if args.preview:
            shutil.copyfile(report.preview, args.preview)
    kept = [f.source for f in report.files if f.kept_as]
    counts = {s: sum(s in meta[k]["subsets"] for k in kept) for s in ("smileys", "cats", "monkeys", "animals",
                                                                        "people", "twitter", "google")}
    print(f"{args.out}: {len(kept)} images, {Path(args.out).stat().st_size / 1e6:.2f} MB; subsets: {counts}")


if __name__ == "__main__":
    main()
