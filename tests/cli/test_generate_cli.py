"""`stylegan generate`, `convert` and `inspect` as a user runs them."""

import json
import subprocess
import sys

import numpy as np
import PIL.Image
import pytest
import torch
from tiny import tiny_discriminator_config, tiny_generator_config

from stylegan import checkpoint
from stylegan.cli import main
from stylegan.flops import discriminator_flops, generator_flops
from stylegan.models import Discriminator, Generator, GeneratorConfig


@pytest.fixture
def net(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "net.safetensors"
    checkpoint.save(Generator(tiny_generator_config()), path)
    return path


@pytest.fixture
def cond_net(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "cond.safetensors"
    checkpoint.save(Generator(tiny_generator_config(c_dim=3)), path)
    return path


def test_generate_writes_named_pngs_with_provenance(net, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["generate", "--network", str(net), "--seeds", "0,2-3", "--trunc", "0.7", "--outdir", str(out),
                 "--grid", "--device", "cpu"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["grid.png", "seed0000.png", "seed0002.png", "seed0003.png"]
    im = PIL.Image.open(out / "seed0002.png")
    assert im.size == (16, 16) and im.mode == "RGB"
    assert PIL.Image.open(out / "grid.png").size == (32, 32)
    text = im.text
    assert text["stylegan:seed"] == "2" and text["stylegan:truncation_psi"] == "0.7"
    assert text["stylegan:model_id"] == checkpoint.read(net).model_id
    assert text["stylegan:noise_mode"] == "const" and text["Software"].startswith("stylegan ")
    assert "Creation Time" in text and text["stylegan:class"] == "none"
    assert main(["inspect", str(out / "seed0002.png")]) == 0
    assert "stylegan:seed" in capsys.readouterr().out


def test_generate_shows_progress_for_many_seeds(net, tmp_path, capsys):
    assert main(["generate", "--network", str(net), "--seeds", "0-3", "--outdir", str(tmp_path / "few")]) == 0
    assert "generate:" not in capsys.readouterr().err  # A few images: quick, no progress lines.
    assert main(["generate", "--network", str(net), "--seeds", "0-39", "--outdir", str(tmp_path / "many")]) == 0
    err = capsys.readouterr().err  # Not a terminal: whole lines, the last one at 100%.
    assert "generate: 40/40 img (100%)" in err and len(list((tmp_path / "many").iterdir())) == 40


def test_generate_is_deterministic_and_matches_library(net, tmp_path):
    main(["generate", "--network", str(net), "--seeds", "5", "--outdir", str(tmp_path / "a"), "--device", "cpu"])
    main(["generate", "--network", str(net), "--seeds", "5", "--outdir", str(tmp_path / "b"), "--device", "cpu"])
    a = np.asarray(PIL.Image.open(tmp_path / "a" / "seed0005.png"))
    b = np.asarray(PIL.Image.open(tmp_path / "b" / "seed0005.png"))
    assert np.array_equal(a, b)
    G = checkpoint.load(net)
    z = torch.from_numpy(np.random.RandomState(5).randn(1, G.z_dim)).float()
    img = (G(z, None, noise_mode="const") * 127.5 + 128).clamp(0, 255).to(torch.uint8)[0].permute(1, 2, 0).numpy()
    assert np.array_equal(a, img)


def test_conditional_class(cond_net, tmp_path):
    assert main(["generate", "--network", str(cond_net), "--seeds", "0", "--class", "2",
                 "--outdir", str(tmp_path / "o"), "--device", "cpu"]) == 0
    assert PIL.Image.open(tmp_path / "o" / "seed0000.png").text["stylegan:class"] == "2"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "stylegan", *args], capture_output=True, text=True)


@pytest.mark.parametrize("args,message", [
    (["--network", "{tmp}/missing.safetensors"], "no such file"),
    (["--network", "{tmp}/notanet.safetensors"], "not a safetensors file"),
    (["--network", "{cond}", "--class", "7"], "out of range"),
    (["--network", "{cond}"], "conditional"),
    (["--network", "{net}", "--trunc", "abc"], "not a number"),
    (["--network", "{net}", "--seeds", "x"], "bad seed list"),
])
def test_bad_inputs_are_one_line_errors(net, cond_net, tmp_path, args, message):
    (tmp_path / "notanet.safetensors").write_text("hello")
    args = [a.format(tmp=tmp_path, net=net, cond=cond_net) for a in args]
    if "--seeds" not in args:
        args += ["--seeds", "0"]
    r = run_cli("generate", *args, "--outdir", str(tmp_path / "o"), "--device", "cpu")
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    lines = [line for line in r.stderr.strip().splitlines() if not line.startswith(("usage:", " "))]
    assert len(lines) == 1  # One error line (argparse prints its usage block before it).


def test_convert_official_pickle_and_generate_from_either(official, tmp_path):
    pkl = official / "snapshot-stylegan3-sg2.pkl"
    dst = tmp_path / "conv.safetensors"
    assert main(["convert", str(pkl), str(dst)]) == 0
    assert checkpoint.read(dst).has("G_ema") and not checkpoint.read(dst).has("D")
    assert main(["convert", str(pkl), str(tmp_path / "all.safetensors"), "--which", "all"]) == 0
    assert checkpoint.read(tmp_path / "all.safetensors").has("D")
    for src, name in ((pkl, "p"), (dst, "s")):
        main(["generate", "--network", str(src), "--seeds", "1", "--outdir", str(tmp_path / name), "--device", "cpu"])
    a = np.asarray(PIL.Image.open(tmp_path / "p" / "seed0001.png"))
    b = np.asarray(PIL.Image.open(tmp_path / "s" / "seed0001.png"))
    assert np.array_equal(a, b)


def test_inspect_flops_counts_parameters_and_flops_of_g_and_d(tmp_path, capsys):
    torch.manual_seed(0)
    G = Generator(tiny_generator_config())
    D = Discriminator(tiny_discriminator_config(mbstd_group_size=2))
    path = tmp_path / "gd.safetensors"
    checkpoint.save(G, path, D=D)
    capsys.readouterr()
    assert main(["inspect", str(path), "--flops", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["G_params"] == sum(p.numel() for p in G.parameters()) > 0
    assert info["D_params"] == sum(p.numel() for p in D.parameters()) > 0
    assert info["G_GFLOP_per_image"] == pytest.approx(generator_flops(G) / 1e9, rel=1e-3)
    assert info["D_GFLOP_per_image"] == pytest.approx(discriminator_flops(D) / 1e9, rel=1e-3)
    assert main(["inspect", str(path)]) == 0 and "GFLOP" not in capsys.readouterr().out  # Opt-in.
    png = tmp_path / "x.png"
    PIL.Image.new("RGB", (4, 4)).save(png)
    r = run_cli("inspect", str(png), "--flops")
    assert r.returncode == 2 and "--flops needs a network file" in r.stderr


def test_inspect_official_pickle_with_flops(official, capsys):
    pkl = official / "snapshot-stylegan3-sg2.pkl"
    assert main(["inspect", str(pkl), "--flops", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    G = checkpoint.load(pkl)
    assert info["model_id"] == G.model_id and GeneratorConfig.from_dict(info["G_config"]) == G.config
    assert info["G_params"] == sum(p.numel() for p in G.parameters())
    assert info["G_GFLOP_per_image"] == pytest.approx(generator_flops(G) / 1e9, rel=1e-3)
    assert info["D_params"] > 0 and info["D_GFLOP_per_image"] > 0


def test_unknown_option_is_reported_by_its_command_with_the_closest_name(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "--network", "net.safetensors", "--outdir", "out", "--trunk", "0.5"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.startswith("usage: stylegan generate")  # The command's usage, not the list of commands.
    assert "stylegan generate: error: unrecognized arguments: --trunk 0.5 (did you mean --trunc?)" in err
    with pytest.raises(SystemExit):
        main(["video", "--network", "net.safetensors", "--seeds", "0", "--output", "v.mp4", "--duration=3"])
    assert capsys.readouterr().err.strip().endswith("stylegan video: error: unrecognized arguments: --duration=3")


def test_the_command_line_parses_without_importing_torch():
    """--help and argument errors come at once (torch takes seconds to import), and a Ctrl-C while torch loads is
    a command's ordinary interrupt. `stylegan.load` and the other public names still import on first use."""
    code = ("import sys, stylegan, stylegan.cli\n"
            "args = stylegan.cli.parse(['train', '--data', 'x', '--augpipe', 'bgc', '--detector', 'd.pt'])\n"
            "stylegan.cli.parse(['generate', '--network', 'n.safetensors', '--seeds', '0-3', '--trunc', '0.7',\n"
            "                    '--outdir', 'o'])\n"
            "assert 'torch' not in sys.modules, 'imported torch'\n"
            "assert stylegan.load.__module__ == 'stylegan.checkpoint' and 'torch' in sys.modules\n"
            "assert 'seeds_to_z' in dir(stylegan)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("command,message", [
    (["generate", "--network", "{net}", "--seeds", "0", "--outdir", "{tmp}/afile"], "afile: is a file, not a folder"),
    (["generate", "--network", "{net}", "--seeds", "0", "--outdir", "{tmp}/afile/sub"], "is a file, not a folder"),
    (["convert", "{pkl}", "{tmp}/folder"], "expected a file name ending in .safetensors"),
    (["convert", "{pkl}", "{tmp}/folder.safetensors"], "folder.safetensors: is an existing folder"),
    (["video", "--network", "{net}", "--seeds", "0", "--output", "{tmp}/v.avi"], "ending in .mp4 or .gif"),
    (["directions", "--network", "{net}", "--out", "{tmp}/folder.npz"], "is an existing folder"),
])
def test_output_paths_are_checked_before_any_work_and_folders_never_replaced(net, tmp_path, command, message):
    (tmp_path / "afile").write_text("x")
    for folder in ("folder", "folder.safetensors", "folder.npz"):
        (tmp_path / folder / "sub").mkdir(parents=True)
        (tmp_path / folder / "sub" / "keep.txt").write_text("mine")
    args = [a.format(net=net, tmp=tmp_path, pkl=tmp_path / "unread.pkl") for a in command]
    r = run_cli(*args)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
    for folder in ("folder", "folder.safetensors", "folder.npz"):
        assert (tmp_path / folder / "sub" / "keep.txt").read_text() == "mine"
    assert (tmp_path / "afile").read_text() == "x"


def test_an_output_folder_that_cannot_be_made_is_a_one_line_error(net, tmp_path, monkeypatch, capsys):
    import errno
    import pathlib

    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(pathlib.Path, "mkdir", read_only)  # As a read-only mount (root ignores chmod here).
    out = tmp_path / "ro" / "out"
    assert main(["generate", "--network", str(net), "--seeds", "0", "--outdir", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"stylegan generate: error: {out}: cannot write here (Read-only file system)"


def test_convert_names_a_folder_given_as_the_network(tmp_path, capsys):
    assert main(["convert", str(tmp_path), str(tmp_path / "c.safetensors")]) == 2
    assert capsys.readouterr().err.strip() == f"stylegan convert: error: {tmp_path}: is a folder, not a network file"
