"""Real probes of a tiny model (minilm with 1 layer, Quora pairs at 32 tokens; slow: each
loads and trains it), judged as the objective judges a trial: the evaluation scripted to
have learned, answered one class or ended far above chance; and a loss that stops being
finite (the trainer's error, scripted) is diverged."""

from __future__ import annotations

import math

import pytest

import hpsearch.train.trainer as trainer_module
from hpsearch.data.encode import DataCache
from hpsearch.search.calibration import probe as probe_module
from hpsearch.search.calibration.model import CalibrationArm, ProbeSettings
from hpsearch.search.calibration.probe import judge, run_probe
from hpsearch.train.trainer import NonFiniteLossError
from tests.fakes import NoData

SETTINGS = ProbeSettings(eval_samples=48)
TINY = [
    "task.max_length=32",
    "model.num_hidden_layers=1",
    "train.batch_size=16",
    "train.precision=fp32",
    "train.epochs=3",
]


@pytest.fixture(scope="module")
def cache() -> DataCache:
    return DataCache()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mcc", "loss", "verdict"),
    [(0.3, 0.6, "learned"), (0.0, 0.69, "one class"), (0.2, 70.0, "diverged")],
)
def test_a_probe_is_judged_as_a_trial(quora_study, cache, monkeypatch, mcc, loss, verdict):
    def evaluate(model, split, *args, **kwargs):
        assert len(split) == 48  # at most --eval-samples validation examples
        return {"accuracy": 0.6, "f1": 0.5 if mcc else 0.0, "mcc": mcc, "loss": loss}

    monkeypatch.setattr(trainer_module, "evaluate", evaluate)
    spec = quora_study.spec(
        train=160, eval=100, set=[*TINY, "optimizer.kind=mfac", "optimizer.num_grads=4"]
    )
    probe = run_probe(spec, CalibrationArm("mfac"), 1e-3, SETTINGS, cache)
    assert probe.verdict == verdict and probe.lr == 1e-3
    assert probe.loss == loss and probe.metric == (0.5 if mcc else 0.0)
    assert (probe.why is None) == (verdict == "learned")
    # One epoch of 160 rows at 16 a step, though the study trains 3.
    assert probe.steps == 10 and probe.seconds > 0
    assert probe.num_grads == 4 and probe.metric_name == "f1"


def test_a_loss_that_stops_being_finite_is_diverged(quora_study, monkeypatch):
    def train(spec, data):
        raise NonFiniteLossError("non-finite loss at step 3", steps=4)

    monkeypatch.setattr(probe_module, "train", train)
    probe = run_probe(quora_study.spec(), CalibrationArm("adamw"), 1.0, SETTINGS, NoData())
    assert probe.verdict == "diverged" and probe.steps == 4
    assert probe.metric is None and probe.loss is None
    assert probe.why == "diverged: non-finite loss at step 3"
    assert math.isfinite(probe.seconds)


@pytest.mark.parametrize(
    ("metrics", "verdict"),
    [
        ({"pearson": 0.31, "loss": 1.2}, "learned"),
        ({"pearson": 0.0, "loss": 2.1}, "constant"),  # compute_metrics' constant prediction
        ({"sts/pearson": 0.0, "sst/mcc": 0.1, "sst/loss": 1.5, "sts/loss": 2.0}, "constant"),
        ({"sts/pearson": 0.0, "sst/mcc": 0.0, "sst/loss": 1.6, "sts/loss": 2.0}, "one class"),
    ],
)
def test_a_regression_head_that_predicts_one_value_has_not_learned(metrics, verdict):
    """Before, Pearson 0 from a constant prediction counted as learned: STS-B's ladder walked
    up to lr 1 and down to 1e-6 through probes that had all collapsed."""
    got, why = judge(metrics, 1.0, None)
    assert got == verdict and (why is None) == (verdict == "learned")
    if verdict == "constant":
        assert why.startswith("constant: ") and "same value for every validation example" in why


def test_a_diverged_probe_is_diverged_before_it_is_constant():
    assert judge({"pearson": 0.0}, None, None)[0] == "diverged"
    assert judge({"pearson": 0.0}, 9.0, "diverged: too high")[0] == "diverged"
