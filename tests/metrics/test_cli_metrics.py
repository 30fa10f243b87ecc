"""`stylegan metrics`: network mode in a run directory, two-set mode on folders, --json, errors."""

from __future__ import annotations

import json

import numpy as np
import PIL.Image
import pytest

from stylegan.cli import main


def _folder(path, seed: int, n: int = 4, res: int = 32):
    path.mkdir(parents=True)
    rng = np.random.RandomState(seed)
    for i in range(n):
        base = rng.randint(0, 256, size=[4, 4, 3]).astype(np.uint8)
        img = PIL.Image.fromarray(base).resize((res, res), PIL.Image.BILINEAR)
        img.save(path / f"img{i:02d}.png")
    return path


@pytest.fixture
def run_dir(tmp_path, tiny_G):
    from stylegan.checkpoint import save

    run = tmp_path / "00000-run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    (run / "stats.jsonl").write_text("")
    save(tiny_G, run / "network-snapshot-000000.safetensors")
    return run


def test_network_metrics_json_last_line_and_run_dir(run_dir, tmp_path, standins, capsys):
    reals = _folder(tmp_path / "reals", 0, n=8, res=16)
    net = run_dir / "network-snapshot-000000.safetensors"
    argv = ["metrics", "--network", str(net), "--data", str(reals), "--metrics", "fid50k_full,swd16k",
            "--num", "8", "--detector", str(standins["plain"]), "--device", "cpu", "--json"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    out = captured.out.strip().splitlines()
    results = json.loads(out[-1])
    assert "8/8 img (100%)" in captured.err and "\r" not in captured.err  # Progress lines off a terminal.
    assert set(results) >= {"fid8_full", "swd8"} and all(np.isfinite(v) for v in results.values())
    assert any(line.startswith("fid8_full") for line in out[:-1])  # The table.
    assert f"appended to {run_dir / 'metric-fid8_full.jsonl'}, {run_dir / 'metric-swd8.jsonl'}" in out
    record = json.loads((run_dir / "metric-fid8_full.jsonl").read_text().splitlines()[-1])
    assert record["metric"] == "fid8_full" and record["results"] == {"fid8_full": results["fid8_full"]}
    assert record["snapshot_pkl"] == net.name and (run_dir / "metric-swd8.jsonl").is_file()


def test_two_sets_with_the_shared_inception(tmp_path, inception_path, capsys):
    a, b = _folder(tmp_path / "a", 1), _folder(tmp_path / "b", 2)
    argv = ["metrics", "--data", str(a), "--ref", str(b), "--metrics", "fid,kid", "--detector", str(inception_path),
            "--device", "cpu", "--json"]
    assert main(argv) == 0
    results = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(results) == {"fid", "kid"} and results["fid"] > 1 and np.isfinite(results["kid"])


def test_data_larger_than_the_network_is_downscaled(run_dir, tmp_path, capsys):
    from stylegan.data import PrepareOptions, prepare_dataset

    net = str(run_dir / "network-snapshot-000000.safetensors")  # 16x16, as a --preset small run on 32x32 data.
    raw = _folder(tmp_path / "raw32", 3, n=6, res=32)
    prepared = tmp_path / "p32.zip"
    prepare_dataset(raw, prepared, PrepareOptions(resolution=32))
    for data in (raw, prepared):  # Raw: prepared at 16 once; prepared: box-downscaled on load, as in training.
        argv = ["metrics", "--network", net, "--data", str(data), "--metrics", "swd16k", "--num", "6", "--json",
                "--device", "cpu", "--cache-dir", str(tmp_path / "c"), "--no-progress"]
        assert main(argv) == 0, capsys.readouterr().err  # Was: "swd compares images of one resolution: 16 and 32".
        assert np.isfinite(json.loads(capsys.readouterr().out.strip().splitlines()[-1])["swd6"])


def test_no_progress_is_quiet(tmp_path, capsys):  # The raw folders' on-the-fly preparation included.
    a, b = _folder(tmp_path / "a", 1, n=2, res=16), _folder(tmp_path / "b", 2, n=2, res=16)
    argv = ["metrics", "--data", str(a), "--ref", str(b), "--metrics", "swd", "--cache-dir", str(tmp_path / "c")]
    assert main([*argv, "--no-progress"]) == 0
    assert capsys.readouterr().err == ""
    with pytest.raises(SystemExit):
        main([*argv, "--workers", "-1"])
    assert "argument --workers: must be >= 0, got -1" in capsys.readouterr().err


def test_missing_detector_offline(tmp_path, capsys):
    a = _folder(tmp_path / "a", 1, n=2, res=16)
    assert main(["metrics", "--data", str(a), "--ref", str(a), "--metrics", "fid", "--offline"]) == 2
    err = capsys.readouterr().err
    assert "--detector PATH" in err and "STYLEGAN_INCEPTION" in err and "inception-2015-12-05.pt" in err


def test_usage_errors(capsys, run_dir):
    assert main(["metrics", "--data", "x"]) == 2
    assert "--ref" in capsys.readouterr().err
    net = str(run_dir / "network-snapshot-000000.safetensors")
    assert main(["metrics", "--network", net, "--metrics", "nope", "--device", "cpu"]) == 2
    assert "unknown metric 'nope'" in capsys.readouterr().err
    assert main(["metrics", "--list"]) == 0
    listing = capsys.readouterr().out
    for name in ("fid50k_full", "kid50k_full", "pr50k3_full", "ppl2_wend", "is50k", "eqt50k_int", "eqt50k_frac",
                 "eqr50k"):
        assert name in listing
