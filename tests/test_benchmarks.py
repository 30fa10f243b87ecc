"""The generator benchmark runs side by side with an official checkout (--official): a stand-in for the official
module (our Generator behind the official constructor signature) checks the plumbing without the official code."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

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


def test_bench_generator_against_an_official_checkout(tmp_path):
    repo = tmp_path / "stylegan3"
    (repo / "training").mkdir(parents=True)
    (repo / "training" / "__init__.py").write_text("")
    (repo / "training" / "networks_stylegan2.py").write_text(STAND_IN)
    out = tmp_path / "gen.json"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_generator.py"), "--configs", "sg2-64",
                        "--batches", "1", "--modes", "official,ref,fast", "--official", str(repo), "--repeat", "1",
                        "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "speedup_vs_official" in r.stdout  # The table.
    rows = {row["mode"]: row for row in json.loads(out.read_text())["results"]}
    assert set(rows) == {"official", "ref", "fast"}
    assert rows["official"]["max_abs_diff_vs_ref"] == 0.0  # Same weights reached both networks.
    assert rows["fast"]["max_abs_diff_vs_ref"] < 1e-3
    assert rows["official"]["speedup_vs_official"] == 1.0 and rows["fast"]["speedup_vs_official"] > 0
