"""Real range tests of a tiny model (minilm with 1 layer, Quora pairs at 32 tokens; slow:
each loads and trains it): AdamW diverges as the lr ramps to 10, and a classifier scripted
to collapse to one class stops the test at that evaluation. Both read every step's loss
through the trainer's hook."""

from __future__ import annotations

import pytest

import hpsearch.train.trainer as trainer_module
from hpsearch.data.encode import DataCache
from hpsearch.search.calibration.model import CalibrationArm, RangeTestSettings
from hpsearch.search.calibration.range_test import run_range_test

SETTINGS = RangeTestSettings(steps=24, eval_examples=48, evals=4)
TINY = [
    "task.max_length=32",
    "model.num_hidden_layers=1",
    "train.batch_size=16",
    "train.precision=fp32",
]


@pytest.fixture(scope="module")
def cache() -> DataCache:
    return DataCache()


@pytest.mark.slow
def test_adamw_diverges_as_the_lr_ramps_up(quora_study, cache):
    spec = quora_study.spec(train=200, eval=100, set=TINY)
    test = run_range_test(spec, CalibrationArm("adamw"), SETTINGS, cache)
    # 200 rows of 16 a step: the test is one epoch of 13 steps, the ramp over those.
    lrs = [p.lr for p in test.curve]
    assert lrs[0] == pytest.approx(1e-7) and lrs == sorted(lrs)
    assert [p.step for p in test.curve] == list(range(1, test.steps + 1))
    failure = test.outcome.failure
    assert failure is not None and failure.kind in ("diverged", "non-finite")
    assert test.planned == 13 and test.steps == failure.step <= 13
    # Evaluated at steps 3, 6, 10 and 13, until the step that failed (which stops first).
    assert [e.step for e in test.evals] == [s for s in (3, 6, 10, 13) if s < failure.step]
    # 13 steps of Quora teach little: a range below the failure, or a line saying why none.
    outcome = test.outcome
    if outcome.high is not None:
        assert outcome.high < failure.lr
    else:
        assert outcome.problem is not None and f"at lr {failure.lr:.3g}" in outcome.problem
    assert test.metric == "f1" and test.seconds > 0 and test.num_grads is None


@pytest.mark.slow
def test_a_collapse_to_one_class_stops_the_test_at_that_evaluation(quora_study, cache, monkeypatch):
    """Scripted evaluations: answers that vary at a lower validation loss, then one class."""
    answers = iter([(0.3, 0.60), (0.0, 0.75)])

    def evaluate(*args, **kwargs):
        mcc, loss = next(answers)
        return {"accuracy": 0.6, "f1": 0.5 if mcc else 0.0, "mcc": mcc, "loss": loss}

    monkeypatch.setattr(trainer_module, "evaluate", evaluate)
    spec = quora_study.spec(
        train=200, eval=100, set=[*TINY, "optimizer.kind=mfac", "optimizer.num_grads=4"]
    )
    test = run_range_test(spec, CalibrationArm("mfac"), SETTINGS, cache)
    failure = test.outcome.failure
    assert failure is not None and (failure.kind, failure.step) == ("one class", 6)
    assert test.steps == 6 and [e.one_class for e in test.evals] == [False, True]
    assert test.num_grads == 4
