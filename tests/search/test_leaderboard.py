"""The leaderboard: rows and states, the summary of every study in a storage (--all), and
the live view (--watch), on studies written directly with Optuna (no training)."""

from __future__ import annotations

import io
import os
import signal
import time
from pathlib import Path

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial
from rich.console import Console

from hpsearch.cli.progress import best_text
from hpsearch.cli.views import render_leaderboard, render_study_summary, watch
from hpsearch.search.leaderboard import leaderboard_rows, study_summary_rows
from hpsearch.search.record import top_trials
from hpsearch.spec.load import load_spec

LR = {"train.lr": FloatDistribution(1e-5, 1e-2, log=True)}


def _complete(
    study: optuna.Study,
    lr: float,
    f1: float,
    mcc: float | None = None,
    at_chance: float | None = None,
) -> None:
    """A complete trial that measured ``f1`` (and ``mcc``); ``at_chance``: it answered one
    class and its value is that, as the objective records it."""
    metrics = {"f1": f1, "accuracy": 0.5} | ({} if mcc is None else {"mcc": mcc})
    chance = {} if at_chance is None else {"value_at_chance": at_chance}
    study.add_trial(
        create_trial(
            params={"train.lr": lr},
            distributions=LR,
            value=f1 if at_chance is None else at_chance,
            intermediate_values={0: f1 / 2, 1: f1},
            user_attrs={"metrics": metrics, "epochs_done": 1.0, **chance},
        )
    )


@pytest.fixture
def study_file(quora_study) -> Path:
    """A study file whose study holds complete, pruned, failed and running trials."""
    path = quora_study(name="board")
    spec = load_spec(path)
    study = optuna.create_study(
        study_name="board", storage=spec.study.storage, direction="maximize"
    )
    _complete(study, 1e-4, 0.70)
    _complete(study, 3e-4, 0.80)
    study.add_trial(
        create_trial(
            params={"train.lr": 1e-2},
            distributions=LR,
            state=TrialState.PRUNED,
            intermediate_values={0: 0.2},
            user_attrs={"evals": [{"metrics": {"f1": 0.2, "accuracy": 0.4}}], "epochs_done": 0.5},
        )
    )
    study.add_trial(
        create_trial(
            params={"train.lr": 5e-3},
            distributions=LR,
            state=TrialState.FAIL,
            user_attrs={"fail_reason": "NonFiniteLossError: loss is nan"},
        )
    )
    study.ask()  # left RUNNING, as a worker's current trial
    other = optuna.create_study(
        study_name="other", storage=spec.study.storage, direction="minimize"
    )
    other.add_trial(create_trial(params={}, distributions={}, value=0.25))
    return path


def test_rows_rank_complete_then_pruned_then_the_rest(study_file):
    spec = load_spec(study_file)
    study = optuna.load_study(study_name="board", storage=spec.study.storage)
    rows = leaderboard_rows(study, "f1")
    assert [(r.rank, r.state, r.value) for r in rows] == [
        (1, "complete", 0.80),
        (2, "complete", 0.70),
        (3, "pruned", 0.2),  # the best f1 it reached before it was pruned
        (4, "running", None),
        (5, "failed", None),
    ]
    assert rows[0].metrics["accuracy"] == 0.5 and rows[0].epochs == 1.0
    assert rows[0].duration is not None
    assert rows[2].metrics == {"f1": 0.2, "accuracy": 0.4}  # the evaluation it was pruned at
    assert rows[4].fail_reason == "NonFiniteLossError: loss is nan"
    assert len(leaderboard_rows(study, "f1", top=2)) == 2


def test_a_one_class_trial_ranks_at_chance_where_optuna_ranks_it(tmp_path):
    """Answering "duplicate" for every Quora pair measures F1 0.63, more than a weak model
    that learned; its value is at chance, 0.46. The leaderboard shows 0.63, marked, and
    ranks it by 0.46: below a trial that learned to 0.5, above one that reached only 0.40
    (whatever F1 a guess beats), exactly as study.best_trial and TPE see them."""
    storage = f"sqlite:///{tmp_path / 'chance.db'}"
    study = optuna.create_study(study_name="chance", storage=storage, direction="maximize")
    _complete(study, 1e-4, 0.40, mcc=0.05)
    _complete(study, 3e-3, 0.63, mcc=0.0, at_chance=0.46)  # "duplicate" everywhere
    _complete(study, 3e-4, 0.50, mcc=0.18)
    rows = leaderboard_rows(study, "f1")
    assert [(r.trial, r.value, r.at_chance, r.one_class) for r in rows] == [
        (2, 0.50, None, False),
        (1, 0.63, 0.46, True),
        (0, 0.40, None, False),
    ]
    assert rows[0].trial == study.best_trial.number
    assert [t.number for t in top_trials(study.trials, 3, maximize=True)] == [2, 1, 0]
    (summary,) = study_summary_rows(optuna.storages.get_storage(storage))
    assert (summary.best_trial, summary.best_value) == (2, 0.50)
    assert best_text(study) == "best 0.5000 (trial 2)"
    text = " ".join(_text(render_leaderboard(rows, "f1")).split())
    assert "complete¹" in text and "it ranks at chance, the value the search was given" in text


