"""Fixtures shared by the training tests."""

import pytest
from trainutil import disc_images


@pytest.fixture(scope="module")
def toy_data(tmp_path_factory):
    """40 images of colored discs, 16x16, as a raw folder (prepared on the fly by training)."""
    return disc_images(tmp_path_factory.mktemp("toy"), 16)


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    """A cache folder of the test's own (prepared datasets, detectors): nothing shared between tests."""
    monkeypatch.setenv("STYLEGAN_CACHE", str(tmp_path / "cache"))
