"""Training: real steps change weights, exact resume, interruption, --dry-run, argument errors."""

import json
import warnings

import numpy as np
import pytest
import torch
from tiny import tiny_discriminator_config
from trainutil import TINY, cli, disc_images, final_snapshot, initial_nets, only_run, run_stats, run_train

from stylegan import checkpoint
from stylegan.cli import main


pytestmark = pytest.mark.usefixtures("own_cache")


def test_training_steps_change_weights_with_finite_losses(toy_data, tmp_path):
    run_train("--outdir", str(tmp_path / "runs"), "--data", str(toy_data), *TINY, "--kimg", "0.064", "--tick", "0.032",
              "--aug", "noaug")
    run = only_run(tmp_path / "runs")
    assert run.name == "00000-stylegan2-" + run.name.split("-", 2)[2]
    assert run.name.endswith(f"-{toy_data.name}-gpus1-batch8-gamma2")  # cfg, dataset, gpus, batch, gamma
    for name in ("config.json", "log.txt", "stats.jsonl", "reals.png", "fakes_init.png", "samples.png", "ada.png"):
        assert (run / name).is_file(), name
    records = run_stats(run)
    assert [r["tick"] for r in records] == [0, 1, 2]
    for r in records:
        for key in ("kimg", "tick", "sec_per_kimg", "loss_G", "loss_D", "r1", "pl", "augment_p"):
            assert key in r
        assert np.isfinite(r["loss_G"]) and np.isfinite(r["loss_D"])
    assert records[-1]["kimg"] == pytest.approx(0.064)
    doc = json.loads((run / "config.json").read_text())
    assert doc["environment"]["torch"] == torch.__version__ and "numpy" in doc["environment"]["packages"]
    assert len(doc["dataset"]["content_hash"]) == 64 and doc["dataset"]["num_images"] == 40
    ck = final_snapshot(run)
    assert ck.has("G_ema") and ck.has("G") and ck.has("D")
    # Weights moved away from the seeded initialization, and G_ema differs from G (it averages).
    init = initial_nets(run)
    G, G_ema, D = ck.state_dict("G"), ck.state_dict("G_ema"), ck.state_dict("D")
    key = "synthesis.b16.conv1.weight"
    assert not torch.equal(G[key], init.G.state_dict()[key])
    assert not torch.equal(G_ema[key], G[key]) and not torch.equal(G_ema[key], init.G.state_dict()[key])
    assert not torch.equal(D["b16.conv0.weight"], init.D.state_dict()["b16.conv0.weight"])
    assert all(torch.isfinite(v).all() for v in G.values())
    # The snapshot is usable as a network.
    net = checkpoint.load(sorted(run.glob("network-snapshot-*.safetensors"))[-1])
    assert net(torch.randn(2, net.z_dim), None).shape == (2, 3, 16, 16)


def test_resume_is_exact(toy_data, tmp_path):
    common = ["--data", str(toy_data), *TINY, "--tick", "0.032", "--snap", "1", "--aug", "noaug"]
    run_train("--outdir", str(tmp_path / "a"), *common, "--kimg", "0.096")
    run_train("--outdir", str(tmp_path / "b"), *common, "--kimg", "0.048")
    run_b = only_run(tmp_path / "b")
    # A process killed after logging a tick past its last snapshot (here: a made-up one, and a line cut short).
    with open(run_b / "stats.jsonl", "a") as f:
        f.write(json.dumps({"tick": 3, "kimg": 0.072, "time": 1e6}) + "\n" + '{"tick": 4, "ki')
    run_train("--resume", str(run_b), "--kimg", "0.096")
    a, b = final_snapshot(only_run(tmp_path / "a")), final_snapshot(run_b)
    assert a.tensors.keys() == b.tensors.keys()
    for k in a.tensors:
        assert torch.equal(a.tensors[k], b.tensors[k]), k
    # stats.jsonl reads as one run's: ticks 0, 1, 2, ... at growing kimg, and time goes on from the first part.
    stats = run_stats(run_b)
    assert [r["tick"] for r in stats] == list(range(len(stats)))
    assert [r["kimg"] for r in stats] == [0.008, 0.04, 0.048, 0.08, 0.096]
    times = [r["time"] for r in stats]
    assert times == sorted(times) and times[-1] < 1e6
    assert "removed 2 later tick(s) from stats.jsonl" in (run_b / "log.txt").read_text()


