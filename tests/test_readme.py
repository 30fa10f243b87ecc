"""The README's first lines are the two fresh-machine commands, .ci/run runs the test one, and its Python runs."""

import re
from pathlib import Path

import torch

from stylegan import checkpoint
from stylegan.models import Generator
from tiny import tiny_generator_config

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def commands() -> list[str]:
    return [line.strip() for line in README.splitlines()[:12] if line.startswith("    python3 -m venv")]


def test_two_fresh_machine_commands_and_ci_runs_the_test_one():
    main_job, test_cmd = commands()
    assert "stylegan train" in main_job and "builtin:emoji" in main_job and "--preset small" in main_job
    assert "pytest" in test_cmd
    assert test_cmd in (ROOT / ".ci" / "run").read_text()


def test_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    checkpoint.save(Generator(tiny_generator_config()), tmp_path / "model.safetensors")
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "copy.safetensors").is_file()
