from __future__ import annotations

import pytest

from hpsearch.schedules import lr_multiplier


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
