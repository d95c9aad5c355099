"""The objective and the trial loop without training: when a trial may be pruned, a trial
whose loss diverged, and what a worker with nothing to start says while it waits."""

from __future__ import annotations

import time
from types import SimpleNamespace

import optuna
import pytest
import torch
from optuna.trial import TrialState

from hpsearch.data.encode import EncodedSplit, EncodedTask
from hpsearch.search.divergence import divergence, one_class
from hpsearch.search.interrupts import SignalGuard
from hpsearch.search.liveness import BEAT_ATTR, Heartbeat, Liveness
from hpsearch.search.objective import Objective
from hpsearch.search.progress import Wait
from hpsearch.search.record import seed_run
from hpsearch.search.runner import run_trials
from hpsearch.search.storage import open_storage
from hpsearch.train.trainer import EvalRecord, PeakMemory, TrainResult


class PruneEveryTrial(optuna.pruners.BasePruner):
    """Says "prune" at every evaluation: the objective decides where that is honoured."""

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return True


def record(
    index: int, epoch: float, f1: float, loss: float = 0.6, mcc: float | None = None
) -> EvalRecord:
    """An evaluation measuring ``f1`` and ``loss`` (and ``mcc``: 0 answered one class)."""
    return EvalRecord(
        index=index,
        epoch=epoch,
        step=10 * (index + 1),
        metrics={"f1": f1, "loss": loss} | ({} if mcc is None else {"mcc": mcc}),
        train_loss=0.6,
        samples_per_s=1.0,
        elapsed=1.0,
        train_seconds=1.0,
        trainable_params=1,
    )


def split(labels: list[float]) -> EncodedSplit:
    n = len(labels)
    dtype = torch.float32 if any(isinstance(y, float) for y in labels) else torch.long
    zeros = torch.zeros(n, dtype=torch.long)
    return EncodedSplit(zeros, zeros, torch.arange(n + 1), torch.tensor(labels, dtype=dtype))


def task(labels: list[float], kind: str = "classification", num_labels: int = 2) -> EncodedTask:
    return EncodedTask(kind, num_labels, 0, split(labels), split(labels))


def fake_training(monkeypatch, records: list[EvalRecord]) -> None:
    """``train`` that reports ``records`` to the objective and returns them."""

    def train(spec, data, *, on_eval=None, on_step=None):
        for r in records:
            on_eval(r)
        best = max(records, key=lambda r: r.metrics["f1"])
        return TrainResult(
            best=best,
            evals=records,
            num_params=10,
            trainable_params=10,
            unfrozen_at={},
            steps=20,
            samples_per_s=1.0,
            seconds_per_step=0.1,
            train_seconds=2.0,
            wall_time=1.0,
            device="cpu",
            precision="fp32",
            optimizer_state_bytes=0,
            peak_memory=PeakMemory(None, "not measured"),
        )

    monkeypatch.setattr("hpsearch.search.objective.train", train)


def run_one(spec, monkeypatch, records, data=None) -> optuna.trial.FrozenTrial:
    fake_training(monkeypatch, records)
    cache = SimpleNamespace(encoded_tasks=lambda spec: data or {"": task([0, 1, 0, 1])})
    study = optuna.create_study(direction="maximize", pruner=PruneEveryTrial())
    run_trials(study, Objective(spec, cache, spec_id="abc"), budget=1, guard=SignalGuard())
    (trial,) = study.trials
    return trial


def test_the_final_evaluation_never_prunes(quora_study, monkeypatch):
    """A trial that ran all its steps completes, whatever the pruner says at its end."""
    spec = quora_study.spec(name="last", set=["train.epochs=1", "train.evals_per_epoch=1"])
    trial = run_one(spec, monkeypatch, [record(0, 1.0, 0.4)])
    assert trial.state == TrialState.COMPLETE and trial.value == 0.4
    assert trial.user_attrs["spec_id"] == "abc"  # the settings it ran under


