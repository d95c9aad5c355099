from __future__ import annotations

import math

import pytest
import torch

from hpsearch.train.schedules import lr_multiplier, set_lr


def test_linear_without_warmup_decays_from_one_to_zero():
    f = lr_multiplier("linear", total_steps=10, warmup_steps=0)
    assert [f(s) for s in (0, 5, 10)] == [1.0, 0.5, 0.0]


def test_linear_with_warmup():
    f = lr_multiplier("linear", total_steps=10, warmup_steps=2)
    assert f(0) == 0.5 and f(1) == 1.0
    assert f(2) == 1.0 and f(6) == pytest.approx(0.5) and f(10) == 0.0


def test_constant_with_warmup():
    f = lr_multiplier("constant", total_steps=10, warmup_steps=4)
    assert [f(s) for s in (0, 3, 4, 9)] == [0.25, 1.0, 1.0, 1.0]


def test_unknown_schedule():
    with pytest.raises(ValueError, match="unknown schedule 'cyclic'"):
        lr_multiplier("cyclic", 10, 0)


def slanted_triangular(t: int, T: int, cut_frac: float, ratio: float) -> float:
    """Howard & Ruder (2018), eq. 3, as printed: the multiplier η_t / η_max."""
    cut = math.floor(T * cut_frac)
    p = t / cut if t < cut else 1 - (t - cut) / (cut * (1 / cut_frac - 1))
    return (1 + p * (ratio - 1)) / ratio


@pytest.mark.parametrize(("T", "cut_frac", "ratio"), [(1000, 0.1, 32), (200, 0.25, 8)])
def test_slanted_triangular_matches_its_formula(T, cut_frac, ratio):
    f = lr_multiplier("slanted_triangular", T, 0, cut_frac=cut_frac, ratio=ratio)
    cut = int(T * cut_frac)
    for t in (0, 1, cut // 2, cut - 1, cut, cut + 1, (T + cut) // 2, T - 1, T):
        assert f(t) == pytest.approx(slanted_triangular(t, T, cut_frac, ratio)), t
    # The shape: lr/ratio at both ends, the peak at the cut, linear on both sides.
    assert f(0) == pytest.approx(1 / ratio) and f(T) == pytest.approx(1 / ratio)
    assert f(cut) == 1.0
    assert f(cut // 2) == pytest.approx((1 + (ratio - 1) / 2) / ratio)


def test_slanted_triangular_on_a_short_run_stays_between_lr_over_ratio_and_lr():
    # T·cut_frac = 1.5: the printed formula would end at a negative rate.
    f = lr_multiplier("slanted_triangular", 15, 0, cut_frac=0.1, ratio=32)
    assert slanted_triangular(14, 15, 0.1, 32) < 0
    assert all(1 / 32 <= f(t) <= 1.0 for t in range(16))
    assert f(1) == 1.0 and f(14) == pytest.approx(1 / 32)
    # Fewer steps than 1 / cut_frac: the cut is one step, not zero.
    g = lr_multiplier("slanted_triangular", 5, 0, cut_frac=0.1, ratio=32)
    assert g(0) == pytest.approx(1 / 32) and g(1) == 1.0


def test_slanted_triangular_is_its_own_warmup():
    with pytest.raises(ValueError, match="warmup_steps must be 0"):
        lr_multiplier("slanted_triangular", 100, 10)


def test_cosine_with_warmup():
    f = lr_multiplier("cosine", total_steps=12, warmup_steps=2)
    assert f(0) == 0.5 and f(1) == 1.0 and f(2) == 1.0
    assert f(7) == pytest.approx(0.5) and f(12) == pytest.approx(0.0)
    assert f(4) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.2)))


def test_set_lr_scales_each_group_from_its_own_peak():
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in range(2)]
    opt = torch.optim.SGD(
        [{"params": [params[0]], "peak_lr": 0.1}, {"params": [params[1]], "peak_lr": 0.01}],
        lr=1.0,
    )
    opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "peak_lr": 1.0})
    set_lr(opt, 0.5)
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.005, 0.5]
