"""ImageDataset on official-layout zips (made here by hand), and open_dataset on raw pictures (prepared into a
cache)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from dataset_fixtures import encode, make_official_zip, noise, solid, write_files

from stylegan.data import ImageDataset, open_dataset
from stylegan.errors import UserError


def test_reads_official_zip_with_labels(tmp_path):
    path = make_official_zip(tmp_path / "off.zip", n=8, res=16, labels=[0, 1, 2, 3, 0, 1, 2, 4])
    ds = ImageDataset(path, use_labels=True)
    assert len(ds) == 8 and ds.name == "off" and ds.resolution == 16 and ds.num_channels == 3
    img, label = ds[7]
    assert img.dtype == np.uint8 and img.shape == (3, 16, 16)
    assert label.dtype == np.float32 and label.tolist() == [0, 0, 0, 0, 1]  # one-hot, dim = max + 1
    assert ds.labels_array.shape == (8, 5) and ds.label_counts().tolist() == [2, 2, 2, 1, 1]
    assert ds.random_labels(6, seed=1).shape == (6, 5)
    unlabelled = ImageDataset(path)
    assert unlabelled.label_dim == 0 and unlabelled[0][1].shape == (0,) and unlabelled.has_labels


def test_grayscale_official_zip(tmp_path):
    ds = ImageDataset(make_official_zip(tmp_path / "g.zip", n=2, res=8, mode="L"))
    assert ds[0][0].shape == (1, 8, 8) and not ds.has_labels


def test_downscale_on_load_is_area_average(tmp_path):
    path = make_official_zip(tmp_path / "off.zip", n=2, res=16)
    full, half = ImageDataset(path)[1][0].astype(np.float64), ImageDataset(path, resolution=4)[1][0]
    expected = full.reshape(3, 4, 4, 4, 4).mean(axis=(2, 4))
    assert half.shape == (3, 4, 4) and np.abs(half - expected).max() <= 0.5
    with pytest.raises(UserError, match="16x16.*12x12"):
        ImageDataset(path, resolution=12)
    with pytest.raises(UserError, match="16x16.*32x32"):
        ImageDataset(path, resolution=32)


def test_max_size_and_xflip(tmp_path):
    path = make_official_zip(tmp_path / "off.zip", n=8, res=8)
    full = ImageDataset(path)
    sub = ImageDataset(path, max_size=3, random_seed=5)
    assert len(sub) == 3 and np.array_equal(sub._raw_idx, ImageDataset(path, max_size=3, random_seed=5)._raw_idx)
    assert all(np.array_equal(sub[i][0], full[int(sub._raw_idx[i])][0]) for i in range(3))
    flipped = ImageDataset(path, xflip=True)
    assert len(flipped) == 16 and np.array_equal(flipped[8 + 2][0], full[2][0][:, :, ::-1])


def test_content_hash(tmp_path):
    path = make_official_zip(tmp_path / "off.zip", n=8, res=8)
    h = ImageDataset(path).content_hash
    assert len(h) == 64 and h == ImageDataset(path).content_hash
    others = {ImageDataset(path, xflip=True).content_hash, ImageDataset(path, max_size=4).content_hash,
              ImageDataset(path, resolution=4).content_hash,
              ImageDataset(make_official_zip(tmp_path / "o2.zip", n=7, res=8)).content_hash}
    assert h not in others and len(others) == 4


def test_pickles_for_dataloader_workers(tmp_path):
    ds = ImageDataset(make_official_zip(tmp_path / "off.zip", n=3, res=8))
    ds[0]
    clone = pickle.loads(pickle.dumps(ds))
    assert np.array_equal(clone[1][0], ds[1][0])


def test_open_dataset_raw_folder_is_prepared_once(tmp_path, capsys):
    src = write_files(tmp_path / "mycats", {"a.jpg": encode(noise((40, 30), 0), "JPEG"),
                                            "b.png": encode(noise((20, 20), 1)), "bad.png": b"garbage"})
    ds = open_dataset(str(src), resolution=16, cache_dir=str(tmp_path / "c"))
    assert ds.name == "mycats" and len(ds) == 2 and ds.image_shape == [3, 16, 16]
    assert ds.path.startswith(str(tmp_path / "c")) and "bad.png" in (tmp_path / "c").joinpath(
        next(p.name for p in (tmp_path / "c").glob("*-report.txt"))).read_text()
    assert "preparing" in capsys.readouterr().out
    again = open_dataset(str(src), resolution=16, cache_dir=str(tmp_path / "c"))
    assert again.path == ds.path and "preparing" not in capsys.readouterr().out
    assert open_dataset(str(src), resolution=8, cache_dir=str(tmp_path / "c")).path != ds.path


def test_open_dataset_uniform_folder_read_in_place(tmp_path):
    src = write_files(tmp_path / "uni", {f"{i}.png": encode(noise((8, 8), i)) for i in range(3)})
    ds = open_dataset(str(src))
    assert ds.path == str(src) and len(ds) == 3
    assert not (tmp_path / "cache").exists()


def test_open_dataset_errors(tmp_path):
    with pytest.raises(UserError, match="missing-folder"):
        open_dataset(str(tmp_path / "missing-folder"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="empty"):
        open_dataset(str(tmp_path / "empty"))
    write_files(tmp_path / "nonsq", {"00000/img00000000.png": encode(solid("RGB", (8, 4), 0)),
                                     "dataset.json": b'{"labels": null}'})
    with pytest.raises(UserError, match="not square"):
        open_dataset(str(tmp_path / "nonsq"))


def test_a_damaged_member_is_named(tmp_path):
    import zipfile

    good = make_official_zip(tmp_path / "good.zip", n=4, res=8)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(tmp_path / "bad.zip", "w") as dst:
        names = src.namelist()
        victim = sorted(n for n in names if n.endswith(".png"))[2]
        for n in names:
            dst.writestr(n, src.read(n)[:40] if n == victim else src.read(n))  # Truncated after the header.
    ds = ImageDataset(tmp_path / "bad.zip")
    assert ds[0][0].shape == (3, 8, 8)
    with pytest.raises(UserError, match=f"bad.zip: {victim} is damaged .*prepare the dataset again"):
        ds[2]
