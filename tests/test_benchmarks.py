"""The benchmarks run side by side with an official checkout (--official): stand-ins for the official modules (our
networks behind the official constructor signatures, a minimal loss) check the plumbing without the official code."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

STAND_IN = textwrap.dedent('''
    from stylegan.models import Generator as _Ours
    from stylegan.models.official import generator_config_from_official
    from stylegan.nn.impl import use_impl


    class Generator(_Ours):  # The official code runs its reference ops on CPU.
        def __init__(self, **kwargs):
            super().__init__(generator_config_from_official(kwargs, arch="stylegan2", writer="stylegan3"))

        def forward(self, *args, **kwargs):
            with use_impl("ref"):
                return super().forward(*args, **kwargs)
''')


def official_checkout(tmp_path: Path, **modules: str) -> Path:
    """A stand-in NVlabs/stylegan3 checkout with these training/ modules."""
    repo = tmp_path / "stylegan3"
    (repo / "training").mkdir(parents=True)
    (repo / "training" / "__init__.py").write_text("")
    for name, text in modules.items():
        (repo / "training" / f"{name}.py").write_text(text)
    return repo


@pytest.mark.parametrize("extra", [[], ["--grad-mode"]])  # Under inference_mode, or called as official scripts do.
def test_bench_generator_against_an_official_checkout(tmp_path, extra):
    repo = official_checkout(tmp_path, networks_stylegan2=STAND_IN)
    out = tmp_path / "gen.json"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_generator.py"), "--configs", "sg2-64",
                        "--batches", "1", "--modes", "official,ref,fast", "--official", str(repo), "--repeat", "1",
                        "--json", str(out), *extra], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "speedup_vs_official" in r.stdout  # The table.
    result = json.loads(out.read_text())
    assert result["args"]["grad_mode"] == bool(extra)
    rows = {row["mode"]: row for row in result["results"]}
    assert set(rows) == {"official", "ref", "fast"}
    assert rows["official"]["max_abs_diff_vs_ref"] == 0.0  # Same weights reached both networks.
    assert rows["fast"]["max_abs_diff_vs_ref"] < 1e-3
    assert rows["official"]["speedup_vs_official"] == 1.0 and rows["fast"]["speedup_vs_official"] > 0
    assert {row["cpu_allocator"] for row in rows.values()} == {"tuned"}  # One process: one allocator setting.


def test_bench_generator_as_shipped_runs_each_mode_alone(tmp_path):
    """--as-shipped: every mode in a process of its own, the official code with glibc's allocator as it ships."""
    repo = official_checkout(tmp_path, networks_stylegan2=STAND_IN)
    out = tmp_path / "gen.json"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_generator.py"), "--configs", "sg2-64",
                        "--batches", "1", "--modes", "official,fast", "--official", str(repo), "--repeat=2",
                        "--as-shipped", "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "round 2/2: fast in its own process" in r.stderr
    rows = {row["mode"]: row for row in json.loads(out.read_text())["results"]}
    assert set(rows) == {"official", "fast"}
    assert rows["official"]["cpu_allocator"] == "glibc default" and rows["fast"]["cpu_allocator"] == "tuned"
    for row in rows.values():
        assert len(row["rounds"]) == 2 and row["images/s"] in row["rounds"] and row["batch"] == 1
    assert rows["official"]["speedup_vs_official"] == 1.0 and rows["fast"]["speedup_vs_official"] > 0


NETWORKS = textwrap.dedent('''
    from stylegan.models import Discriminator as _D, Generator as _G
    from stylegan.models.official import discriminator_config_from_official, generator_config_from_official


    class Generator(_G):
        def __init__(self, **kwargs):
            super().__init__(generator_config_from_official(kwargs, writer="stylegan3"))


    class Discriminator(_D):
        def __init__(self, **kwargs):
            super().__init__(discriminator_config_from_official(kwargs))
''')

LOSS = textwrap.dedent('''
    import torch.nn.functional as F


    class StyleGAN2Loss:  # Logistic losses only, enough to give every phase gradients.
        def __init__(self, device, G, D, r1_gamma, style_mixing_prob, pl_weight, pl_batch_shrink, pl_decay):
            self.G, self.D = G, D

        def accumulate_gradients(self, phase, real_img, real_c, gen_z, gen_c, gain, cur_nimg):
            if phase == "Gmain":
                loss = F.softplus(-self.D(self.G(gen_z, gen_c), gen_c))
            else:
                loss = F.softplus(self.D(self.G(gen_z, gen_c).detach(), gen_c)) + F.softplus(-self.D(real_img, real_c))
            loss.mean().mul(gain).backward()
''')


@pytest.mark.parametrize("as_shipped", [False, True])
def test_bench_train_against_an_official_checkout(tmp_path, as_shipped):
    repo = official_checkout(tmp_path, networks_stylegan2=NETWORKS, loss=LOSS)
    out = tmp_path / "train.json"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_train.py"), "--configs", "small-32",
                        "--batch", "4", "--modes", "official,fast", "--official", str(repo), "--repeat", "1",
                        "--no-flops", "--json", str(out), *(["--as-shipped"] if as_shipped else [])],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = {row["mode"]: row for row in json.loads(out.read_text())["results"]}
    assert "error" not in rows["official"], rows["official"]
    assert rows["official"]["s/step(+Dreg)"] > 0 and rows["official"]["speedup_vs_official"] == 1.0
    assert rows["fast"]["speedup_vs_official"] > 0 and rows["fast"]["cpu_allocator"] == "tuned"
    # Training tunes the allocator for every network built in its process; alone, the official code keeps glibc's.
    assert rows["official"]["cpu_allocator"] == ("glibc default" if as_shipped else "tuned")


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("script", ["bench_generator.py", "bench_train.py", "bench_metrics.py", "bench_serve.py"])
def test_cuda_without_a_gpu_is_a_one_line_error(script):
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--device", "cuda"], capture_output=True,
                       text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].endswith("--device: cuda: no CUDA device on this machine "
                                                      f"(torch {__import__('torch').__version__})")