def test_interrupt_then_resume_is_exact(toy_data, tmp_path):
    """An interrupt between steps writes a snapshot; resuming from it ends with identical weights."""
    from stylegan.cli import build_parser
    from stylegan.train.launch import prepare_run
    from stylegan.train.loop import train

    common = ["--data", str(toy_data), *TINY, "--tick", "0.032", "--kimg", "0.064", "--aug", "noaug"]
    run_train("--outdir", str(tmp_path / "a"), *common)
    args = build_parser().parse_args(["train", "--outdir", str(tmp_path / "b"), *common])
    prep = prepare_run(args)
    assert train(prep.config, prep.run_dir, device="cpu", max_steps=3)[1] is False  # Stops mid-tick, like Ctrl-C.
    assert "interrupted at kimg 0.024 (0.024 kimg in" in (prep.run_dir / "log.txt").read_text()  # 3 steps of 8.
    leftover = prep.run_dir / ".network-snapshot-000096.safetensors.x1y2.partial"  # As kill -9 mid-write leaves it.
    leftover.write_bytes(b"half a file")
    run_train("--resume", str(prep.run_dir))
    assert not leftover.exists()
    a, b = final_snapshot(only_run(tmp_path / "a")), final_snapshot(prep.run_dir)
    for k in a.tensors:
        assert torch.equal(a.tensors[k], b.tensors[k]), k


