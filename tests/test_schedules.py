"""The schedule registry: each schedule's formula, and the shape every entry must have."""

from __future__ import annotations

import math

import pytest

from hpsearch.errors import HpsearchError
from hpsearch.schedules import SCHEDULES, lr_multiplier


def test_linear_without_warmup_decays_from_one_to_zero():
    f = lr_multiplier("linear", total_steps=10)
    assert [f(s) for s in (0, 5, 10)] == [1.0, 0.5, 0.0]


def test_linear_with_warmup():
    f = lr_multiplier("linear", total_steps=10, warmup_ratio=0.2)  # 2 warmup steps
    assert f(0) == 0.5 and f(1) == 1.0
    assert f(2) == 1.0 and f(6) == pytest.approx(0.5) and f(10) == 0.0


def test_constant_with_warmup():
    f = lr_multiplier("constant", total_steps=10, warmup_ratio=0.4)
    assert [f(s) for s in (0, 3, 4, 9)] == [0.25, 1.0, 1.0, 1.0]


def test_unknown_schedule_lists_the_registered_ones():
    with pytest.raises(HpsearchError, match="unknown schedule 'cyclic'") as info:
        lr_multiplier("cyclic", 10)
    for name in SCHEDULES:
        assert repr(name) in str(info.value)


def slanted_triangular(t: int, T: int, cut_frac: float, ratio: float) -> float:
    """Howard & Ruder (2018), eq. 3, as printed: the multiplier η_t / η_max."""
    cut = math.floor(T * cut_frac)
    p = t / cut if t < cut else 1 - (t - cut) / (cut * (1 / cut_frac - 1))
    return (1 + p * (ratio - 1)) / ratio


@pytest.mark.parametrize(("T", "cut_frac", "ratio"), [(1000, 0.1, 32), (200, 0.25, 8)])
def test_slanted_triangular_matches_its_formula(T, cut_frac, ratio):
    f = lr_multiplier("slanted_triangular", T, cut_frac=cut_frac, ratio=ratio)
    cut = int(T * cut_frac)
    for t in (0, 1, cut // 2, cut - 1, cut, cut + 1, (T + cut) // 2, T - 1, T):
        assert f(t) == pytest.approx(slanted_triangular(t, T, cut_frac, ratio)), t
    # The shape: lr/ratio at both ends, the peak at the cut, linear on both sides.
    assert f(0) == pytest.approx(1 / ratio) and f(T) == pytest.approx(1 / ratio)
    assert f(cut) == 1.0
    assert f(cut // 2) == pytest.approx((1 + (ratio - 1) / 2) / ratio)


def test_slanted_triangular_on_a_short_run_stays_between_lr_over_ratio_and_lr():
    # T·cut_frac = 1.5: the printed formula would end at a negative rate.
    f = lr_multiplier("slanted_triangular", 15, cut_frac=0.1, ratio=32)
    assert slanted_triangular(14, 15, 0.1, 32) < 0
    assert all(1 / 32 <= f(t) <= 1.0 for t in range(16))
    assert f(1) == 1.0 and f(14) == pytest.approx(1 / 32)
    # Fewer steps than 1 / cut_frac: the cut is one step, not zero.
    g = lr_multiplier("slanted_triangular", 5, cut_frac=0.1, ratio=32)
    assert g(0) == pytest.approx(1 / 32) and g(1) == 1.0


def test_slanted_triangular_is_its_own_warmup():
    with pytest.raises(HpsearchError, match=r"does not take \['warmup_ratio'\]"):
        lr_multiplier("slanted_triangular", 100, warmup_ratio=0.1)


def test_slanted_triangular_checks_its_options():
    with pytest.raises(ValueError, match="0 < cut_frac < 1"):
        lr_multiplier("slanted_triangular", 100, cut_frac=1.0)


def test_cosine_with_warmup():
    f = lr_multiplier("cosine", total_steps=12, warmup_ratio=1 / 6)  # 2 warmup steps
    assert f(0) == 0.5 and f(1) == 1.0 and f(2) == 1.0
    assert f(7) == pytest.approx(0.5) and f(12) == pytest.approx(0.0)
    assert f(4) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.2)))


# Every entry's documented shape with its default options: the multiplier at the first
# step and at the end of training. A new schedule documents its own here.
ENDS = {
    "linear": (1.0, 0.0),
    "constant": (1.0, 1.0),
    "cosine": (1.0, 0.0),
    "slanted_triangular": (1 / 32, 1 / 32),
}
T = 200


def test_every_schedule_documents_its_shape():
    assert set(ENDS) == set(SCHEDULES)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_every_schedule_rises_to_the_peak_then_falls_within_0_and_1(name):
    f = lr_multiplier(name, T)
    values = [f(t) for t in range(T + 1)]
    assert all(0.0 <= v <= 1.0 for v in values)
    peak = values.index(1.0)  # the peak lr is reached
    rising, falling = values[: peak + 1], values[peak:]
    assert rising == sorted(rising) and falling == sorted(falling, reverse=True)
    assert (values[0], values[-1]) == pytest.approx(ENDS[name])


@pytest.mark.parametrize("name", [e.name for e in SCHEDULES.takers("warmup_ratio")])
def test_every_warmup_rises_linearly_to_the_peak(name):
    f = lr_multiplier(name, T, warmup_ratio=0.1)  # 20 warmup steps
    assert [f(t) for t in range(20)] == pytest.approx([(t + 1) / 20 for t in range(20)])
    assert all(0.0 <= f(t) <= 1.0 for t in range(T + 1))


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_every_option_of_a_schedule_changes_it(name):
    entry = SCHEDULES[name]
    default = entry.create(T)
    for option, value in entry.options.items():
        changed = entry.create(T, **{option: value / 2 if value else 0.1})
        assert [changed(t) for t in range(T + 1)] != [default(t) for t in range(T + 1)], option


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_every_schedule_has_a_label_and_a_description(name):
    entry = SCHEDULES[name]
    assert entry.label and entry.description and entry.name == name
