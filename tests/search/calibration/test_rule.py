"""The ladder and the range rule on scripted probes (nothing trains): the walk up and down
from a start that learns, the outward search from one that does not, no lr learning, the
run around the best probe, a one-lr range, learned probes that stayed near the untrained
model cut from the run, and M-FAC's start scaled by m."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hpsearch.search.calibration.model import Outcome
from hpsearch.search.calibration.rule import (
    HALF_STEP,
    START,
    choose,
    grid_index,
    grid_lr,
    next_start,
    short_lr,
    walk,
)
from tests.fakes import scripted_verdict


@dataclass(frozen=True)
class Scripted:
    lr: float
    verdict: str
    metric: float | None


def ladder(best: float, start: float = START) -> list[Scripted]:
    """The walk from ``start`` over an arm that learns best at ``best`` (scripted_verdict:
    one class below and above its band, diverged far above)."""
    return walk(start, lambda lr: Scripted(lr, *scripted_verdict(lr, best)))


def lrs(probes) -> list[str]:
    return [short_lr(p.lr) for p in probes]


def test_a_start_that_learns_walks_up_then_down_to_the_first_probe_that_does_not():
    probes = ladder(best=1e-3)
    assert lrs(probes) == ["1e-3", "3e-3", "1e-2", "3e-4", "1e-4", "3e-5"]
    assert [p.verdict for p in probes] == [
        *("learned", "learned", "one class"),
        *("learned", "learned", "one class"),
    ]
    outcome = choose(probes, maximize=True)
    assert (outcome.low, outcome.high) == (pytest.approx(1e-4), pytest.approx(10**-2.5))
    assert outcome.best_lr == pytest.approx(1e-3) and outcome.best_metric == pytest.approx(0.8)
    assert outcome.found and outcome.problem is None


def test_a_start_that_does_not_learn_probes_outward_alternating_up_then_down():
    # Below the band (one class at 1e-3): up and down by one, then by two, until 1e-2 learns;
    # the walk goes on up from there, and down meets 3e-3, already one class.
    probes = ladder(best=1e-1)
    assert lrs(probes) == ["1e-3", "3e-3", "3e-4", "1e-2", "3e-2", "1e-1", "3e-1", "1"]
    outcome = choose(probes, maximize=True)
    assert (outcome.low, outcome.high) == (pytest.approx(1e-2), pytest.approx(10**-0.5))


def test_above_a_probe_that_diverged_the_ladder_never_looks():
    # The start diverges: only lower lrs are tried, down to the band and through it.
    probes = ladder(best=1e-5)
    assert lrs(probes) == ["1e-3", "3e-4", "1e-4", "3e-5", "1e-5", "3e-6", "1e-6"]
    assert probes[0].verdict == "diverged"
    outcome = choose(probes, maximize=True)
    assert (outcome.low, outcome.high) == (pytest.approx(1e-6), pytest.approx(10**-4.5))


def test_no_lr_learns_the_grid_ends_and_no_range_is_given():
    probes = walk(START, lambda lr: Scripted(lr, "diverged" if lr > 5e-3 else "one class", 0.5))
    # 3e-3 and 1e-2 first, then nothing above the divergence: down to the grid's end.
    assert lrs(probes) == ["1e-3", "3e-3", "3e-4", "1e-2", "1e-4", "3e-5", "1e-5", "3e-6", "1e-6"]
    outcome = choose(probes, maximize=True)
    assert not outcome.found and outcome.best_lr is None
    assert outcome.problem == "no probe learned (lr 1e-6 to 1e-2: 8 one class, 1 diverged)"
    everywhere = walk(START, lambda lr: Scripted(lr, "one class", 0.5))
    assert len(everywhere) == 13 and sorted(grid_index(p.lr) for p in everywhere) == list(
        range(-12, 1)
    )


def test_the_range_is_the_run_of_learned_lrs_around_the_best_probe():
    probes = [
        Scripted(grid_lr(-8), "learned", 0.6),
        Scripted(grid_lr(-7), "learned", 0.62),
        Scripted(grid_lr(-6), "one class", 0.5),
        Scripted(grid_lr(-5), "learned", 0.7),
        Scripted(grid_lr(-4), "diverged", None),
    ]
    outcome = choose(probes, maximize=True)
    # One lr in its run: half a grid step each side of it.
    assert outcome.best_lr == pytest.approx(grid_lr(-5))
    assert outcome.low == pytest.approx(grid_lr(-5) / HALF_STEP)
    assert outcome.high == pytest.approx(grid_lr(-5) * HALF_STEP)
    # A study that minimizes its metric: the lowest is best, here in the run of two.
    low = choose(probes, maximize=False)
    assert low.best_lr == pytest.approx(1e-4) and low.best_metric == 0.6
    assert (low.low, low.high) == (pytest.approx(1e-4), pytest.approx(grid_lr(-7)))


def test_learned_probes_that_stayed_near_the_untrained_model_s_metric_bound_the_range():
    """AdamW's full finetuning of minilm (6 layers) on SST-2, as calibrated: its untrained
    head already varies its answers, so every probe below the band "learned" at chance's
    accuracy; the run keeps the probes at least halfway from the worst (0.49, one class at
    3e-3) to the best (0.80): 3e-5 (0.66) to 1e-3, not down to the grid's floor."""
    metrics = {-12: 0.52, -11: 0.53, -10: 0.53, -9: 0.66, -8: 0.77, -7: 0.80, -6: 0.68}
    probes = [Scripted(grid_lr(k), "learned", m) for k, m in metrics.items()]
    probes.append(Scripted(grid_lr(-5), "one class", 0.49))
    outcome = choose(probes, maximize=True)
    assert outcome.best_lr == pytest.approx(grid_lr(-7))
    assert (outcome.low, outcome.high) == (pytest.approx(grid_lr(-9)), pytest.approx(1e-3))
    # Exactly halfway still counts: 0.645 is (0.80 + 0.49) / 2.
    at_cut = [*probes[:3], Scripted(grid_lr(-9), "learned", 0.645), *probes[4:]]
    assert choose(at_cut, maximize=True).low == pytest.approx(grid_lr(-9))


def test_m_fac_s_next_num_grads_starts_at_the_best_lr_scaled_by_m_over_m():
    found = Outcome(1e-3, 1e-2, 10**-2, 0.8)
    assert next_start(found, 8, 16) == pytest.approx(10**-2.5)  # 5e-3, on the grid
    assert next_start(found, 16, 8) == pytest.approx(10**-1.5)  # 2e-2 → 3.16e-2
    assert next_start(None, None, 8) == START  # the first arm
    assert next_start(Outcome(None, None, None, None, "none"), 8, 16) == START
    # It is only a start: the walk from there still finds the band both ways.
    probes = ladder(best=1e-3, start=next_start(found, 8, 16))
    assert lrs(probes)[0] == "3e-3"
    assert choose(probes, maximize=True).best_lr == pytest.approx(1e-3)


def test_the_grid_and_its_labels():
    assert grid_index(4e-3) == -5 and grid_index(1e-9) == -12 and grid_index(30.0) == 0
    assert [short_lr(grid_lr(k)) for k in (-12, -7, -1, 0)] == ["1e-6", "3e-4", "3e-1", "1"]
