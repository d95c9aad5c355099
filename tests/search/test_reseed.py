"""The re-runs of a study's configs over seeds (``hpsearch.search.reseed``), through the
stand-in objective (``fake_objective``, ``tests/fakes.py``), which trains nothing: the seed
decides the value, so what ran, and with which seed, is visible. The re-run spec; finished
seeds skipped, waiting ones reused, failed ones retried; re-runs that a killed process left
behind, or that run elsewhere.
"""

from __future__ import annotations

import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from hpsearch.search import reseed as reseed_module
from hpsearch.search.liveness import BEAT_ATTR
from hpsearch.search.progress import Wait
from hpsearch.search.reseed import ReseedError, reseed, reseed_name, run_spec
from hpsearch.spec.load import load_spec
from hpsearch.spec.suggest import suggest
from tests.fakes import NoData
from tests.studies import write_study
from tests.trials import add_trials, lr_trials


def test_run_spec_fixes_the_params_and_searches_only_the_seed(tmp_path):
    spec = load_spec(write_study(tmp_path, "m", "mfac"))
    params = {"train.lr": 1e-3, "train.warmup_ratio": 0.1, "optimizer.damp": 1e-4}
    fixed = run_spec(spec, params)
    assert (fixed.train.lr, fixed.train.warmup_ratio) == (1e-3, 0.1)
    assert fixed.optimizer.hparams == {"num_grads": 4, "damp": 1e-4}
    assert list(fixed.space) == ["train.seed"]
    assert suggest(optuna.trial.FixedTrial({"train.seed": 7}), fixed) == {"train.seed": 7}


def test_reseed_skips_finished_seeds_reuses_waiting_ones_and_retries_failed(
    tmp_path, fake_objective
):
    path = write_study(tmp_path, "src", "adamw")
    add_trials(path, lr_trials(0.5))  # one complete trial, lr 1e-4
    spec = load_spec(path)
    study = optuna.load_study(study_name="src", storage=spec.study.storage)
    (source,) = study.get_trials()

    fake_objective.fail_seeds = {1}
    with pytest.raises(ReseedError, match=r"1 of 3 re-runs .* seed 1: RuntimeError: out of luck"):
        reseed_module.reseed(spec, study, [source], [0, 1, 2], cache=NoData())
    # The source's lr, fixed, on every seed.
    assert fake_objective.calls == [("adamw", 1e-4, 0), ("adamw", 1e-4, 1), ("adamw", 1e-4, 2)]

    # An interrupted call left seed 3 enqueued but not started.
    companion = optuna.load_study(study_name="src-reseed", storage=spec.study.storage)
    companion.enqueue_trial(
        {"train.seed": 3}, user_attrs={"source_study": "src", "source_trial": 0, "seed": 3}
    )
    fake_objective.calls, fake_objective.fail_seeds = [], set()
    runs = reseed_module.reseed(spec, study, [source], [0, 1, 2, 3], cache=NoData())
    # Only the missing seeds.
    assert sorted(fake_objective.calls) == [("adamw", 1e-4, 1), ("adamw", 1e-4, 3)]
    assert [(r.seed, r.value) for r in runs[0]] == [  # F1 = 0.5 + 100 × lr + seed / 100
        (s, pytest.approx(0.51 + s / 100)) for s in range(4)
    ]
    states = [t.state for t in companion.get_trials()]
    assert states.count(TrialState.COMPLETE) == 4 and states.count(TrialState.FAIL) == 1
    assert TrialState.WAITING not in states  # the waiting seed 3 ran, not a second copy

    fake_objective.calls = []
    reseed_module.reseed(spec, study, [source], [0, 1, 2, 3], cache=NoData())
    assert fake_objective.calls == []


def stale_rerun(path: Path, beat: float) -> optuna.Study:
    """The companion of ``path``'s study with the re-run of trial 0, seed 0, RUNNING as a
    killed process leaves it, its last heartbeat at ``beat``."""
    spec = load_spec(path)
    companion = optuna.create_study(
        study_name=reseed_name(spec.study.name),
        storage=spec.study.storage,
        direction=spec.direction,
    )
    companion.set_user_attr("source_study", spec.study.name)
    companion.enqueue_trial(
        {"train.seed": 0},
        user_attrs={"source_study": spec.study.name, "source_trial": 0, "seed": 0},
    )
    trial = companion.ask()  # RUNNING, and nobody left to finish it
    companion._storage.set_trial_system_attr(trial._trial_id, BEAT_ATTR, beat)
    return companion


class Waits:
    """A progress display that only records what the run said it waited for."""

    def __init__(self):
        self.waits: list[Wait] = []

    def waiting(self, wait: Wait) -> None:
        self.waits.append(wait)

    def __getattr__(self, name):  # every other event: ignored
        return lambda *args, **kwargs: None


def test_a_rerun_left_running_by_a_killed_process_is_failed_and_redone(arms, fake_objective):
    path = arms("src", "adamw", [0.6, 0.7])
    companion = stale_rerun(path, beat=0.0)  # silent since 1970: long past any grace
    spec = load_spec(path)
    study = optuna.load_study(study_name="src", storage=spec.study.storage)
    progress = Waits()
    runs = reseed(spec, study, study.get_trials()[:1], [0, 1], cache=NoData(), progress=progress)
    assert [(r.seed, r.value) for r in runs[0]] == [
        (0, pytest.approx(0.51)),
        (1, pytest.approx(0.52)),
    ]
    states = [t.state for t in companion.get_trials()]
    assert states.count(TrialState.FAIL) == 1 and states.count(TrialState.COMPLETE) == 2
    (stale,) = [t for t in companion.get_trials() if t.state == TrialState.FAIL]
    assert "no heartbeat" in stale.user_attrs["fail_reason"]
    assert sorted(s for _, _, s in fake_objective.calls) == [0, 1]  # seed 0 once, not twice
    assert progress.waits == []  # nothing to wait for


def test_a_rerun_running_elsewhere_is_waited_for_and_said_so(arms, fake_objective):
    """A fresh heartbeat: the run waits, says for what and until when, and redoes the re-run
    once it stays silent for the grace (2 s here, set in the spec)."""
    path = arms(
        "src", "adamw", [0.6, 0.7], set=["study.heartbeat_interval=1", "study.heartbeat_grace=2"]
    )
    companion = stale_rerun(path, beat=time.time())
    spec = load_spec(path)
    study = optuna.load_study(study_name="src", storage=spec.study.storage)
    progress = Waits()
    runs = reseed(
        spec,
        study,
        study.get_trials()[:1],
        [0],
        cache=NoData(),
        progress=progress,
        poll_interval=0.1,
    )
    assert [r.seed for r in runs[0]] == [0]
    assert progress.waits and "re-run(s) #0 (trial 0, seed 0)" in progress.waits[0].what
    assert "src-reseed" in progress.waits[0].what
    assert progress.waits[0].until is not None and progress.waits[0].running == 1
    states = [t.state for t in companion.get_trials()]
    assert states == [TrialState.FAIL, TrialState.COMPLETE]
