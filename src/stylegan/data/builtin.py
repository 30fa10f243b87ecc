"""Datasets shipped inside the package, addressed as "builtin:<name>" or "builtin:<name>-<subset>".

builtin:emoji: face emoji from Twemoji (CC-BY 4.0) and Noto Emoji (Apache-2.0), 64x64 RGB over white; built by
scripts/build_emoji_dataset.py; attribution and licences in stylegan/data/LICENSES/.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"
LICENSES_DIR = Path(__file__).resolve().parent / "LICENSES"
BUILTINS = {"emoji": "emoji.zip"}  # name -> file in BUILTIN_DIR
EMOJI_SUBSETS = ("smileys", "cats", "monkeys", "animals", "people", "twitter", "google")


def resolve_builtin(spec: str) -> tuple[Path, str | None, str]:
    """'builtin:emoji-cats' -> (path of emoji.zip, 'cats', 'emoji-cats'); unknown names are a UserError."""
    body = spec.removeprefix("builtin:")
    base, _, subset = body.partition("-")
    if base not in BUILTINS:
        known = ", ".join(f"builtin:{n}" for n in BUILTINS)
        raise UserError(f"{spec}: unknown built-in dataset (available: {known}, optionally with -<subset>, "
                        f"e.g. builtin:emoji-cats)")
    path = BUILTIN_DIR / BUILTINS[base]
    if not path.is_file():
        raise UserError(f"{spec}: {path} is missing from this installation (rebuild it with "
                        f"scripts/build_emoji_dataset.py)")
    return path, subset or None, body
