"""Learning-rate sensitivity (issue 32, part 3): each arm's judged trials by lr, pruned ones
at their last reported value and one-class ones at chance, M-FAC's by num_grads; the width
near the best in decades; ``lr_sensitivity.png`` and its section of compare.md, from the
data only; a compare.json written before it still reads."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from hpsearch.compare.files import write_compare
from hpsearch.compare.markdown import compare_markdown
from hpsearch.compare.model import CalibratedLr, CompareReport, LrPoint
from hpsearch.compare.sensitivity import TOLERANCE, lr_sensitivity, sensitivity
from hpsearch.compare.sensitivity_plot import LR_SENSITIVITY_PLOT, sensitivity_figure
from tests.trials import CHANCE_F1, GOLDEN, add_trials, plan_of, tuned

MFAC_LR = "train.lr|optimizer.kind=mfac"  # a conditional entry's parameter name


def test_each_judged_trial_is_a_point_at_its_lr(quora_study):
    """Complete trials at their value, the one-class trial at chance, the pruned trial at
    its last evaluation (0.69, not its best 0.72), the lr of a conditional entry's name;
    the width over the complete trials that learned: 0.70, 0.705 and 0.695 are within 0.01
    of 0.705 (0.695 exactly: a float hair over), at 1e-4 to 1e-3, one decade."""
    path = quora_study(
        "mfac",
        set=["optimizer.kind=mfac", "space.optimizer.num_grads={ choices = [4, 8] }"],
    )
    # trials 0-3 at lr 1e-4 … 4e-4, num_grads not recorded; trial 3 answered one class
    tuned(path, [0.70, 0.705, 0.66, 0.75], at_chance={3: CHANCE_F1})
    add_trials(
        path,
        [
            ("pruned", (0.72, 0.69), {"train.lr": 2e-3, "optimizer.num_grads": 4}),
            ("complete", 0.695, {MFAC_LR: 1e-3, "optimizer.num_grads": 8}),
        ],
    )
    (arm,) = plan_of(path).arms
    s = lr_sensitivity(arm, "f1", maximize=True)
    assert s.fixed_lr is None
    assert [(p.trial, p.lr, p.value, p.pruned, p.one_class, p.num_grads) for p in s.points] == [
        (0, 1e-4, 0.70, False, False, None),
        (1, 2e-4, 0.705, False, False, None),
        (2, pytest.approx(3e-4), 0.66, False, False, None),
        (3, 4e-4, CHANCE_F1, False, True, None),
        (4, 2e-3, 0.69, True, False, 4),
        (5, 1e-3, 0.695, False, False, 8),
    ]
    assert (s.counted, s.best, s.near, s.low, s.high) == (4, 0.705, 3, 1e-4, 1e-3)
    assert s.decades == pytest.approx(1.0)
    assert s.tolerance == TOLERANCE


def test_an_arm_that_does_not_search_the_lr_has_nothing_to_plot(quora_study):
    path = quora_study("fixed", set=["train.lr=3e-4"])
    add_trials(path, [("complete", 0.6, {}), ("complete", 0.7, {})])
    (arm,) = plan_of(path).arms
    s = lr_sensitivity(arm, "f1", maximize=True)
    assert (s.fixed_lr, s.points, s.best, s.decades) == (3e-4, (), None, None)


def point(lr: float, value: float, pruned: bool = False, one_class: bool = False) -> LrPoint:
    return LrPoint(trial=0, lr=lr, value=value, pruned=pruned, one_class=one_class)


def test_the_width_counts_complete_trials_that_learned_within_the_tolerance():
    points = [
        point(1e-5, 0.80),
        point(1e-4, 0.805),
        point(1e-3, 0.75),  # between the ends but not near: the span is an envelope
        point(1e-2, 0.796),
        point(1e-1, 0.90, pruned=True),  # higher, but pruned: drawn, not counted
        point(1.0, 0.95, one_class=True),  # at chance: not counted
        point(3e-3, math.nan),  # diverged: never near
    ]
    s = sensitivity("AdamW", points, maximize=True)
    assert (s.counted, s.best, s.near, s.low, s.high) == (4, 0.805, 3, 1e-5, 1e-2)
    assert s.decades == pytest.approx(3.0)
    # minimized (a loss): near is above the smallest
    s = sensitivity("AdamW", [point(1e-4, 0.30), point(1e-3, 0.305), point(1e-2, 0.2)], False)
    assert (s.best, s.near, s.low, s.high, s.decades) == (0.2, 1, 1e-2, 1e-2, 0.0)
    # nothing learned to completion: no best, no width
    unfinished = [point(1e-4, 0.6, pruned=True), point(1e-3, 0.4, one_class=True)]
    s = sensitivity("M-FAC", unfinished, maximize=True)
    assert (s.counted, s.best, s.near, s.decades) == (0, None, 0, None)
    assert sensitivity("M-FAC", [point(1e-4, 0.5)], True, tolerance=0.1).tolerance == 0.1


def golden_comparison():
    """The golden files' comparison (tests/compare/test_golden.py): AdamW with a pruned
    trial, M-FAC, lr searched in both."""
    return CompareReport.from_dict(json.loads((GOLDEN / "compare.json").read_text()))


def test_the_plot_and_compare_md_are_drawn_from_the_data(tmp_path):
    doc = golden_comparison()
    comp = doc.comparison
    adam, mfac = comp.sensitivity
    assert [p.pruned for p in adam.points] == [False, False, True, False]
    # M-FAC's trials from two num_grads, calibrated at both; AdamW's lr fixed
    grads = tuple(replace(p, num_grads=4 if p.trial % 2 else 8) for p in mfac.points)
    comp = replace(
        comp,
        sensitivity=(replace(adam, fixed_lr=3e-4, points=()), replace(mfac, points=grads)),
        calibrated=(CalibratedLr("M-FAC", 4, 1e-4, 3e-4), CalibratedLr("M-FAC", 8, 2e-4, 4e-4)),
    )
    doc = replace(doc, comparison=comp)
    _, plots = write_compare(doc, tmp_path / "out")
    assert plots[LR_SENSITIVITY_PLOT] is None
    assert (tmp_path / "out" / LR_SENSITIVITY_PLOT).stat().st_size > 10_000
    text = (tmp_path / "out" / "compare.md").read_text()
    assert "## Learning-rate sensitivity" in text
    assert f"![lr_sensitivity]({LR_SENSITIVITY_PLOT})" in text
    assert "| AdamW | fixed 0.0003: nothing to plot | – |" in text
    mfac_row = "| M-FAC | 0.0001 – 0.0004 | 4 (0 pruned, 0 one class) | 0.7100 | 1 of 4 complete"
    assert mfac_row in text


def test_a_compare_json_written_before_it_reads_and_draws_without_it():
    data = json.loads((GOLDEN / "compare.json").read_text())
    del data["comparison"]["sensitivity"]
    doc = CompareReport.from_dict(data)
    assert doc.comparison.sensitivity == ()
    assert "Learning-rate sensitivity" not in compare_markdown(doc)
    assert sensitivity_figure(doc.comparison).startswith("skipped: no arm searches train.lr")