def test_the_objective_records_the_thread_count_beside_the_seconds(quora_study, monkeypatch):
    """CPU seconds depend on torch's thread count: each trial records it with its cost."""
    spec = quora_study.spec(name="threads", set=["train.epochs=1", "train.evals_per_epoch=1"])
    trial = run_one(spec, monkeypatch, [record(0, 1.0, 0.5)])
    assert trial.user_attrs["threads"] == torch.get_num_threads()
    assert seed_run(trial, 0, "f1").cost.threads == torch.get_num_threads()


def test_an_evaluation_before_the_last_may_prune(quora_study, monkeypatch):
    spec = quora_study.spec(name="early", set=["train.epochs=2", "train.evals_per_epoch=1"])
    trial = run_one(spec, monkeypatch, [record(0, 1.0, 0.4), record(1, 2.0, 0.5)])
    assert trial.state == TrialState.PRUNED
    assert len(trial.user_attrs["evals"]) == 1


@pytest.mark.parametrize(("signal", "reported"), [("metric", 0.4), ("loss", -0.7)])
def test_the_pruner_compares_the_signal_and_the_trial_keeps_its_metric(
    quora_study, monkeypatch, signal, reported
):
    """With ``signal = "loss"`` Optuna sees the negated loss (higher is better in a maximizing
    study), while the evals, the prune message and the trial's value keep F1."""
    spec = quora_study.spec(
        name=f"signal-{signal}",
        set=["train.epochs=2", "train.evals_per_epoch=1", f'study.pruner.signal="{signal}"'],
    )
    trial = run_one(spec, monkeypatch, [record(0, 1.0, 0.4, loss=0.7), record(1, 2.0, 0.5)])
    assert trial.state == TrialState.PRUNED
    assert trial.intermediate_values == {0: pytest.approx(reported)}
    assert trial.user_attrs["evals"][0]["metrics"]["f1"] == 0.4


def test_a_trial_that_answered_one_class_is_reported_at_chance(quora_study, monkeypatch):
    """Answering "positive" on balanced labels scores F1 0.667 against 0.6 for a trial that
    learned: Optuna gets 0.5, chance, as the value and as the pruner's metric (which would
    otherwise prune learners against 0.667); the user attrs keep what was measured."""
    spec = quora_study.spec(name="flat", set=["train.epochs=1", "train.evals_per_epoch=1"])
    flat = run_one(spec, monkeypatch, [record(0, 1.0, 2 / 3, mcc=0.0)])  # labels 0, 1, 0, 1
    assert flat.state == TrialState.COMPLETE and flat.value == 0.5
    assert flat.intermediate_values == {0: 0.5}
    assert flat.user_attrs["metrics"]["f1"] == pytest.approx(2 / 3)
    assert flat.user_attrs["value_at_chance"] == 0.5
    assert flat.user_attrs["one_class"].startswith("one class: the classifier")
    learned = run_one(spec, monkeypatch, [record(0, 1.0, 0.6, mcc=0.2)])
    assert learned.value == 0.6 and "value_at_chance" not in learned.user_attrs
    # An early one-class evaluation is compared at chance too, before the trial learns.
    spec = quora_study.spec(name="early-flat", set=["train.epochs=2", "train.evals_per_epoch=1"])
    pruned = run_one(spec, monkeypatch, [record(0, 1.0, 2 / 3, mcc=0.0), record(1, 2.0, 0.7)])
    assert pruned.state == TrialState.PRUNED and pruned.intermediate_values == {0: 0.5}
    assert pruned.user_attrs["evals"][0]["value_at_chance"] == 0.5  # for the reports


def test_the_loss_signal_of_a_multitask_study_sums_its_tasks_losses(quora_study):
    from hpsearch.search.objective import pruning_value

    spec = quora_study.spec(name="sum", set=['study.pruner.signal="loss"'])
    assert pruning_value(spec, {"f1": 0.5, "loss": 0.25}, {}) == -0.25
    multi = SimpleNamespace(
        study=spec.study,
        is_multitask=True,
        tasks=[SimpleNamespace(key="sst"), SimpleNamespace(key="sts")],
        direction="maximize",
    )
    assert pruning_value(multi, {"sst/loss": 0.5, "sts/loss": 2.0, "mean": 0.3}, {}) == -2.5
    minimizing = SimpleNamespace(**{**vars(multi), "direction": "minimize"})
    assert pruning_value(minimizing, {"sst/loss": 0.5, "sts/loss": 2.0}, {}) == 2.5


