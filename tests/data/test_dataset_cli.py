"""`stylegan dataset`: a thin shell over prepare_dataset; bad arguments are one-line errors (exit 2)."""

from __future__ import annotations

import zipfile

import pytest

from stylegan.cli import main


def test_cli_prepares_and_prints_report(awkward_dir, tmp_path, capsys):
    dest = tmp_path / "cats.zip"
    assert main(["dataset", "--source", str(awkward_dir), "--dest", str(dest), "--resolution", "16",
                 "--transform", "pad", "--resize-filter", "box", "--max-images", "5"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "preparing: 0/" in captured.err  # Progress lines off a terminal.
    assert "kept 5" in out and "corrupt.png: not a readable image" in out and "cats-report.txt" in out
    assert len([n for n in zipfile.ZipFile(dest).namelist() if n.endswith(".png")]) == 5
    assert (tmp_path / "cats-preview.png").is_file()


@pytest.mark.parametrize("extra, message", [
    (["--resolution", "100"], "power of two"),
    (["--transform", "center-crop-wide", "--resolution", "64"], "WxH"),
    (["--resolution", "64x32"], "center-crop-wide"),
])
def test_cli_bad_values_are_one_line_errors(awkward_dir, tmp_path, capsys, extra, message):
    assert main(["dataset", "--source", str(awkward_dir), "--dest", str(tmp_path / "o.zip")] + extra) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("stylegan dataset: error:")
    assert not (tmp_path / "o.zip").exists()


def test_cli_missing_source_and_existing_dest(awkward_dir, tmp_path, capsys):
    assert main(["dataset", "--source", str(tmp_path / "nowhere"), "--dest", str(tmp_path / "o.zip")]) == 2
    assert "nowhere: no such file or folder" in capsys.readouterr().err
    (tmp_path / "o.zip").write_bytes(b"x")
    assert main(["dataset", "--source", str(awkward_dir), "--dest", str(tmp_path / "o.zip")]) == 2
    assert "already exists" in capsys.readouterr().err


@pytest.mark.parametrize("extra", [["--max-images", "0"], ["--resolution", "big"], ["--background", "nocolour"]])
def test_cli_unparsable_arguments(tmp_path, extra):
    with pytest.raises(SystemExit) as e:
        main(["dataset", "--source", str(tmp_path), "--dest", str(tmp_path / "o.zip")] + extra)
    assert e.value.code == 2


def test_cli_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(["dataset", "--help"])
    assert "Examples:" in capsys.readouterr().out


def test_cli_folder_dest_empty_or_overwritten(awkward_dir, tmp_path, capsys):
    dest = tmp_path / "ds"
    dest.mkdir()  # An empty folder is filled as is.
    args = ["dataset", "--source", str(awkward_dir), "--dest", str(dest), "--resolution", "16"]
    assert main(args) == 0
    assert (dest / "dataset.json").is_file()
    (dest / "stale.txt").write_text("from the old dataset")
    assert main(args) == 2 and "pass --overwrite" in capsys.readouterr().err
    assert main(args + ["--max-images", "3", "--overwrite"]) == 0  # The old dataset folder is replaced whole.
    files = sorted(p.name for p in dest.rglob("*") if p.is_file())
    assert len([f for f in files if f.endswith(".png")]) == 3 and "stale.txt" not in files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["awkward", "ds", "ds-preview.png", "ds-report.txt"]
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    assert main(["dataset", "--source", str(awkward_dir), "--dest", str(tmp_path / "mine"), "--overwrite"]) == 2
    assert "not a dataset" in capsys.readouterr().err and (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_cli_report_has_no_empty_per_file_section(tmp_path, capsys):
    """Uniform pictures that need no change: the summary alone (no "per file:" heading with nothing under it)."""
    from trainutil import disc_images

    (tmp_path / "discs").mkdir()
    src = disc_images(tmp_path / "discs", 16, n=6)
    assert main(["dataset", "--source", str(src), "--dest", str(tmp_path / "o.zip"), "--resolution", "16"]) == 0
    out = capsys.readouterr().out
    assert "kept 6" in out and "per file:" not in out
    assert "per file:" in (tmp_path / "o-report.txt").read_text()  # The report file lists every kept file.
