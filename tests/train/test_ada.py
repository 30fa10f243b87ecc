"""ADA controller: direction and size of the p steps, the floor at 0, accumulation, multi-process sums, resume."""

from __future__ import annotations

import io
import math

import pytest
import torch

from stylegan.train.ada import AdaController, ada_adjust


def drive(ctrl: AdaController, p: float, signs: torch.Tensor, batch_size: int = 32) -> float:
    """One update interval: observe `signs` over interval minibatches (one row each), then update p."""
    for row in signs.reshape(ctrl.interval, -1):
        ctrl.observe(row.sum(), row.numel())
    return ctrl.update(p, batch_size)


def test_ada_adjust_formula():
    step = 64 * 4 / (500 * 1000)
    assert ada_adjust(0.1, 0.9, 0.6, 64, 4, 500) == pytest.approx(0.1 + step)
    assert ada_adjust(0.1, 0.2, 0.6, 64, 4, 500) == pytest.approx(0.1 - step)
    assert ada_adjust(0.1, 0.6, 0.6, 64, 4, 500) == 0.1  # On target: no change.
    assert ada_adjust(0.1, math.nan, 0.6, 64, 4, 500) == 0.1
    assert ada_adjust(step / 2, -1.0, 0.6, 64, 4, 500) == 0.0  # Never below 0.
    assert ada_adjust(1.0, 1.0, 0.6, 64, 4, 500) > 1.0  # No upper clamp (official behaviour).


def test_p_rises_when_d_is_overconfident_on_reals_and_falls_otherwise():
    ctrl = AdaController(ada_kimg=1)  # 1000 images per unit of p: 32 * 4 / 1000 = 0.128 per update.
    ps = [0.0]
    for _ in range(5):
        ps.append(drive(ctrl, ps[-1], torch.ones(4 * 32)))  # r_t = 1 > 0.6: D is overconfident on reals.
    assert ps[1:] == pytest.approx([0.128 * k for k in range(1, 6)])
    assert ctrl.rt == 1.0
    unsure = torch.tensor([1.0, -1.0]).repeat(2 * 32)  # r_t = 0 < 0.6.
    p = drive(ctrl, ps[-1], unsure)
    assert p == pytest.approx(0.128 * 4)
    for _ in range(10):
        p = drive(ctrl, p, -torch.ones(4 * 32))
    assert p == 0.0 and ctrl.rt == -1.0


def test_step_size_scales_with_batch_interval_and_ada_kimg():
    for batch, interval, kimg in [(32, 4, 500), (64, 4, 100), (8, 1, 2)]:
        ctrl = AdaController(ada_kimg=kimg, interval=interval)
        p = drive(ctrl, 0.25, torch.ones(interval * batch), batch)
        assert p == pytest.approx(0.25 + batch * interval / (kimg * 1000))


def test_only_signs_since_the_last_update_count():
    ctrl = AdaController(target=0.0, ada_kimg=1, interval=1)
    ctrl.observe(torch.tensor(3.0), 3)
    ctrl.observe(torch.tensor(-1.0), 1)  # r_t = 2 / 4 = 0.5 > 0.
    assert ctrl.update(0.0, 10) == pytest.approx(0.01) and ctrl.rt == 0.5
    ctrl.observe(-2.0, 2)  # Plain numbers work too.
    assert ctrl.update(0.01, 10) == pytest.approx(0.0) and ctrl.rt == -1.0
    assert ctrl.update(0.3, 10) == 0.3 and ctrl.rt == -1.0  # No observations: p unchanged.


def test_summed_statistics_of_several_processes_equal_one_process():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn([4, 2, 16], generator=gen) + 1.5  # [minibatch, process, per-process batch]
    single, ranks = AdaController(ada_kimg=1), [AdaController(ada_kimg=1) for _ in range(2)]
    for step in range(4):
        single.observe(logits[step].sign().sum(), logits[step].numel())
        for rank, ctrl in enumerate(ranks):
            ctrl.observe(logits[step, rank].sign().sum(), logits[step, rank].numel())
    total = sum(ctrl.stats for ctrl in ranks)  # What all_reduce(SUM) leaves in every process.
    for ctrl in ranks:
        ctrl.stats.copy_(total)
    expected = single.update(0.0, 32)
    assert expected > 0 and all(ctrl.update(0.0, 32) == expected and ctrl.rt == single.rt for ctrl in ranks)


def test_state_dict_survives_resume_exactly():
    gen = torch.Generator().manual_seed(1)
    signs = [torch.randn([16], generator=gen).add(1.0).sign() for _ in range(13)]  # r_t near 0.6.

    def run(ctrl: AdaController, p: float, steps: list[torch.Tensor], offset: int) -> list[float]:
        ps = []
        for i, s in enumerate(steps, start=offset):
            ctrl.observe(s.sum(), s.numel())
            if (i + 1) % ctrl.interval == 0:
                p = ctrl.update(p, 16)
                ps.append(p)
        return ps

    expected = run(AdaController(ada_kimg=0.5), 0.1, signs, 0)
    first = AdaController(ada_kimg=0.5)
    before = run(first, 0.1, signs[:6], 0)  # Stop mid-interval: the accumulated statistics must survive too.
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)
    resumed = AdaController(ada_kimg=0.5)
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    assert resumed.rt == first.rt and torch.equal(resumed.stats, first.stats) and resumed.stats.sum() != 0
    assert before + run(resumed, before[-1], signs[6:], 6) == expected
    assert len(expected) == 3 and len(set(expected)) == 3, expected  # p moves at every update.


def test_invalid_arguments_fail_loudly():
    for kwargs in [dict(target=1.5), dict(ada_kimg=0), dict(interval=0)]:
        with pytest.raises(ValueError):
            AdaController(**kwargs)
