"""The rule that reads a range test, on made-up curves: the smoothing, the three failures
(divergence, a non-finite loss, a collapse to one class), the chosen range, and the tests
that give none."""

from __future__ import annotations

import math

import pytest

from hpsearch.search.calibration.model import RangeEval
from hpsearch.search.calibration.rule import BETA, RangeWatch


def lr(step: int, steps: int = 100) -> float:
    """The ramp from 1e-7 to 10 over ``steps`` steps, at ``step`` (1-based)."""
    return 1e-7 * 1e8 ** ((step - 1) / (steps - 1))


def fed(losses, steps: int = 100, evals=()) -> RangeWatch:
    """A watch fed ``losses`` (step 1 first) and ``evals`` (RangeEval, by step) until the
    first failure, as the range test feeds it."""
    watch = RangeWatch()
    by_step = {e.step: e for e in evals}
    for step, loss in enumerate(losses, start=1):
        if watch.loss(step, lr(step, steps), loss) is not None:
            break
        if step in by_step and watch.evaluation(by_step[step]) is not None:
            break
    return watch


def valley(step: int, least_at: int = 60) -> float:
    """A loss that falls from 0.7 to 0.3 at ``least_at``, then grows 20% a step."""
    if step <= least_at:
        return 0.7 - 0.4 * step / least_at
    return 0.3 * 1.2 ** (step - least_at)


def test_the_loss_is_smoothed_as_fastai_smooths_it():
    watch = fed([1.0, 0.5, 0.8])
    a1 = (1 - BETA) * 1.0
    a2 = BETA * a1 + (1 - BETA) * 0.5
    a3 = BETA * a2 + (1 - BETA) * 0.8
    expected = [a1 / (1 - BETA), a2 / (1 - BETA**2), a3 / (1 - BETA**3)]
    assert [p.smoothed for p in watch.points] == pytest.approx(expected)
    assert [p.loss for p in watch.points] == [1.0, 0.5, 0.8]


def test_a_diverging_loss_stops_the_test_and_the_range_ends_at_the_least_loss():
    watch = fed([valley(s) for s in range(1, 101)])
    failure = watch.failure
    assert failure is not None and failure.kind == "diverged"
    smoothed = [p.smoothed for p in watch.points]
    # It stops at the first step whose smoothed loss is above 4× the least so far.
    assert smoothed[-1] > 4 * min(smoothed) and all(s <= 4 * min(smoothed) for s in smoothed[:-1])
    outcome = watch.outcome(100)
    least = min(watch.points, key=lambda p: p.smoothed)
    assert outcome.lr_at_min == least.lr and outcome.high == least.lr
    assert outcome.low == pytest.approx(least.lr / 100)
    assert outcome.high < failure.lr and outcome.found


def test_a_non_finite_loss_stops_the_test_at_once():
    losses = [valley(s) for s in range(1, 71)] + [math.nan, 0.1]
    watch = fed(losses)
    assert watch.failure is not None and watch.failure.kind == "non-finite"
    assert watch.failure.step == 71 and len(watch.points) == 71
    assert watch.points[-1].loss is None and watch.points[-1].smoothed is None
    assert watch.outcome(100).found


def evaluation(step: int, loss: float, one_class: bool) -> RangeEval:
    return RangeEval(step, lr(step), 0.0 if one_class else 0.6, loss, one_class)


def test_one_class_after_an_evaluation_that_learned_is_a_collapse():
    """The loss is still falling; the classifier answers one class at a higher validation
    loss than an earlier evaluation whose answers varied: the model un-learned."""
    evals = [evaluation(20, 0.69, False), evaluation(50, 0.55, False), evaluation(62, 0.7, True)]
    watch = fed([valley(s, least_at=80) for s in range(1, 101)], evals=evals)
    failure = watch.failure
    assert failure is not None and failure.kind == "one class" and failure.step == 62
    outcome = watch.outcome(100)
    # The least loss before the collapse is at its last step; the range ends at the
    # evaluation before the collapse at the latest (a collapse is only seen at evaluations).
    assert outcome.lr_at_min == lr(61)
    assert outcome.high == lr(50) and outcome.low == pytest.approx(lr(50) / 100)


def test_one_class_while_the_loss_falls_below_every_varied_answer_is_not_a_collapse():
    """The first stage of learning: a classifier near its initial weights answers varied
    classes at random, then the majority class at a lower loss, then learns."""
    evals = [evaluation(10, 0.70, False), evaluation(30, 0.66, True), evaluation(55, 0.5, False)]
    watch = fed([valley(s) for s in range(1, 101)], evals=evals)
    assert watch.failure is not None and watch.failure.kind == "diverged"
    assert len(watch.evals) == 3


def test_a_loss_still_falling_at_the_end_gives_no_range():
    watch = fed([1.0 - s / 200 for s in range(1, 101)])
    outcome = watch.outcome(100)
    assert watch.failure is None and not outcome.found
    assert outcome.problem is not None and "still falling" in outcome.problem


def test_a_test_that_fails_at_once_gives_no_range():
    watch = fed([0.7, 0.7, math.inf])
    outcome = watch.outcome(100)
    assert watch.failure is not None and watch.failure.step == 3
    assert not outcome.found and outcome.problem is not None
    assert outcome.problem.startswith("failed at once: lost a finite loss at lr")


def test_a_loss_that_never_fell_gives_no_range():
    watch = fed([0.5 * 1.05**s for s in range(1, 101)])
    outcome = watch.outcome(100)
    assert watch.failure is not None and watch.failure.kind == "diverged"
    assert not outcome.found and outcome.problem is not None
    assert outcome.problem.startswith("the loss never fell, before it diverged at lr")


def test_a_flat_loss_with_a_dip_in_its_noise_gives_no_range():
    """The quickstart's range tests: the loss sits at ln 2 (chance) to within ±0.3% until it
    blows up; its least value is noise, not a minimum to read a range from."""
    flat = [math.log(2) + 0.002 * math.sin(s) for s in range(1, 71)]
    watch = fed(flat + [math.log(2) * 1.5**s for s in range(1, 30)])
    outcome = watch.outcome(100)
    assert watch.failure is not None and watch.failure.kind == "diverged"
    assert not outcome.found and outcome.problem is not None
    assert outcome.problem.startswith("the loss never fell, before it diverged at lr")
