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
# builtin:emoji's meta.json tags its images smileys, cats, monkeys, animals, people, twitter or google. Below: named
# unions of tags ("all" is every image) and what a name alone selects. "builtin:emoji" means its round faces, the
# smileys and the cat, monkey and animal faces (300 images), which a small network learns on a CPU in minutes; the
# 1,679 people (occupations, hair styles, skin-tone variants) are in `builtin:emoji-people` and `builtin:emoji-all`.
SUBSET_ALIASES = {"faces": "smileys+cats+monkeys+animals"}
DEFAULT_SUBSET = {"emoji": "faces"}


def resolve_builtin(spec: str, subset: str | None = None) -> tuple[Path, str | None, str]:
    """'builtin:emoji-cats' -> (path of emoji.zip, 'cats', 'emoji-cats'): the archive, the subset tags to select
    ('a+b' = either; None = every image) and the dataset's name. `subset` (e.g. from an API call) selects one when
    the spec names none. Unknown names and conflicting subsets are a UserError."""
    body = spec.removeprefix("builtin:")
    base, _, named = body.partition("-")
    if base not in BUILTINS:
        known = ", ".join(f"builtin:{n}" for n in BUILTINS)
        raise UserError(f"{spec}: unknown built-in dataset (available: {known}, optionally with -<subset>, "
                        f"e.g. builtin:emoji-cats)")
    if named and subset and named != subset:
        raise UserError(f"{spec}: conflicting subsets {named!r} and {subset!r}")
    path = BUILTIN_DIR / BUILTINS[base]
    if not path.is_file():
        raise UserError(f"{spec}: {path} is missing from this installation (rebuild it with "
                        f"scripts/build_emoji_dataset.py)")
    chosen = named or subset
    name = f"{base}-{chosen}" if chosen else base
    chosen = chosen or DEFAULT_SUBSET.get(base)
    tags = None if chosen == "all" else SUBSET_ALIASES.get(chosen, chosen)
    return path, tags, name
