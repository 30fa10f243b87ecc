import numpy as np
import pytest
import torch

from stylegan.errors import UserError
from stylegan.latents import class_to_c, parse_seeds, seeds_to_z


def test_parse_seeds():
    assert parse_seeds("0,3,5-9") == [0, 3, 5, 6, 7, 8, 9]
    assert parse_seeds(" 7 ") == [7]
    assert parse_seeds("4294967295") == [2**32 - 1]
    for bad in ["", "a", "3-1", "1,,2", "-5", "4294967296", "1.5"]:
        with pytest.raises(UserError):
            parse_seeds(bad)
    with pytest.raises(UserError, match="too long"):  # Refused before ~200 GB of ints are built.
        parse_seeds("0-4294967295")


def test_seed_list_length_bound(monkeypatch):
    from stylegan import latents

    monkeypatch.setattr(latents, "MAX_LIST", 10)
    assert parse_seeds("0-4,10-14") == [0, 1, 2, 3, 4, 10, 11, 12, 13, 14]
    with pytest.raises(UserError, match="more than 10 seeds"):
        parse_seeds("0-4,10-15")


def test_seed_to_z_matches_official_convention():
    z = seeds_to_z([3, 0], 8)
    assert z.dtype == torch.float32
    assert np.allclose(z[0].numpy(), np.random.RandomState(3).randn(1, 8)[0].astype(np.float32))
    assert np.allclose(z[1].numpy(), np.random.RandomState(0).randn(8))


def test_class_to_c():
    assert class_to_c(2, 4).tolist() == [[0, 0, 1, 0]]
    assert class_to_c(None, 0, n=2).shape == (2, 0)
    with pytest.raises(UserError, match="conditional"):
        class_to_c(None, 4)
    with pytest.raises(UserError, match="out of range"):
        class_to_c(4, 4)
    with pytest.raises(UserError, match="unconditional"):
        class_to_c(1, 0)