def test_a_loss_far_above_chance_flags_the_trial_as_diverged(quora_study, monkeypatch, caplog):
    spec = quora_study.spec(name="diverged", set=["train.evals_per_epoch=1"])
    trial = run_one(spec, monkeypatch, [record(0, 1.0, 0.5, loss=594.0)])
    assert trial.state == TrialState.COMPLETE  # its metrics are real, and flagged
    assert trial.user_attrs["diverged"].startswith("diverged: validation loss 594")
    assert "chance (0.693)" in trial.user_attrs["diverged"]
    assert "diverged" in caplog.text


@pytest.mark.parametrize(
    ("data", "metrics", "flagged"),
    [
        ({"": task([0, 1])}, {"loss": 6.0}, False),  # under 10 x ln 2
        ({"": task([0, 1])}, {"loss": 7.0}, True),
        ({"": task([1.0, 3.0], "regression", 1)}, {"loss": 9.0}, False),  # variance 1
        ({"": task([1.0, 3.0], "regression", 1)}, {"loss": 11.0}, True),
        (
            {"sst": task([0, 1]), "sts": task([1.0, 3.0], "regression", 1)},
            {"sst/loss": 0.5, "sts/loss": 50.0},
            True,
        ),
    ],
)
def test_divergence_is_judged_against_the_loss_of_chance(data, metrics, flagged):
    evals = [EvalRecord(0, 1.0, 1, metrics, 0.5, 1.0, 1.0, train_seconds=1.0, trainable_params=1)]
    assert (divergence(evals, data) is not None) == flagged


@pytest.mark.parametrize(
    ("metrics", "flat"),
    [
        ({"mcc": 0.0, "accuracy": 0.61}, "the classifier"),
        ({"mcc": 0.02, "accuracy": 0.61}, None),
        ({"accuracy": 0.61}, None),  # not measured: not flagged
        (
            {"sst/mcc": 0.0, "quora/mcc": 0.0, "sts/pearson": 0.0, "mean": 0.3},
            "sst, quora",  # a regression's 0 says nothing of classes
        ),
    ],
)
def test_a_classifier_that_answers_one_class_is_flagged(metrics, flat):
    """MCC exactly 0 is what constant predictions give: the multitask case study's SST and
    Quora heads answered the majority class, their accuracy that class's share."""
    said = one_class(metrics)
    if flat is None:
        assert said is None
    else:
        assert said is not None and said.startswith(f"one class: {flat} predicted the same")


def test_a_waiting_worker_says_what_it_waits_for_and_until_when(tmp_path):
    """The budget is taken by a trial of another (here: killed) run; the worker waits, says
    so with the time its heartbeat grace ends, and runs the retry once it is stale."""
    storage = open_storage(f"sqlite:///{tmp_path}/wait.db")
    study = optuna.create_study(study_name="wait", storage=storage)
    orphan = study.ask()
    orphan.suggest_float("x", 0, 1)
    beat = time.time()
    storage.set_trial_system_attr(orphan._trial_id, BEAT_ATTR, beat)
    liveness = Liveness(storage, Heartbeat(interval=1, grace=60, max_retry=1))
    waits: list[Wait] = []

    def on_wait(wait: Wait) -> None:
        waits.append(wait)
        # The orphan's process is dead: its heartbeat never comes again.
        storage.set_trial_system_attr(orphan._trial_id, BEAT_ATTR, beat - 120)

    run_trials(
        study,
        lambda t: t.suggest_float("x", 0, 1),
        budget=1,
        guard=SignalGuard(),
        liveness=liveness,
        on_wait=on_wait,
        poll_interval=0,
    )
    (wait,) = waits
    assert f"trial {orphan.number} running elsewhere" in wait.what
    assert "heartbeat has been silent for 60 s" in wait.what
    assert wait.until == pytest.approx(beat + 60)
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.COMPLETE]
