"""The dataset tool on awkward pictures: what is kept, what is skipped and why, and the official output layout."""

from __future__ import annotations

import io
import os
import json
import re
import zipfile

import numpy as np
import PIL.Image
import pytest
from dataset_fixtures import encode, noise, solid, write_files

from stylegan.data import ImageDataset, PrepareOptions, image_ops, prepare, prepare_dataset
from stylegan.errors import UserError


def read_zip_images(path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as zf:
        return {n: np.asarray(PIL.Image.open(io.BytesIO(zf.read(n)))) for n in zf.namelist() if n.endswith(".png")}


def test_awkward_folder_to_zip(awkward_dir, tmp_path):
    dest = tmp_path / "out" / "ds.zip"
    report = prepare_dataset(awkward_dir, dest, PrepareOptions(resolution=32))
    by_src = {f.source: f for f in report.files}

    skipped = {f.source: f.skipped for f in report.files if f.skipped}
    assert set(skipped) == {"corrupt.png", "truncated.png", "good_copy.png", "notes.txt"}
    assert skipped["corrupt.png"] == "not a readable image"
    assert skipped["truncated.png"].startswith("truncated or corrupt")
    assert skipped["good_copy.png"] == "duplicate of good.png (identical file)"
    assert report.num_kept == 11 and report.channels == 3 and report.resolution == 32
    assert report.skip_counts() == {"not a readable image": 1, "truncated or corrupt": 1, "duplicate": 1,
                                    "not an image file": 1}
    assert "CMYK -> RGB" in by_src["cmyk.jpg"].notes
    assert "palette -> RGBA" in by_src["palette.png"].notes
    assert "alpha composited over background" in by_src["rgba.png"].notes
    assert "16-bit -> 8-bit" in by_src["gray16.png"].notes
    assert "grayscale -> RGB" in by_src["gray.png"].notes
    assert "EXIF-rotated" in by_src["exif.jpg"].notes
    assert "upscaled from 8x8" in by_src["small.png"].notes
    assert by_src["wide.jpg"].notes == ("cropped from 64x32",)
    assert not any("upscaled" in n for n in by_src["good.png"].notes)
    assert by_src["sub/nested.png"].kept_as  # recursive

    # Official layout: stored members, 00000/img0000000N.png, dataset.json with "labels": null.
    with zipfile.ZipFile(dest) as zf:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
        assert json.loads(zf.read("dataset.json")) == {"labels": None}
        meta = json.loads(zf.read("meta.json"))["images"]
    images = read_zip_images(dest)
    assert sorted(images) == [f"00000/img{i:08d}.png" for i in range(11)]
    assert all(re.fullmatch(r"\d{5}/img\d{8}\.png", n) for n in images)
    assert {a.shape for a in images.values()} == {(32, 32, 3)}

    # Pixel checks: transparent half is white, 16-bit values scaled, CMYK red is red.
    pix = {meta[n]["source"]: a.astype(int) for n, a in images.items()}
    assert (pix["rgba.png"][:, :12] == 255).all() and (abs(pix["rgba.png"][:, 20:] - [0, 0, 255]) <= 2).all()
    assert (abs(pix["gray16.png"] - 100) <= 1).all()
    assert (abs(pix["rgb16.png"] - [10, 20, 30]) <= 1).all()
    assert (abs(pix["cmyk.jpg"] - [255, 0, 0]) <= 8).all()

    # Report and preview beside the destination; the report lists every skipped file.
    text = (tmp_path / "out" / "ds-report.txt").read_text()
    assert "corrupt.png: not a readable image" in text and "good_copy.png: duplicate of good.png" in text
    assert "kept     sub/nested.png -> 00000/img00000009.png\n" in text  # every file, kept ones too
    assert PIL.Image.open(tmp_path / "out" / "ds-preview.png").size[0] > 32
    assert ImageDataset(dest).image_shape == [3, 32, 32]


def test_exif_rotation_applied():
    exif = PIL.Image.Exif()
    exif[0x0112] = 6
    img, notes = image_ops.decode(encode(noise((40, 20), 0), "JPEG", exif=exif.tobytes()))
    assert img.size == (20, 40) and notes == ["EXIF-rotated"]


def test_transforms_shapes_and_padding():
    img = solid("RGB", (40, 20), (0, 0, 0))
    out, _ = image_ops.apply_transform(img, "pad", 16, 16, "lanczos", (255, 255, 255))
    a = np.asarray(out)
    assert a.shape == (16, 16, 3) and (a[0] == 255).all() and (a[8] == 0).all()  # letterboxed in white
    out, _ = image_ops.apply_transform(img, "center-crop-wide", 16, 8, "box", (255, 255, 255))
    a = np.asarray(out)
    assert a.shape == (16, 16, 3) and (a == 0).all()  # black band on the official black canvas
    out, notes = image_ops.apply_transform(noise((30, 60), 0), "center-crop", 16, 16, "box", (0, 0, 0))
    assert out.size == (16, 16) and notes == ["cropped from 30x60"]


def test_grayscale_only_gives_one_channel_and_keep_alpha_four(tmp_path):
    src = write_files(tmp_path / "g", {"a.png": encode(solid("L", (16, 16), 10)),
                                       "b.png": encode(solid("LA", (16, 16), (200, 255)))})
    assert prepare_dataset(src, tmp_path / "g.zip", PrepareOptions(resolution=16)).channels == 1
    report = prepare_dataset(src, tmp_path / "ga.zip", PrepareOptions(resolution=16, keep_alpha=True))
    assert report.channels == 4
    assert {a.shape for a in read_zip_images(tmp_path / "ga.zip").values()} == {(16, 16, 4)}


def test_folder_destination_labels_from_dataset_json(tmp_path):
    files = {"a.png": encode(noise((20, 20), 0)), "b.png": encode(noise((20, 20), 1)),
             "c.png": encode(noise((20, 20), 2)),
             "dataset.json": json.dumps({"labels": [["a.png", 0], ["b.png", 2]]}).encode()}
    src = write_files(tmp_path / "src", files)
    report = prepare_dataset(src, tmp_path / "dst", PrepareOptions(resolution=16))
    assert [f.skipped for f in report.files if f.skipped] == ["no label in dataset.json"]
    labels = json.loads((tmp_path / "dst" / "dataset.json").read_text())["labels"]
    assert labels == [["00000/img00000000.png", 0], ["00000/img00000001.png", 2]]
    assert not list((tmp_path / "dst").glob("*preview*"))  # never inside: loaders would take it for data
    ds = ImageDataset(tmp_path / "dst", use_labels=True)
    assert ds.label_dim == 3 and ds[1][1].tolist() == [0, 0, 1] and ds.has_labels


def test_labels_from_dirs(tmp_path):
    files = {"wrap/dogs/x.png": encode(noise((20, 20), 0)), "wrap/cats/y.png": encode(noise((20, 20), 1)),
             "wrap/cats/z.png": encode(noise((20, 20), 2)), "wrap/loose.png": encode(noise((20, 20), 3))}
    src = write_files(tmp_path / "src", files)
    report = prepare_dataset(src, tmp_path / "d.zip", PrepareOptions(resolution=16, labels_from_dirs=True))
    assert report.class_names == ("cats", "dogs") and report.label_dim == 2
    assert {f.source: f.skipped for f in report.files if f.skipped} == {"wrap/loose.png": "not in a class sub-folder"}
    ds = ImageDataset(tmp_path / "d.zip", use_labels=True)
    assert ds.class_names == ("cats", "dogs") and ds.label_counts().tolist() == [2, 1]


def test_zip_source_max_images_and_pixel_duplicates(tmp_path):
    src = tmp_path / "src.zip"
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("__MACOSX/._a.png", b"junk")
        zf.writestr("a.png", encode(solid("RGB", (16, 16), (1, 2, 3))))
        zf.writestr("b.bmp", encode(solid("RGB", (16, 16), (1, 2, 3)), "BMP"))  # same pixels, other file
        for i in range(4):
            zf.writestr(f"n{i}.png", encode(noise((16, 16), i)))
    report = prepare_dataset(src, tmp_path / "o.zip", PrepareOptions(resolution=16, max_images=3))
    assert report.num_kept == 3 and report.not_processed == 2
    assert report.skip_counts() == {"system metadata file": 1, "duplicate": 1}


def test_failure_leaves_nothing(awkward_dir, tmp_path, monkeypatch):
    calls = []

    def failing_encode(arr, level):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return b"png"

    monkeypatch.setattr(prepare, "encode_png", failing_encode)
    for dest in (tmp_path / "x.zip", tmp_path / "x"):
        calls.clear()
        with pytest.raises(RuntimeError):
            prepare_dataset(awkward_dir, dest, PrepareOptions(resolution=16))
        assert not dest.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["awkward"]  # no partial files either


def test_a_dataset_never_appears_without_its_report(awkward_dir, tmp_path, monkeypatch):
    def interrupted(path, text):
        raise KeyboardInterrupt

    monkeypatch.setattr(prepare, "write_text_atomic", interrupted)
    with pytest.raises(KeyboardInterrupt):
        prepare_dataset(awkward_dir, tmp_path / "x.zip", PrepareOptions(resolution=16))
    assert not (tmp_path / "x.zip").exists()  # (A rerun prepares it again, report and all.)


def test_bad_inputs_are_user_errors(awkward_dir, tmp_path):
    with pytest.raises(UserError, match="nope"):
        prepare_dataset(tmp_path / "nope", tmp_path / "o.zip")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="empty: no usable images"):
        prepare_dataset(tmp_path / "empty", tmp_path / "o.zip")
    with pytest.raises(UserError, match="inside the source"):
        prepare_dataset(awkward_dir, awkward_dir / "out.zip")
    with pytest.raises(UserError, match="power of two"):
        PrepareOptions(resolution=100)
    with pytest.raises(UserError, match="WxH"):
        PrepareOptions(resolution=64, transform="center-crop-wide")
    prepare_dataset(awkward_dir, tmp_path / "o.zip", PrepareOptions(resolution=16))
    with pytest.raises(UserError, match="already exists"):
        prepare_dataset(awkward_dir, tmp_path / "o.zip", PrepareOptions(resolution=16))
    prepare_dataset(awkward_dir, tmp_path / "o.zip", PrepareOptions(resolution=16, overwrite=True))
    with pytest.raises(UserError, match="not a dataset"):  # never replace a folder of the user's own files
        prepare_dataset(tmp_path / "o.zip", awkward_dir.parent, PrepareOptions(resolution=16, overwrite=True))
    fifo = tmp_path / "a-pipe"
    os.mkfifo(fifo)  # Neither a folder nor a file (as /dev/full): named as such, not as a folder.
    with pytest.raises(UserError, match="a-pipe: not a folder or a file"):
        prepare_dataset(awkward_dir, fifo, PrepareOptions(resolution=16, overwrite=True))
