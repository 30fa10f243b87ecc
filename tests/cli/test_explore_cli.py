"""`stylegan mix | truncation | video | project | directions | edit | card` and `generate --projected-w` as a user
runs them: the promised files appear, and bad input gives one line on stderr (exit status 2), no traceback."""

import numpy as np
import PIL.Image
import pytest
import torch
from tiny import tiny_generator_config
from videoutil import mp4_info

from stylegan import checkpoint
from stylegan.cli import main
from stylegan.models import Generator


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("net") / "net.safetensors"
    checkpoint.save(Generator(tiny_generator_config()), path)
    return str(path)


def run(*args) -> int:
    return main([*args, "--device", "cpu"])


def names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def image(path) -> PIL.Image.Image:
    with PIL.Image.open(path) as im:
        im.load()
        return im


def test_mix_writes_cells_and_grid(net, tmp_path, capsys):
    assert run("mix", "--network", net, "--rows", "85,100", "--cols", "55,821,1789", "--styles", "fine",
               "--trunc", "0.7", "--outdir", str(tmp_path)) == 0
    assert names(tmp_path) == sorted(["grid.png"] + [f"{r}-{c}.png" for r in (85, 100) for c in (55, 821, 1789)])
    assert image(tmp_path / "grid.png").size == (4 * 16, 3 * 16)
    assert "fine 3-5" in capsys.readouterr().out  # The groups used are printed.
    assert image(tmp_path / "100-55.png").text["stylegan:styles"] == "[3, 4, 5]"


def test_truncation_grid_accepts_negative_psi(net, tmp_path):
    assert run("truncation", "--network", net, "--seeds", "0-1", "--psi", "-1,-0.5,0,1", "--outdir", str(tmp_path)) == 0
    assert image(tmp_path / "grid.png").size == (4 * 16, 2 * 16)
    assert "seed0001-psi-0.5.png" in names(tmp_path) and len(names(tmp_path)) == 9
    a = np.asarray(image(tmp_path / "seed0000-psi0.png"))
    assert np.array_equal(a, np.asarray(image(tmp_path / "seed0001-psi0.png")))  # psi 0: the same w_avg.


def test_video_mp4_has_the_promised_frames(net, tmp_path, capsys):
    pytest.importorskip("imageio_ffmpeg")
    out = tmp_path / "walk.mp4"
    assert run("video", "--network", net, "--seeds", "0-7", "--grid", "2x2", "--w-frames", "3", "--trunc", "0.7",
               "--output", str(out)) == 0
    assert names(tmp_path) == ["walk.mp4"]
    assert mp4_info(out) == (2 * 3, (32, 32))  # 2 keyframes per cell x 3 frames, 2x2 cells of 16 px.
    err = capsys.readouterr().err  # Not a terminal: progress as whole lines, the first and the last at least.
    assert "walk.mp4: 0/6 frame (0%)" in err and "walk.mp4: 6/6 frame (100%)" in err and "\r" not in err


def test_video_gif_in_z(net, tmp_path):
    out = tmp_path / "walk.gif"
    assert run("video", "--network", net, "--seeds", "0-2", "--space", "z", "--w-frames", "2", "--output",
               str(out)) == 0
    with PIL.Image.open(out) as im:
        assert im.n_frames == 6 and im.size == (16, 16)


def test_project_then_generate_projected_w(net, tmp_path, capsys):
    main(["generate", "--network", net, "--seeds", "7", "--outdir", str(tmp_path / "g"), "--device", "cpu"])
    out = tmp_path / "proj"
    assert run("project", "--network", net, "--target", str(tmp_path / "g" / "seed0007.png"), "--num-steps", "4",
               "--space", "w+", "--distance", "pixel", "--save-video", "--outdir", str(out)) == 0
    assert names(out) == ["proj.mp4", "proj.png", "projected_w.npz", "target.png"]
    assert "projecting: 4/4 step (100%)" in capsys.readouterr().err
    with np.load(out / "projected_w.npz", allow_pickle=False) as f:
        assert f["w"].shape == (1, 6, 32)
    assert run("generate", "--network", net, "--projected-w", str(out / "projected_w.npz"), "--outdir",
               str(tmp_path / "r")) == 0
    assert np.array_equal(np.asarray(image(tmp_path / "r" / "proj00.png")),
                          np.asarray(image(out / "proj.png")))


