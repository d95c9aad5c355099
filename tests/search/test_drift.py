"""A study file edited between runs: fixed settings that drift, a space that changes, and the
settings each trial ran under."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from hpsearch.search.drift import (
    TRIAL_SECTIONS,
    SpecDriftError,
    fingerprint,
    fixed_changes,
    record_settings,
    spec_of_trial,
    trial_settings,
)
from hpsearch.search.storage import open_storage
from hpsearch.search.study import prepare_study


def prepared(spec, **kwargs):
    return prepare_study(spec, open_storage(spec.study.storage), **kwargs)


def fake_trial(study: optuna.Study, spec_id: str, lr: float) -> None:
    """A finished trial, as the objective leaves it (without training)."""
    trial = study.ask()
    trial.set_user_attr("spec_id", spec_id)
    trial.suggest_float("train.lr", 5e-5, 5e-4, log=True)
    study.tell(trial, lr)


def test_changed_fixed_settings_are_named_and_refused(quora_study):
    first = prepared(quora_study.spec(name="drift"))
    fake_trial(first.study, first.spec_id, 0.5)
    edited = quora_study.spec(
        name="drift", train=300, set=["train.epochs=2", "model.num_hidden_layers=1"]
    )
    with pytest.raises(SpecDriftError) as info:
        prepared(edited)
    message = str(info.value)
    assert "train.epochs was 1, now 2" in message
    assert "task.max_train_samples was 200, now 300" in message
    assert "model.num_hidden_layers was 2, now 1" in message
    assert (
        "its 1 trial ran with" in message and "--allow-drift" in message and "study.name" in message
    )
    assert "\n" not in message
    # Nothing was added: the refused run left the study as it was.
    assert len(optuna.load_study(study_name="drift", storage=edited.study.storage).trials) == 1


def test_settings_that_do_not_change_trials_are_not_drift(quora_study):
    spec = quora_study.spec(name="same")
    prepared(spec)
    again = quora_study.spec(
        name="same",
        n_trials=9,
        set=['study.pruner={ name = "median" }', "study.max_failures=5", "train.lr=3e-4"],
    )
    # train.lr was searched: a value fixed now is one point of that space.
    assert fixed_changes(prepared(spec).study.user_attrs["spec"], again) == []
    prepared(again)


def test_allowed_drift_records_the_settings_each_trial_ran_under(quora_study, caplog):
    old = prepared(quora_study.spec(name="allowed"))
    fake_trial(old.study, old.spec_id, 0.5)
    edited = quora_study.spec(name="allowed", set=["train.epochs=2"])
    new = prepared(edited, allow_drift=True)
    assert "train.epochs was 1, now 2" in caplog.text
    assert new.spec_id != old.spec_id
    fake_trial(new.study, new.spec_id, 0.6)

    first, second = new.study.trials
    # A re-run of a config gets the settings it ran with, not the study file's newer ones.
    assert spec_of_trial(edited, new.study, first).train.epochs == 1
    assert spec_of_trial(edited, new.study, second).train.epochs == 2
    assert trial_settings(spec_of_trial(edited, new.study, first)) == trial_settings(
        quora_study.spec(name="allowed")
    )


def test_a_field_added_to_hpsearch_since_is_not_drift(quora_study):
    """A study stored before a field existed ran as its default says."""
    stored = prepared(quora_study.spec(name="upgrade")).study.user_attrs["spec"]
    del stored["train"]["max_grad_norm"], stored["train"]["seed"]
    changes = fixed_changes(stored, quora_study.spec(name="upgrade", set=["train.seed=3"]))
    assert [str(c) for c in changes] == ["train.seed was unset, now 3"]


@pytest.mark.parametrize(
    ("then", "now", "drift"),
    [
        ([], ["decoupled"], []),
        (["decoupled"], [], []),
        ([], ["coupled"], ['optimizer.weight_decay_mode was unset, now "coupled"']),
        (["coupled"], [], ['optimizer.weight_decay_mode was "coupled", now unset']),
    ],
)
def test_an_optimizer_hyperparameter_at_its_default_is_not_drift(quora_study, then, now, drift):
    """A study stores only the optimizer hyperparameters its file sets. M-FAC's trials from
    before weight_decay_mode ran decoupled, its default: writing that down (or leaving it
    out again) is no drift; coupled decay is."""
    mfac = ["optimizer.kind=mfac", "optimizer.num_grads=4"]

    def spec(modes):
        return quora_study.spec(
            name="mode", set=[*mfac, *(f"optimizer.weight_decay_mode={m}" for m in modes)]
        )

    stored = spec(then).to_dict()
    assert ("weight_decay_mode" in stored["optimizer"]) == bool(then)
    assert [str(c) for c in fixed_changes(stored, spec(now))] == drift


def test_a_trial_from_before_settings_were_recorded_gets_the_creation_spec(quora_study):
    created = prepared(quora_study.spec(name="old"))
    trial = created.study.ask()
    created.study.tell(trial, 0.5)  # no spec_id, as trials of earlier versions
    edited = quora_study.spec(name="old", set=["train.epochs=3"])
    assert spec_of_trial(edited, created.study, created.study.trials[0]).train.epochs == 1


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            "space.train.lr={ low = 5e-5, high = 5e-4 }",
            "space.train.lr was searched as a log float range [5e-05, 0.0005] by trial 0, and "
            "the study file now searches it as a linear float range [5e-05, 0.0005]",
        ),
        (
            "space.train.batch_size={ choices = [16, 32, 64] }",
            "space.train.batch_size was searched as choices [16, 32] by trial 0, and the study "
            "file now searches it as choices [16, 32, 64]",
        ),
        (
            "space.train.batch_size={ low = 16, high = 64 }",
            "as choices [16, 32] by trial 0, and the study file now searches it as a linear "
            "int range [16, 64]",
        ),
    ],
)
def test_an_edited_space_is_one_line_before_any_trial(change, expected, quora_study, cli):
    searched = "space.train.batch_size={ choices = [16, 32] }"
    spec = quora_study.spec(name="space", set=[searched])
    study = prepared(spec).study
    trial = study.ask()
    trial.suggest_float("train.lr", 5e-5, 5e-4, log=True)
    trial.suggest_categorical("train.batch_size", [16, 32])
    study.tell(trial, 0.5)

    path = quora_study(name="space", set=[searched, change])
    code, _, err = cli("run", str(path), "--storage", spec.study.storage)
    assert code == 1, err
    assert expected in err and "new study.name" in err
    assert "Traceback" not in err and err.strip().count("\n") == 0
    # No trial was asked for, so none was left FAILED.
    trials = optuna.load_study(study_name="space", storage=spec.study.storage).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE]


def test_a_widened_range_is_not_drift(quora_study):
    spec = quora_study.spec(name="wider")
    study = prepared(spec).study
    trial = study.ask()
    trial.suggest_float("train.lr", 5e-5, 5e-4, log=True)
    study.tell(trial, 0.5)
    prepared(
        quora_study.spec(
            name="wider", set=["space.train.lr={ low = 1e-5, high = 1e-3, log = true }"]
        )
    )


@pytest.mark.slow
def test_drift_end_to_end(quora_study, cli):
    """Run, edit a fixed setting: refused with the field named; allowed, the new trial
    records its settings and the old one keeps its own."""
    path = quora_study(name="e2e", n_trials=1, train=64, eval=64)
    code, _, err = cli("run", str(path))
    assert code == 0, err
    code, _, err = cli("run", str(path), "--n-trials", "2", "--set", "train.epochs=2")
    assert code == 1 and "train.epochs was 1, now 2" in err
    code, _, err = cli(
        "run", str(path), "--n-trials", "2", "--set", "train.epochs=2", "--allow-drift"
    )
    assert code == 0, err
    spec = quora_study.spec(name="e2e", n_trials=1, train=64, eval=64, set=["train.epochs=2"])
    study = optuna.load_study(study_name="e2e", storage=spec.study.storage)
    first, second = study.trials
    assert first.user_attrs["spec_id"] != second.user_attrs["spec_id"]
    assert spec_of_trial(spec, study, first).train.epochs == 1
    assert spec_of_trial(spec, study, second).train.epochs == 2
    assert second.user_attrs["epochs_done"] == 2.0


KINDS = "space.optimizer.kind={ choices = ['adamw', 'mfac'] }"


def mfac_lr(low: float) -> str:
    return f"space.by_kind.mfac.train.lr={{ low = {low}, high = 1e-2, log = true }}"


def test_a_kinds_own_range_is_a_setting_and_a_file_without_any_keeps_its_fingerprint(quora_study):
    plain = quora_study.spec(name="kinds", set=[KINDS])
    # Without conditional entries the settings are what they always were: the trial
    # sections and the metric, so stored studies keep their fingerprint.
    resolved = plain.to_dict()
    before = {name: resolved[name] for name in TRIAL_SECTIONS if name in resolved}
    assert trial_settings(plain) == {**before, "metric": plain.metric}
    assert record_settings(prepared(plain).study, plain) == fingerprint(
        {**before, "metric": plain.metric}
    )

    spec = quora_study.spec(name="by-kind", set=[KINDS, mfac_lr(1e-3)])
    first = prepared(spec)
    assert first.spec_id != fingerprint(trial_settings(plain))
    trial = first.study.ask()
    trial.set_user_attr("spec_id", first.spec_id)
    trial.suggest_categorical("optimizer.kind", ["adamw", "mfac"])
    trial.suggest_float("train.lr|optimizer.kind=mfac", 1e-3, 1e-2, log=True)
    first.study.tell(trial, 0.5)
    with pytest.raises(SpecDriftError) as info:
        prepared(quora_study.spec(name="by-kind", set=[KINDS, mfac_lr(2e-3)]))
    message = str(info.value)
    assert "space.by_kind.mfac.train.lr was" in message and '"low": 0.001' in message
    assert f"--set {mfac_lr(2e-3)}" in message  # the override that changed it, named
    # A kind's range made linear cannot share the study's parameter at all.
    linear = "space.by_kind.mfac.train.lr={ low = 1e-3, high = 1e-2 }"
    with pytest.raises(
        SpecDriftError, match=r"space\.by_kind\.mfac\.train\.lr was searched as a log"
    ):
        prepared(quora_study.spec(name="by-kind", set=[KINDS, linear]), allow_drift=True)