def test_a_one_class_trial_recorded_before_values_at_chance_ranks_after_every_learner(tmp_path):
    """A study run before one-class trials were reported at chance holds what such a
    trial measured as its value: it is never the best, in the leaderboard, the storage
    summary, the run's progress line or the configs a comparison re-runs."""
    storage = f"sqlite:///{tmp_path / 'flat.db'}"
    study = optuna.create_study(study_name="flat", storage=storage, direction="maximize")
    _complete(study, 1e-4, 0.58, mcc=0.21)
    _complete(study, 3e-3, 0.63, mcc=0.0)  # "duplicate" everywhere
    _complete(study, 3e-4, 0.55, mcc=0.18)
    rows = leaderboard_rows(study, "f1")
    assert [(r.trial, r.one_class) for r in rows] == [(0, False), (2, False), (1, True)]
    assert [t.number for t in top_trials(study.trials, 3, maximize=True)] == [0, 2, 1]
    (summary,) = study_summary_rows(optuna.storages.get_storage(storage))
    assert (summary.best_trial, summary.best_value) == (0, 0.58)
    assert best_text(study) == "best 0.5800 (trial 0)"
    text = _text(render_leaderboard(rows, "f1"))
    assert "complete¹" in text and "¹ one class" in text
    assert "recorded before that: after every trial that learned" in " ".join(text.split())


def test_summary_of_every_study_in_the_storage(study_file):
    spec = load_spec(study_file)
    rows = study_summary_rows(optuna.storages.get_storage(spec.study.storage))
    assert [r.study for r in rows] == ["board", "other"]
    board, other = rows
    assert board.states == {"complete": 2, "pruned": 1, "running": 1, "waiting": 0, "failed": 1}
    assert board.trials == 5
    assert (board.best_value, board.best_trial) == (0.80, 1)
    assert board.best_params == {"train.lr": 3e-4}
    assert other.direction == "minimize" and other.best_value == 0.25
    text = _text(render_study_summary(rows))
    assert "board" in text and "other" in text and "lr=0.0003" in text


def test_cli_all_shows_every_study(study_file, cli):
    code, out, err = cli("leaderboard", str(study_file), "--all")
    assert code == 0, err
    assert "board" in out and "other" in out and "complete" in out and "0.8" in out


def test_cli_all_on_a_missing_database_creates_nothing(quora_study, tmp_path, cli):
    path = quora_study(name="nothing")
    code, _, err = cli("leaderboard", str(path), "--all")
    assert code == 1 and "does not exist" in err
    assert not (tmp_path / "nothing.db").exists()


def _text(renderable) -> str:
    console = Console(file=io.StringIO(), width=200)
    console.print(renderable)
    return console.file.getvalue()


def test_watch_rereads_storage_on_each_refresh(study_file):
    """A trial finished between two refreshes appears in the next one."""
    spec = load_spec(study_file)
    study = optuna.load_study(study_name="board", storage=spec.study.storage)
    counts = []

    def render():
        rows = leaderboard_rows(study, "f1")
        counts.append(sum(r.state == "complete" for r in rows))
        return render_leaderboard(rows, "f1")

    def sleep(seconds: float) -> None:
        assert seconds == 2.5
        _complete(study, 2e-4, 0.95)  # a worker finishes a trial meanwhile

    console = Console(file=io.StringIO(), width=200, force_terminal=False)
    assert watch(render, console, 2.5, refreshes=3, sleep=sleep) == 3
    assert counts == [2, 3, 4]
    assert "0.95" in console.file.getvalue()  # the last view is left on the console


def test_watch_stops_cleanly_on_ctrl_c():
    renders = []

    def sleep(seconds: float) -> None:
        if len(renders) == 2:
            raise KeyboardInterrupt

    console = Console(file=io.StringIO(), width=80)
    shown = watch(lambda: renders.append(1) or f"view {len(renders)}", console, 1, sleep=sleep)
    assert shown == 2 and len(renders) == 2
    assert "view 2" in console.file.getvalue()


@pytest.mark.skipif(os.name != "posix", reason="select() on pipes, SIGINT")
def test_cli_watch_refreshes_until_sigint(study_file, cli_process, wait_for_line):
    """The real command: it keeps running, and Ctrl-C (SIGINT) ends it with exit code 0."""
    proc = cli_process.start("leaderboard", str(study_file), "--watch", "--interval", "0.5")
    try:
        line = wait_for_line(proc, "watching", timeout=120)
        assert "study board every 0.5 s" in line
        time.sleep(1.5)  # a few refreshes
        assert proc.poll() is None, "the watch ended by itself"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "interrupted" not in err and "Traceback" not in err
    assert "board" in out and "complete" in out and "Ctrl-C to stop" in out


MFAC_LR = "train.lr|optimizer.kind=mfac"


def test_a_kinds_own_lr_is_the_train_lr_column():
    """An M-FAC trial searched under train.lr|optimizer.kind=mfac shows its lr in the same
    column as an AdamW trial's train.lr, in the rows and in a storage's summary."""
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage, direction="maximize")
    kinds = optuna.distributions.CategoricalDistribution(["adamw", "mfac"])
    for kind, name, lr, f1 in (("adamw", "train.lr", 3e-4, 0.6), ("mfac", MFAC_LR, 3e-3, 0.7)):
        study.add_trial(
            create_trial(
                params={"optimizer.kind": kind, name: lr},
                distributions={"optimizer.kind": kinds, name: LR["train.lr"]},
                value=f1,
            )
        )
    rows = leaderboard_rows(study, "f1")
    assert [r.params for r in rows] == [
        {"optimizer.kind": "mfac", "train.lr": 3e-3},
        {"optimizer.kind": "adamw", "train.lr": 3e-4},
    ]
    (summary,) = study_summary_rows(storage)
    assert summary.best_params == {"optimizer.kind": "mfac", "train.lr": 3e-3}
