"""The shipped builtin:emoji dataset: count, shape, subsets, licences in the package."""

from __future__ import annotations

import pytest

from stylegan.data import open_dataset
from stylegan.data.builtin import LICENSES_DIR
from stylegan.errors import UserError

EMOJI_COUNT = 1979  # printed by scripts/build_emoji_dataset.py; change both together
FACES_COUNT = 300  # builtin:emoji alone: smileys + cat, monkey and animal faces (some carry two of these tags)
SUBSET_COUNTS = {"smileys": 236, "cats": 20, "monkeys": 8, "animals": 64, "people": 1679, "twitter": 989,
                 "google": 990, "faces": FACES_COUNT, "all": EMOJI_COUNT, "smileys+cats": 256}


def test_emoji_count_and_shape():
    ds = open_dataset("builtin:emoji")
    assert ds.name == "emoji" and len(ds) == FACES_COUNT and not ds.has_labels
    img, label = ds[0]
    assert img.shape == (3, 64, 64) and label.shape == (0,)
    assert (img[:, 0, 0] == 255).all()  # composited over white
    assert open_dataset("builtin:emoji", resolution=32, xflip=True)[FACES_COUNT][0].shape == (3, 32, 32)
    everything = open_dataset("builtin:emoji-all")
    assert everything.name == "emoji-all" and len(everything) == EMOJI_COUNT
    assert set(ds.image_names) == set(open_dataset("builtin:emoji-faces").image_names) < set(everything.image_names)


@pytest.mark.parametrize("subset", sorted(SUBSET_COUNTS))
def test_emoji_subsets(subset):
    assert len(open_dataset(f"builtin:emoji-{subset}")) == SUBSET_COUNTS[subset]


def test_emoji_spec_errors():
    with pytest.raises(UserError) as e:  # As the user wrote it (not the package's zip), with the named unions.
        open_dataset("builtin:emoji-dogs")
    assert str(e.value) == ("builtin:emoji-dogs: no subset 'dogs' (available: all, animals, cats, faces, google, "
                            "monkeys, people, smileys, twitter)")
    with pytest.raises(UserError, match="no subset 'dogs'"):
        open_dataset("builtin:emoji-cats+dogs")
    with pytest.raises(UserError, match="unknown built-in"):
        open_dataset("builtin:faces")
    with pytest.raises(UserError, match="conflicting subsets"):
        open_dataset("builtin:emoji-cats", subset="smileys")
    assert open_dataset("builtin:emoji", subset="cats").name == "emoji-cats"


def test_attribution_ships_with_package():
    text = (LICENSES_DIR / "EMOJI-ATTRIBUTION.txt").read_text()
    assert "CC BY 4.0" in text and "Apache License 2.0" in text
    assert "Apache License" in (LICENSES_DIR / "Apache-2.0.txt").read_text()