def test_project_falls_back_offline(net, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STYLEGAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("STYLEGAN_VGG16", raising=False)
    PIL.Image.new("RGB", (40, 30), (200, 30, 30)).save(tmp_path / "t.png")
    assert run("project", "--network", net, "--target", str(tmp_path / "t.png"), "--num-steps", "2", "--offline",
               "--outdir", str(tmp_path / "p")) == 0
    captured = capsys.readouterr()
    assert "pixel+SSIM" in captured.err and "pixel+ssim distance" in captured.out
    assert run("project", "--network", net, "--target", str(tmp_path / "t.png"), "--num-steps", "2", "--offline",
               "--distance", "vgg16", "--outdir", str(tmp_path / "q")) == 2
    assert run("project", "--network", net, "--target", str(tmp_path / "t.png"), "--num-steps", "2",
               "--vgg", str(tmp_path / "missing.pt"), "--outdir", str(tmp_path / "v")) == 2
    assert "missing.pt" in capsys.readouterr().err and not (tmp_path / "v").exists()


def test_directions_then_edit(net, tmp_path):
    dirs = tmp_path / "dirs.npz"
    assert run("directions", "--network", net, "--method", "sefa", "--num", "4", "--layers", "coarse,middle",
               "--out", str(dirs)) == 0
    with np.load(dirs, allow_pickle=False) as f:
        assert f["directions"].shape == (4, 32) and list(f["layers"]) == [0, 1, 2]
    assert run("edit", "--network", net, "--seeds", "0-1", "--directions", str(dirs), "--index", "1",
               "--strength", "-3,0,3", "--outdir", str(tmp_path / "e")) == 0
    assert "seed0001-s-3.png" in names(tmp_path / "e") and len(names(tmp_path / "e")) == 7
    assert image(tmp_path / "e" / "grid.png").size == (3 * 16, 2 * 16)
    assert run("directions", "--network", net, "--method", "ganspace", "--num", "3", "--samples", "300",
               "--out", str(tmp_path / "pca.npz")) == 0
    assert run("edit", "--network", net, "--seeds", "0", "--directions", str(tmp_path / "pca.npz"),
               "--layers", "fine", "--outdir", str(tmp_path / "e2")) == 0


def test_edit_warns_about_directions_of_another_network(net, tmp_path, capsys):
    torch.manual_seed(1)
    other = tmp_path / "other.safetensors"
    checkpoint.save(Generator(tiny_generator_config()), other)  # Same shapes, other weights.
    assert run("directions", "--network", str(other), "--num", "2", "--out", str(tmp_path / "d.npz")) == 0
    capsys.readouterr()
    assert run("edit", "--network", net, "--seeds", "0", "--directions", str(tmp_path / "d.npz"),
               "--outdir", str(tmp_path / "e")) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: ") and "d.npz: computed for another network" in err


def test_project_checks_the_class_before_looking_for_vgg16(tmp_path, monkeypatch, capsys):
    from stylegan.metrics import detectors

    torch.manual_seed(0)
    cond = tmp_path / "cond.safetensors"
    checkpoint.save(Generator(tiny_generator_config(c_dim=3)), cond)
    PIL.Image.new("RGB", (16, 16)).save(tmp_path / "t.png")
    monkeypatch.setenv("STYLEGAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("STYLEGAN_VGG16", raising=False)
    fetched = []
    monkeypatch.setattr(detectors, "_open_url", lambda url, timeout=60: fetched.append(url) or 1 / 0)
    assert run("project", "--network", str(cond), "--target", str(tmp_path / "t.png"), "--outdir",
               str(tmp_path / "p")) == 2
    assert "conditional" in capsys.readouterr().err and fetched == []


def test_card_writes_page_and_images(net, tmp_path):
    assert run("card", "--network", net, "--outdir", str(tmp_path)) == 0
    assert names(tmp_path) == ["card.html", "mixing.png", "samples_psi0.7.png", "samples_psi1.png", "truncation.png"]
    assert "No metrics are available" in (tmp_path / "card.html").read_text()
    # Metrics computed through stylegan.metrics (a detector-free one, on 8 samples).
    assert run("card", "--network", net, "--metrics", "msssim20k", "--num", "8", "--outdir", str(tmp_path / "m")) == 0
    text = (tmp_path / "m" / "card.html").read_text()
    assert "<td>msssim8</td>" in text and "computed for this card (8 samples)" in text


def test_card_takes_the_metrics_detector_flags(net, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STYLEGAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("STYLEGAN_INCEPTION", raising=False)
    (tmp_path / "data").mkdir()
    for i in range(4):
        PIL.Image.new("RGB", (16, 16), (60 * i, 0, 0)).save(tmp_path / "data" / f"{i}.png")
    fid = ["card", "--network", net, "--metrics", "fid50k_full", "--num", "8", "--data", str(tmp_path / "data")]
    assert run(*fid, "--detector", str(tmp_path / "no.pt"), "--outdir", str(tmp_path / "a")) == 2
    assert "--detector: " in capsys.readouterr().err  # The message names the flag the card has.
    assert run(*fid, "--offline", "--outdir", str(tmp_path / "b")) == 2
    assert "downloads are disabled; provide the inception detector with --detector PATH" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["generate", "--seeds", "0", "--trunc", "1e39"],
                                  ["mix", "--rows", "1", "--cols", "2", "--trunc=-2e6"],
                                  ["video", "--seeds", "0", "--rotate", "1e308", "--output", "v.mp4"]])
def test_huge_values_are_refused(net, capsys, argv):  # Beyond float32 they raised in torch or made black images.
    with pytest.raises(SystemExit) as e:
        run(argv[0], "--network", net, *argv[1:])
    assert e.value.code == 2 and "must be within +-1e+06" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["mix", "--rows", "1", "--cols", "2", "--styles", "hair"], "unknown layer name 'hair'"),
    (["mix", "--rows", "1", "--cols", "2", "--styles", "0-40"], "out of range"),
    (["video", "--seeds", "0-3", "--grid", "2by2", "--output", "{tmp}/v.mp4"], "bad --grid '2by2'"),
    (["video", "--seeds", "0-2", "--grid", "2x1", "--output", "{tmp}/v.mp4"], "multiple of the grid"),
    (["video", "--seeds", "0", "--rotate", "5", "--w-frames", "1", "--output", "{tmp}/v.mp4"], "StyleGAN3"),
    (["truncation", "--seeds", "0", "--psi", "0,abc"], "bad --psi list '0,abc'"),
    (["truncation", "--seeds", "0", "--psi", "0,nan"], "finite"),
    (["generate", "--projected-w", "{tmp}/bad.npz"], "'w' has shape [1, 3, 32], this network needs [N, 6, 32]"),
    (["generate", "--projected-w", "{tmp}/missing.npz"], "no such file"),
    (["generate"], "pass --seeds (or --projected-w"),
    (["edit", "--seeds", "0", "--directions", "{tmp}/bad.npz"], "'directions' is missing"),
    (["edit", "--seeds", "0", "--directions", "{tmp}/dirs16.npz"], "needs [K, 32]"),
    (["project", "--target", "{tmp}/bad.npz"], "cannot read the image"),
    (["directions", "--method", "sefa", "--num", "99", "--out", "{tmp}/d.npz"], "--num must be in 1..32"),
    (["directions", "--method", "sefa", "--class", "0", "--out", "{tmp}/d.npz"], "--class applies to ganspace"),
    (["directions", "--method", "ganspace", "--num", "5", "--samples", "5", "--out", "{tmp}/d.npz"],
     "--samples must be more than --num (5)"),
    (["truncation", "--seeds", "0", "--psi", "0,,1"], "bad --psi list '0,,1'"),
    (["truncation", "--seeds", "0", "--psi", "1,1e39"], "finite numbers within +-1e+06"),  # Overflowed float32.
])
def test_bad_input_is_one_line(net, tmp_path, capsys, argv, message):
    np.savez(tmp_path / "bad.npz", w=np.zeros([1, 3, 32], np.float32))
    np.savez(tmp_path / "dirs16.npz", directions=np.eye(16, dtype=np.float32))
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    outdir = [] if any(a in argv for a in ("--output", "--out")) else ["--outdir", str(tmp_path / "o")]
    assert run(argv[0], "--network", net, *argv[1:], *outdir) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"stylegan {argv[0]}: error: ") and message in err and "\n" not in err, err
