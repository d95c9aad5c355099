"""Studies end to end: storage, budget across resumes, pruning, failed trials, fatal errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from hpsearch.data.pretrained import ModelLoadError
from hpsearch.errors import DataError
from hpsearch.search.storage import open_storage
from hpsearch.search.study import StudyNotFoundError, load_study, prepare_study, run_study
from hpsearch.spec.load import load_spec
from hpsearch.spec.suggest import suggest


def optuna_cli() -> str:
    """Optuna's own command, installed beside this Python."""
    found = shutil.which("optuna") or str(Path(sys.executable).parent / "optuna")
    assert Path(found).exists(), "the optuna command is not installed"
    return found


@pytest.mark.slow
def test_quora_study_resumes_to_the_new_budget(quora_study, cli_process, tmp_path):
    """Acceptance: 4 trials of 1 epoch on 1,000 pairs, then --n-trials 6 adds exactly 2."""
    path = quora_study(name="quora-acceptance", n_trials=4, train=1000, eval=500)
    first = cli_process("run", str(path))
    assert first.returncode == 0, first.stderr
    db = tmp_path / "quora-acceptance.db"
    assert db.is_file()
    assert "4/4 trials finished" in first.stdout

    listed = subprocess.run(
        [
            optuna_cli(),
            "trials",
            "--storage",
            f"sqlite:///{db}",
            "--study-name",
            "quora-acceptance",
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    trials = json.loads(listed.stdout)
    assert [t["state"] for t in trials] == ["COMPLETE"] * 4

    second = cli_process("run", str(path), "--n-trials", "6")
    assert second.returncode == 0, second.stderr
    study = optuna.load_study(study_name="quora-acceptance", storage=f"sqlite:///{db}")
    assert len(study.trials) == 6
    assert [t.number for t in study.trials] == list(range(6))
    # The trials keep what they measured, and the resolved spec is saved with the study.
    best = study.best_trial
    assert best.value == best.user_attrs["metrics"]["f1"]
    assert len(best.user_attrs["evals"]) == 2
    assert study.user_attrs["spec"]["task"]["max_train_samples"] == 1000
    assert "quora-acceptance" in study.user_attrs["study_file"]


def test_a_rerun_at_the_budget_runs_nothing(quora_study):
    enqueue = 'study.enqueue=[{ "train.lr" = 1e-4 }]'
    spec = quora_study.spec(name="again", n_trials=1, train=64, eval=64, set=[enqueue])
    first = run_study(spec)
    assert first.ran == 1  # the enqueued trial counts as run now
    assert first.study.trials[0].params == {"train.lr": 1e-4}
    summary = run_study(spec)
    assert summary.ran == 0 and summary.finished == 1


@pytest.mark.slow
def test_median_pruner_prunes_a_bad_learning_rate(tmp_path):
    """Good and bad learning rates side by side: the bad trials are pruned early.

    The objective is validation loss: a learning rate of 1.0 sends it far above the good
    trials' (about 0.7) at the first evaluation, whatever the random head predicts.
    """
    path = tmp_path / "prune.toml"
    path.write_text("""
[study]
name = "prune"
metric = "loss"
n_trials = 4
pruner = { name = "median", n_startup_trials = 2, n_warmup_steps = 0 }
enqueue = [{ "train.lr" = 3e-4 }, { "train.lr" = 3e-4 }, { "train.lr" = 1.0 },
           { "train.lr" = 1.0 }]

[task]
max_train_samples = 640
max_eval_samples = 300
max_length = 48

[model]
num_hidden_layers = 2

[train]
epochs = 1
batch_size = 16
evals_per_epoch = 4

[space.train]
lr = { choices = [3e-4, 1.0] }  # 1.0 wrecks the weights: validation loss > 5
""")
    study = run_study(load_spec(path)).study
    states = {t.number: t.state for t in study.trials}
    assert states[0] == states[1] == optuna.trial.TrialState.COMPLETE
    assert states[2] == states[3] == optuna.trial.TrialState.PRUNED
    pruned = study.trials[2]
    assert len(pruned.user_attrs["evals"]) < 4  # stopped before the end of its epoch


def test_a_failing_trial_is_recorded_and_the_study_goes_on(quora_study):
    """An M-FAC trial whose buffer cannot fit fails with the reason; the next one runs."""
    spec = quora_study.spec(
        name="fails",
        n_trials=1,
        train=64,
        eval=64,
        set=[
            "optimizer.kind=mfac",
            "space.optimizer.num_grads={ choices = [100000000, 4] }",
            'study.enqueue=[{ "optimizer.num_grads" = 100000000 }, { "optimizer.num_grads" = 4 }]',
        ],
    )
    study = run_study(spec).study
    failed, complete = study.trials
    assert failed.state == optuna.trial.TrialState.FAIL
    assert "bytes" in failed.user_attrs["fail_reason"]
    assert "num_grads" in failed.user_attrs["fail_reason"]
    assert complete.state == optuna.trial.TrialState.COMPLETE


def test_failures_in_a_row_stop_the_run(quora_study):
    spec = quora_study.spec(
        name="allfail",
        n_trials=5,
        train=64,
        eval=64,
        set=["optimizer.kind=mfac", "optimizer.num_grads=100000000", "study.max_failures=2"],
    )
    summary = run_study(spec)
    assert summary.stopped_on_failures
    assert summary.ran == 2 and summary.finished == 0
    assert [t.state for t in summary.study.trials] == [optuna.trial.TrialState.FAIL] * 2


def test_an_unloadable_model_stops_before_any_trial(quora_study, tmp_path):
    spec = quora_study.spec(name="nomodel", set=[f'model.name="{tmp_path}/none"'])
    with pytest.raises(ModelLoadError, match="cannot load the tokenizer"):
        run_study(spec)
    with pytest.raises(StudyNotFoundError):  # nothing was written to storage
        load_study(spec)


def test_a_bad_data_file_stops_before_any_trial(quora_study):
    spec = quora_study.spec(name="badcol", set=["task.label_field=duplicate"])
    with pytest.raises(DataError, match="no column"):
        run_study(spec)


def test_an_enqueued_trial_lands_on_its_kinds_own_range(quora_study):
    """The quickstart's case: an enqueued M-FAC setting is asked under M-FAC's own lr
    parameter, so the trial takes it instead of sampling; an AdamW one under train.lr."""
    spec = quora_study.spec(
        name="enqueued-kinds",
        set=[
            "space.optimizer.kind={ choices = ['adamw', 'mfac'] }",
            "space.by_kind.mfac.train.lr={ low = 1e-3, high = 3e-2, log = true }",
            'study.enqueue=[{ "optimizer.kind" = "mfac", "train.lr" = 3e-3 }, '
            '{ "optimizer.kind" = "adamw", "train.lr" = 2e-4 }]',
        ],
    )
    study = prepare_study(spec, open_storage(spec.study.storage)).study
    mfac, adamw = study.ask(), study.ask()
    assert suggest(mfac, spec) == {"optimizer.kind": "mfac", "train.lr": 3e-3}
    assert mfac.params == {"optimizer.kind": "mfac", "train.lr|optimizer.kind=mfac": 3e-3}
    assert suggest(adamw, spec) == {"optimizer.kind": "adamw", "train.lr": 2e-4}
    assert adamw.params == {"optimizer.kind": "adamw", "train.lr": 2e-4}
