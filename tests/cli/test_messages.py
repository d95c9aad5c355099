"""Messages that blame the right thing: drift that a --set caused says so, a budget already
spent is not "7/2 trials finished", and a run with workers counts the trials they ran."""

from __future__ import annotations

import re
from pathlib import Path

import optuna
import pytest

from hpsearch.search.drift import SpecDriftError
from hpsearch.search.storage import open_storage
from hpsearch.search.study import prepare_study
from hpsearch.spec.load import load_spec


def study_with_trials(path: Path, n: int, overrides: tuple[str, ...] = ()) -> None:
    """The study of ``path`` created as `hpsearch run` creates it, with ``n`` finished
    trials recorded as the objective records them (without training)."""
    spec = load_spec(path, overrides)
    prepared = prepare_study(spec, open_storage(spec.study.storage))
    for i in range(n):
        trial = prepared.study.ask()
        trial.set_user_attr("spec_id", prepared.spec_id)
        trial.suggest_float("train.lr", 5e-5, 5e-4, log=True)
        prepared.study.tell(trial, 0.1 * i)


def drift_message(path: Path, overrides: tuple[str, ...] = ()) -> str:
    spec = load_spec(path, overrides)
    with pytest.raises(SpecDriftError) as info:
        prepare_study(spec, open_storage(spec.study.storage))
    message = str(info.value)
    assert "\n" not in message
    return message


def test_drift_caused_by_set_names_the_set_not_the_file(quora_study):
    path = quora_study(name="by-set")
    study_with_trials(path, 1)
    message = drift_message(path, ("train.epochs=2",))
    assert (
        "--set train.epochs=2 makes the fixed settings differ from those its 1 trial ran with "
        "(train.epochs was 1, now 2)"
    ) in message
    assert "study file" not in message
    assert "--set study.name=NEW_NAME" in message and "--allow-drift" in message


def test_drift_caused_by_an_edit_blames_the_file(quora_study):
    path = quora_study(name="by-file")
    study_with_trials(path, 2)
    text = path.read_text()
    path.write_text(re.sub(r"(?m)^epochs = 1$", "epochs = 2", text))
    message = drift_message(path)
    assert (
        "the study file's fixed settings differ from those its 2 trials ran with "
        "(train.epochs was 1, now 2)"
    ) in message
    assert "--set" not in message and "put the settings back" in message


def test_drift_of_both_names_each_cause(quora_study):
    path = quora_study(name="both")
    study_with_trials(path, 1)
    path.write_text(re.sub(r"(?m)^epochs = 1$", "epochs = 2", path.read_text()))
    message = drift_message(path, ("model.num_hidden_layers=1", "train.evals_per_epoch=1"))
    assert "the study file's fixed settings differ from those its 1 trial ran with" in message
    assert "(train.epochs was 1, now 2)" in message
    assert (
        "and --set model.num_hidden_layers=1, --set train.evals_per_epoch=1 change more "
        "(model.num_hidden_layers was 2, now 1; train.evals_per_epoch was 2, now 1)"
    ) in message


def test_a_set_that_repeats_the_stored_value_is_no_drift(quora_study):
    path = quora_study(name="same")
    study_with_trials(path, 1)
    spec = load_spec(path, ("train.epochs=1",))
    prepare_study(spec, open_storage(spec.study.storage))  # no error


def test_a_budget_already_spent_says_so(quora_study, cli):
    path = quora_study(name="spent", n_trials=7)
    study_with_trials(path, 7)
    code, out, err = cli("run", str(path), "--n-trials", "2")
    assert code == 0, err
    text = " ".join(out.split())  # the console wraps long lines
    assert text.startswith(
        "study spent: 7 trials finished already, at or past its budget of 2 (--n-trials 2: the "
        "study's total, not trials to add), so none ran now (0 failed in all); pass "
        "--n-trials 8 or more to run more; storage sqlite:///"
    ), text
    assert "7/2" not in text
    # Without --n-trials, the budget is the study file's.
    code, out, _ = cli("run", str(path))
    text = " ".join(out.split())
    assert "at or past its budget of 7 (study.n_trials = 7: the study's total" in text


@pytest.mark.slow
def test_workers_on_a_journal_count_the_trials_they_ran(quora_study, cli_process, tmp_path):
    """An enqueued trial is in the study before the workers start: it was counted as one
    already there, and the run said "1 run now" after its workers ran 2."""
    enqueue = 'study.enqueue=[{ "train.lr" = 1e-4 }]'
    path = quora_study(
        name="journal-count",
        n_trials=2,
        train=32,
        eval=32,
        set=[enqueue, "model.num_hidden_layers=1", "task.max_length=32"],
    )
    url = f"journal:///{tmp_path / 'study.log'}"
    done = cli_process("run", str(path), "--storage", url, "--workers", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2/2 trials finished (2 run now, 0 failed in all)" in done.stdout
    study = optuna.load_study(study_name="journal-count", storage=open_storage(url))
    assert study.trials[0].params == {"train.lr": 1e-4}