def test_dry_run_prints_resolved_config(toy_data, tmp_path, capsys):
    assert main(["train", "--outdir", str(tmp_path / "runs"), "--data", str(toy_data), "--preset", "small",
                 "--gamma", "3", "--resolution", "8", "--dry-run"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["gamma"] == 3 and cfg["batch"] == 32 and cfg["G"]["img_resolution"] == 8  # 16x16 data, downscaled.
    assert cfg["G"]["mapping"]["num_layers"] == 2 and cfg["preset"] == "small"
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("args,message", [
    (["--data", "{tmp}/nope"], "nope"),
    (["--data", "{data}", "--gpus", "3", "--batch", "8"], "multiple of --gpus"),
    (["--data", "{data}", "--batch", "8", "--batch-gpu", "3"], "multiple of"),
    (["--data", "{data}", "--cfg", "stylegan9"], "--cfg"),
    (["--data", "{data}", "--batch", "0"], "argument --batch: must be >= 1, got 0"),
    (["--data", "{data}", "--mbstd-group", "0"], "argument --mbstd-group: must be >= 1"),
    (["--data", "{data}", "--seed", "-5"], "argument --seed: must be in 0..4.29497e+09, got -5"),
    (["--data", "{data}", "--p", "7"], "argument --p: must be in 0..1"),
    (["--data", "{data}", "--kimg", "-1"], "argument --kimg: must be > 0"),
    (["--data", "{data}", "--augpipe", "xyz"], "argument --augpipe: invalid choice: 'xyz'"),
    (["--data", "{data}", "--batch", "6"], "--batch 6 (per GPU: 6) must be a multiple of --mbstd-group 4"),
    (["--data", "{data}", "--metrics", "bogus"], "--metrics: unknown metric 'bogus'"),
    (["--data", "{data}", "--device", "tpu"], "unknown device 'tpu'"),
    (["--resume", "{tmp}/nope"], "--resume {tmp}/nope: no such run directory or file"),
    (["--data", "{data}", "--aug", "noaug", "--p", "0.3"], "--p applies to --aug fixed only"),  # As the official
    (["--data", "{data}", "--p", "0.3"], "ADA adjusts p itself"),  # train.py: each was accepted and recorded unused.
    (["--data", "{data}", "--aug", "fixed", "--target", "0.7"], "--target applies to --aug ada only"),
    (["--data", "{data}", "--aug", "noaug", "--augpipe", "bgcfnc"], "--augpipe cannot be used with --aug noaug"),
])
def test_bad_arguments_are_one_line_errors(toy_data, tmp_path, args, message):
    args = [a.format(tmp=tmp_path, data=toy_data) for a in args]
    r = cli("train", "--outdir", str(tmp_path / "runs"), *args, "--dry-run",
            env={"STYLEGAN_CACHE": str(tmp_path / "cache")})
    assert r.returncode == 2, r.stderr
    assert message.format(tmp=tmp_path) in r.stderr and "Traceback" not in r.stderr
    lines = [line for line in r.stderr.strip().splitlines() if not line.startswith(("usage:", " "))]
    assert len(lines) == 1  # One error line (argparse prints its usage block before it).


def test_resume_from_elsewhere_with_changed_metrics_and_workers(toy_data, tmp_path, monkeypatch, capsys):
    from stylegan.cli import build_parser
    from stylegan.train.launch import prepare_run

    monkeypatch.chdir(toy_data.parent)  # --data relative to the working directory, as typed.
    args = build_parser().parse_args(["train", "--outdir", str(tmp_path / "runs"), "--data", toy_data.name, *TINY,
                                      "--metrics", "swd16k"])
    run = prepare_run(args).run_dir  # (A run directory and its config; no training needed here.)
    assert json.loads((run / "config.json").read_text())["train"]["data"] == str(toy_data)  # Stored absolute.
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--resume", str(run), "--metrics", "none", "--workers", "3", "--dry-run"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["metrics"] == [] and cfg["workers"] == 3 and cfg["data"] == str(toy_data)  # Both were no-ops.
    assert main(["train", "--resume", str(run), "--dry-run"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["metrics"] == ["swd16k"] and cfg["workers"] == 0  # Flags not given keep the run's values.


def test_a_failed_resume_leaves_the_config_alone(toy_data, tmp_path, capsys):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(toy_data, data)
    run_train("--outdir", str(tmp_path / "runs"), "--data", str(data), *TINY, "--kimg", "0.016", "--tick", "0.016",
              "--aug", "noaug")
    run = only_run(tmp_path / "runs")
    before = (run / "config.json").read_text()
    shutil.rmtree(data)
    assert main(["train", "--resume", str(run), "--kimg", "0.032"]) == 2
    assert "its dataset" in capsys.readouterr().err and (run / "config.json").read_text() == before


def test_resolution_mismatch_on_transfer_is_an_error(toy_data, tmp_path):
    from tiny import tiny_generator_config

    from stylegan.models import Generator

    net = tmp_path / "net32.safetensors"
    checkpoint.save(Generator(tiny_generator_config(img_resolution=32)), net)
    r = cli("train", "--outdir", str(tmp_path / "runs"), "--data", str(toy_data), "--resume", str(net), "--dry-run",
            env={"STYLEGAN_CACHE": str(tmp_path / "cache")})
    assert r.returncode == 2
    assert "resolution 32" in r.stderr and "16" in r.stderr and "Traceback" not in r.stderr


def test_two_processes_equal_one_process_with_the_same_global_batch(toy_data, tmp_path):
    """torchrun with 2 CPU processes (gloo) == 1 process accumulating the same two shards of 4."""
    common = ["--data", str(toy_data), *TINY, "--tick", "0.032", "--kimg", "0.032", "--aug", "noaug"]
    env = {"STYLEGAN_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    one = cli("train", "--outdir", str(tmp_path / "one"), *common, "--batch-gpu", "4", env=env)
    assert one.returncode == 0, one.stderr
    two = cli("train", "--outdir", str(tmp_path / "two"), *common, "--gpus", "2", env=env)  # Launches torchrun.
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = final_snapshot(only_run(tmp_path / "one")), final_snapshot(only_run(tmp_path / "two"))
    assert "gpus2" in only_run(tmp_path / "two").name
    for k in a.tensors:  # Equal up to the order of float summation in the gradient all-reduce.
        assert torch.allclose(a.tensors[k], b.tensors[k], rtol=1e-4, atol=1e-5), k


def test_seed_shard_on_cpu_draws_what_a_full_reseed_draws(monkeypatch):
    """On a CPU device only the CPU generator is re-seeded (no accelerator seeding queued each step), and the
    shard's draws are exactly those after torch.manual_seed with the shard's seed."""
    from stylegan.train.data import seed_shard, shard_seed

    torch.manual_seed(shard_seed(7, 3, 1, 2))
    expected = torch.randn(5)
    torch.manual_seed(0)
    calls = []
    monkeypatch.setattr(torch, "manual_seed", lambda s: calls.append(s))
    seed_shard(7, 3, 1, 2, torch.device("cpu"))
    assert torch.equal(torch.randn(5), expected) and not calls
    seed_shard(7, 3, 1, 2, torch.device("cuda"))  # Other devices: every generator (CPU and accelerators).
    assert calls == [shard_seed(7, 3, 1, 2)]


@pytest.mark.parametrize("mode", ["bf16", "fp16", "fp16-layers"])
def test_training_with_the_cuda_precision_options(toy_data, tmp_path, monkeypatch, mode):
    """The CUDA precision options through every phase, the double-backward regularizers included, with the CPU
    standing in for CUDA: STYLEGAN_AUTOCAST=bf16|fp16 as CPU autocast, and the official FP16 layers (models/layout.py
    FP16_DEVICES). Finite losses and gradients, weights that move."""
    from stylegan.models import discriminator, layout, synthesis_v2
    from stylegan.nn import perf
    from stylegan.train import phases

    seen = set()
    if mode == "fp16-layers":
        monkeypatch.setattr(layout, "FP16_DEVICES", ("cuda", "cpu"))
        for module in (synthesis_v2, discriminator):
            def spy_dtype(*args, _f=module.layer_dtype, _m=module.__name__):
                dtype = _f(*args)
                seen.add((_m, dtype))
                return dtype
            monkeypatch.setattr(module, "layer_dtype", spy_dtype)
    else:
        monkeypatch.setattr(perf.Speed, "for_device", lambda self, device: self)  # As on a GPU: the options apply.
        monkeypatch.setattr(perf, "_speed", perf.Speed(autocast=mode))
        for name in ("g_main", "g_reg", "d_main", "d_reg"):
            def spy(*args, _phase=getattr(phases, name), _name=name):
                seen.add((_name, torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")))
                return _phase(*args)
            monkeypatch.setattr(phases, name, spy)
    run_train("--outdir", str(tmp_path / "runs"), "--data", str(toy_data), *TINY, "--preset", "stylegan2",
              "--kimg", "0.032", "--tick", "0.032", "--aug", "noaug")  # (preset stylegan2: path length on.)
    if mode == "fp16-layers":
        assert {(m.__name__, torch.float16) for m in (synthesis_v2, discriminator)} <= seen
    else:
        dtype = torch.bfloat16 if mode == "bf16" else torch.float16
        assert seen == {(name, True, dtype) for name in ("g_main", "g_reg", "d_main", "d_reg")}
    run = only_run(tmp_path / "runs")
    records = run_stats(run)
    first = records[0]  # Step 0 runs all four phases.
    assert np.isfinite([first[k] for k in ("loss_G", "loss_D", "r1", "pl")]).all() and first["nonfinite_grads"] == 0
    assert all(np.isfinite(r["loss_G"]) and np.isfinite(r["loss_D"]) for r in records)
    init, ck = initial_nets(run), final_snapshot(run)
    for net, ref in (("G", init.G), ("D", init.D)):
        trained = ck.state_dict(net)
        assert all(torch.isfinite(v).all() for v in trained.values())
        assert any(not torch.equal(v, ref.state_dict()[k]) for k, v in trained.items() if v.is_floating_point())


@pytest.mark.slow
@pytest.mark.filterwarnings("error:torch.compile of")  # A fallback to eager (perf.Compiled) fails the test.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Raised inside torch's own compile stack, not ours.
def test_compiled_main_phases_equal_eager(monkeypatch):
    """STYLEGAN_COMPILE (a CUDA option: the G main / D main forwards compiled, regularizers eager) with the CPU's
    inductor standing in for CUDA's (about a minute to compile here): from the same networks and inputs, G main and
    D main give the eager losses and gradients (D compiled in G main with frozen parameters, then trained in D main),
    and exactly G.mapping, G.synthesis and D are compiled. Phase by phase rather than whole runs: a difference
    points at its phase, and Adam's first step moves a weight by about lr whatever its gradient's size, so gradients
    equal up to rounding near zero leave eager and compiled weights up to ~lr apart after one step (measured)."""
    from stylegan.nn import perf
    from stylegan.train import phases
    from stylegan.train.options import TrainOptions, resolve_config
    from stylegan.train.setup import build_nets
    from stylegan.train.step import main_phase_nets

    if not perf.compile_follows_requires_grad():
        pytest.skip(f"torch.compile in PyTorch {torch.__version__} keeps graphs across requires_grad changes "
                    "(pytorch/pytorch#139476): training ignores STYLEGAN_COMPILE there")
    opts = TrainOptions(outdir="-", data="-", preset="small", cbase=256, cmax=32, batch=8, mbstd_group=4, aug="noaug")
    cfg = resolve_config(opts, res=16, channels=3, label_dim=0)
    eager = build_nets(cfg, torch.device("cpu"))
    compiled_fns = []
    compile_fn = torch.compile
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: compiled_fns.append(fn) or compile_fn(fn, **kw))
    compiled = main_phase_nets(eager, perf.Speed(compile="default"))
    real = torch.rand([8, 3, 16, 16], generator=torch.Generator().manual_seed(1)) * 2 - 1
    c = torch.zeros([8, 0])
    for phase, net in ((phases.g_main, eager.G), (phases.d_main, eager.D)):
        params = list(net.parameters())
        net.requires_grad_(True)
        results = []
        for nets in (eager, compiled):
            torch.manual_seed(2)  # The same z, style-mixing draws and per-pixel noise (fallback_random) for both.
            z = torch.randn([8, eager.G.z_dim])
            loss, _ = phase(nets, cfg, z, c, real, c, 0.0)
            results.append((loss.item(), torch.autograd.grad(loss, params, allow_unused=True)))
        net.requires_grad_(False)
        (loss_e, grads_e), (loss_c, grads_c) = results
        assert loss_c == pytest.approx(loss_e, rel=1e-5), phase.__name__
        assert sum(g is not None for g in grads_e) > len(params) // 2
        for g_e, g_c in zip(grads_e, grads_c):
            assert (g_e is None) == (g_c is None)
            if g_e is not None:
                torch.testing.assert_close(g_c, g_e, rtol=1e-4, atol=1e-5 * g_e.abs().max().item() + 1e-12)
    assert compiled_fns == [eager.G.mapping, eager.G.synthesis, eager.D]  # Each compiled once (module identity).


def test_compile_check_agrees_with_a_compiled_discriminator():
    """perf.compile_follows_requires_grad (its small module) answers for D as training uses it: compiled while
    frozen (G's phases), then run with trainable parameters (D's phase)."""
    from stylegan.models import Discriminator
    from stylegan.nn import perf

    torch.manual_seed(0)
    D = Discriminator(tiny_discriminator_config(mbstd_group_size=4))
    img = torch.randn(4, 3, 16, 16)
    assert perf.compile_follows_requires_grad() == perf.compiled_follows_requires_grad(D, img, None)


def test_training_ignores_compile_where_compiled_graphs_ignore_requires_grad(monkeypatch):
    """Where the check fails, STYLEGAN_COMPILE gives eager networks and one warning naming the PyTorch bug."""
    from stylegan.nn import perf
    from stylegan.train.phases import Nets
    from stylegan.train.step import main_phase_nets

    monkeypatch.setattr(perf, "compile_follows_requires_grad", lambda: False)
    n = Nets(G=torch.nn.Linear(1, 1), D=torch.nn.Linear(1, 1), G_ema=None, augment=None)
    with pytest.warns(UserWarning, match=r"STYLEGAN_COMPILE is ignored: .*pytorch/pytorch#139476"):
        assert main_phase_nets(n, perf.Speed(compile="default")) is n
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Decided once per Nets: no warning at later steps.
        assert main_phase_nets(n, perf.Speed(compile="default")) is n
        assert main_phase_nets(n, perf.Speed()) is n


def test_resume_refuses_a_finished_run_and_warns_about_ignored_flags(toy_data, tmp_path, capsys):
    run_train("--outdir", str(tmp_path / "runs"), "--data", str(toy_data), *TINY, "--kimg", "0.016", "--aug", "noaug")
    run = only_run(tmp_path / "runs")
    before = (run / "config.json").read_text()
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--kimg", "0.008"]) == 2  # Already there: nothing is changed.
    assert "already at kimg 0.016, at or past --kimg 0.008" in capsys.readouterr().err
    assert (run / "config.json").read_text() == before
    assert main(["train", "--resume", str(run), "--kimg", "0.024", "--gamma", "5", "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "warning: --resume" in err and "ignored: --gamma (only --kimg" in err
    assert json.loads((run / "config.json").read_text())["train"]["gamma"] != 5


def test_an_interrupted_run_exits_130(toy_data, tmp_path, monkeypatch, capsys):
    from stylegan.train import loop

    monkeypatch.setattr(loop.StopRequest, "requested", lambda self, d: True)  # As after Ctrl-C, at the first step.
    assert main(["train", "--outdir", str(tmp_path / "runs"), "--data", str(toy_data), *TINY, "--kimg", "1"]) == 130
    run = only_run(tmp_path / "runs")
    assert "interrupted; continue with: stylegan train --resume" in capsys.readouterr().err
    assert list(run.glob("network-snapshot-*.safetensors")) and not (run / "samples.png").exists()


def test_training_goes_on_when_its_output_pipe_closes(toy_data, tmp_path):
    """`stylegan train ... | head -1`: the reader goes away; the run still trains to the end, logging to log.txt."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "stylegan", "train", "--outdir", str(tmp_path / "runs"), "--data",
                             str(toy_data), *TINY, "--kimg", "0.032", "--tick", "0.008", "--aug", "noaug"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("starting at kimg 0;")
    proc.stdout.close()  # Later lines go to a closed pipe.
    err = proc.stderr.read()
    assert proc.wait() == 0, err
    assert "Traceback" not in err
    run = only_run(tmp_path / "runs")
    assert run_stats(run)[-1]["kimg"] == pytest.approx(0.032) and (run / "samples.png").is_file()
    log = (run / "log.txt").read_text()
    assert "<stdout> was closed; training goes on" in log and "finished at kimg 0.032" in log


def test_preparing_the_data_goes_on_when_the_output_pipe_closes(toy_data, tmp_path, own_cache):
    """`stylegan train --data RAW_FOLDER ... 2>&1 | head -0`: the reader is gone before the first line, while the raw
    pictures are still to be prepared; the data is prepared and the run trains to the end."""
    import shutil
    import subprocess
    import sys

    raw = shutil.copytree(toy_data, tmp_path / "raw")
    (raw / "damaged.png").write_bytes(b"not a picture")  # Reported and skipped: the folder is prepared into the cache.
    proc = subprocess.Popen([sys.executable, "-m", "stylegan", "train", "--outdir", str(tmp_path / "runs"), "--data",
                             str(raw), *TINY, "--kimg", "0.016", "--tick", "0.008", "--aug", "noaug"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    proc.stdout.close()
    assert proc.wait(timeout=600) == 0
    run = only_run(tmp_path / "runs")
    assert run_stats(run)[-1]["kimg"] == pytest.approx(0.016) and (run / "samples.png").is_file()
    assert list((tmp_path / "cache" / "datasets").glob("raw-*.zip"))  # Prepared into the test's own cache.


def test_an_error_in_the_loop_is_kept_in_log_txt(toy_data, tmp_path, monkeypatch):
    from stylegan.train import loop

    def failing_step(*args):
        raise RuntimeError("CUDA out of memory (simulated)")

    monkeypatch.setattr(loop, "train_step", failing_step)
    with pytest.raises(RuntimeError, match="simulated"):
        main(["train", "--outdir", str(tmp_path / "runs"), "--data", str(toy_data), *TINY, "--kimg", "1"])
    log = (only_run(tmp_path / "runs") / "log.txt").read_text()
    assert "stopped at kimg 0 by an error: RuntimeError: CUDA out of memory (simulated)" in log


def test_conditional_run_with_fewer_labelled_images_than_the_grid(tmp_path):
    (tmp_path / "lab").mkdir()
    data = disc_images(tmp_path / "lab", 16, n=6)
    labels = [[f"{i:02d}.png", i % 3] for i in range(6)]
    (data / "dataset.json").write_text(json.dumps({"labels": labels}))
    run_train("--outdir", str(tmp_path / "runs"), "--data", str(data), *TINY, "--cond", "--grid", "4x4",
              "--kimg", "0.008", "--aug", "noaug")  # 16 grid cells, 6 images: their labels repeat.
    run = only_run(tmp_path / "runs")
    assert (run / "fakes_init.png").is_file() and checkpoint.read(final_snapshot(run).path).has("D")


def test_a_damaged_dataset_is_named_and_leaves_no_run_directory(toy_data, tmp_path, capsys):
    import zipfile

    from stylegan.data import PrepareOptions, prepare_dataset

    good = tmp_path / "good.zip"
    prepare_dataset(toy_data, good, PrepareOptions(resolution=16))
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(tmp_path / "bad.zip", "w") as dst:
        victim = sorted(n for n in src.namelist() if n.endswith(".png"))[3]
        for n in src.namelist():
            dst.writestr(n, b"garbage" if n == victim else src.read(n))
    capsys.readouterr()
    assert main(["train", "--outdir", str(tmp_path / "runs"), "--data", str(tmp_path / "bad.zip"), *TINY,
                 "--kimg", "0.016"]) == 2
    err = capsys.readouterr().err
    assert f"{victim} is damaged" in err and "stopped before training started" in err
    assert list((tmp_path / "runs").iterdir()) == []  # Each failed attempt left 0000N-.../config.json before.
