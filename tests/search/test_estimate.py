"""Estimates of what is left to run: the time from the record of finished trials (never
a warm-up), running trials counted as partly done, seed re-runs as long as the trial they
re-run, and M-FAC's buffer from a recorded M-FAC trial or, before one, stored dense."""

from __future__ import annotations

import datetime as dt

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import FrozenTrial, TrialState

from hpsearch.search.estimate import (
    eta_seconds,
    mfac_buffer,
    rerun_estimate,
    study_estimate,
    trial_seconds,
)
from hpsearch.search.liveness import BEAT_ATTR

T0 = dt.datetime(2026, 1, 1, 12, 0, 0)
LR = FloatDistribution(1e-5, 1e-2, log=True)


def trial(
    number: int,
    seconds: float | None,
    state: TrialState = TrialState.COMPLETE,
    *,
    started: float = 0.0,
    params: dict | None = None,
    attrs: dict | None = None,
) -> FrozenTrial:
    """A trial that started ``started`` s after T0 and took ``seconds`` (None: still
    running, or never started when ``started`` is negative)."""
    start = None if started < 0 else T0 + dt.timedelta(seconds=started)
    end = None if seconds is None or start is None else start + dt.timedelta(seconds=seconds)
    params = params if params is not None else {"train.lr": 1e-4}
    distributions = {
        k: CategoricalDistribution(["adamw", "mfac"]) if k == "optimizer.kind" else LR
        for k in params
    }
    return FrozenTrial(
        number=number,
        state=state,
        value=0.5 if state == TrialState.COMPLETE else None,
        datetime_start=start,
        datetime_complete=end,
        params=params,
        distributions=distributions,
        user_attrs=attrs or {},
        system_attrs={},
        intermediate_values={},
        trial_id=number,
    )


def test_a_trial_takes_its_wall_clock_from_start_to_end():
    assert trial_seconds(trial(0, 40.0)) == 40.0
    assert trial_seconds(trial(1, None, TrialState.RUNNING)) is None


def test_time_left_is_the_median_finished_trial_times_the_trials_left():
    done = [trial(0, 30.0), trial(1, 50.0, TrialState.PRUNED), trial(2, 40.0)]
    assert eta_seconds(done, budget=8) == 5 * 40.0
    assert eta_seconds(done, budget=8, workers=2) == 5 * 40.0 / 2
    assert eta_seconds(done, budget=3) == 0.0
    # Failed trials neither count as finished nor give a time.
    assert eta_seconds([*done, trial(3, 1.0, TrialState.FAIL)], budget=8) == 5 * 40.0


def test_a_running_trial_counts_as_partly_done():
    done = [trial(0, 40.0), trial(1, 40.0)]
    running = trial(2, None, TrialState.RUNNING, started=100.0)
    now = T0 + dt.timedelta(seconds=130)  # it ran 30 of its typical 40 s
    assert eta_seconds([*done, running], budget=4, now=now) == 40.0 + 10.0
    late = T0 + dt.timedelta(seconds=200)  # longer than typical: nothing more is counted
    assert eta_seconds([*done, running], budget=4, now=late, grace=1000) == 40.0


def test_a_running_trial_whose_worker_died_counts_whole():
    # Its heartbeat fell silent: the next sweep fails it and runs its params again.
    done = [trial(0, 40.0), trial(1, 40.0)]
    dead = trial(2, None, TrialState.RUNNING, started=100.0)
    dead.system_attrs[BEAT_ATTR] = (T0 + dt.timedelta(seconds=110)).timestamp()
    now = T0 + dt.timedelta(seconds=400)  # 290 s since its last beat, over a 180 s grace
    assert eta_seconds([*done, dead], budget=4, now=now, grace=180) == 2 * 40.0
    alive = T0 + dt.timedelta(seconds=130)  # 20 s since its beat: it runs, 30 s of 40 done
    assert eta_seconds([*done, dead], budget=4, now=alive, grace=180) == 40.0 + 10.0


def test_no_finished_trial_gives_no_time_yet(quora_study):
    spec = quora_study.spec()
    assert eta_seconds([trial(0, None, TrialState.RUNNING)], budget=4) is None
    estimate = study_estimate(spec, [], budget=4)
    assert (estimate.runs, estimate.seconds) == (4, None)
    assert estimate.basis == "no finished trial yet"
    assert estimate.mfac is None  # AdamW only


def test_a_study_estimate_says_what_it_rests_on(quora_study):
    spec = quora_study.spec()
    attrs = {"device": "cpu", "precision": "bf16", "peak_memory_bytes": 2**30}
    done = [trial(0, 30.0, attrs=attrs), trial(1, 50.0, attrs=attrs)]
    estimate = study_estimate(spec, done, budget=6, workers=2)
    assert (estimate.runs, estimate.seconds, estimate.workers) == (4, 4 * 40.0 / 2, 2)
    assert estimate.basis == "median of 2 finished trials, 40 s each"
    assert estimate.ran_on == ("cpu, bf16",)
    assert estimate.peak_memory_bytes == 2**30


@pytest.fixture
def mfac_spec(quora_study):
    """A study that searches the optimizer: AdamW, or M-FAC with 8 or 16 gradients."""
    return quora_study.spec(
        set=[
            'space.optimizer.kind={ choices = ["adamw", "mfac"] }',
            "space.optimizer.num_grads={ choices = [8, 16] }",
        ]
    )


def test_mfac_buffer_before_an_mfac_trial_is_stored_dense(mfac_spec):
    adamw = trial(0, 30.0, params={"optimizer.kind": "adamw"}, attrs={"trainable_params": 1000})
    buffer = mfac_buffer(mfac_spec, [adamw])
    assert buffer is not None
    assert (buffer.bytes, buffer.num_grads) == (1000 * 4 * 16, 16)  # float32, the most grads
    assert "stored dense" in buffer.source and "trial 0" in buffer.source


def test_mfac_buffer_scales_a_recorded_mfac_trial(mfac_spec):
    """A recorded M-FAC trial's state (row-sparse where smaller) per gradient, times the
    largest num_grads the space can ask for."""
    mfac = trial(
        1,
        30.0,
        params={"optimizer.kind": "mfac", "optimizer.num_grads": 8},
        attrs={"optimizer_state_bytes": 8 * 500, "trainable_params": 1000},
    )
    mfac.distributions["optimizer.num_grads"] = CategoricalDistribution([8, 16])
    buffer = mfac_buffer(mfac_spec, [mfac])
    assert buffer is not None
    assert (buffer.bytes, buffer.num_grads) == (500 * 16, 16)
    assert "trial 1" in buffer.source


def test_no_mfac_buffer_without_a_record_or_without_mfac(mfac_spec, quora_study):
    assert mfac_buffer(mfac_spec, []) is None
    adamw_only = quora_study.spec()
    assert mfac_buffer(adamw_only, [trial(0, 30.0, attrs={"trainable_params": 1000})]) is None


def test_re_runs_take_as_long_as_the_trials_they_re_run(quora_study):
    spec = quora_study.spec()
    study = optuna.create_study(study_name="quora", direction="maximize")
    for t in (trial(0, 30.0), trial(1, 50.0)):
        study.add_trial(t)
    source = study.get_trials()
    # Seed 0 of trial 0 finished in the companion study already.
    companion = optuna.create_study(
        study_name="quora-reseed", storage=study._storage, direction="maximize"
    )
    companion.add_trial(
        optuna.trial.create_trial(
            params={},
            distributions={},
            value=0.5,
            user_attrs={"source_study": "quora", "source_trial": 0, "seed": 0},
        )
    )
    estimate = rerun_estimate([(spec, study, source)], seeds=[0, 1])
    assert (estimate.runs, estimate.seconds) == (3, 30.0 + 50.0 + 50.0)
    # A trial named twice (a report's scheme row that is also a top config) counts once.
    twice = rerun_estimate([(spec, study, source), (spec, study, source[:1])], seeds=[0, 1])
    assert twice.runs == 3
    done = rerun_estimate([(spec, study, source[:1])], seeds=[0])
    assert (done.runs, done.basis) == (0, "every re-run finished already")


def test_a_re_run_keeps_the_buffer_its_trial_recorded(mfac_spec):
    """Not the space's largest num_grads: the re-run runs the trial's own config."""
    study = optuna.create_study(study_name="quora", direction="maximize")
    adamw = trial(0, 30.0, params={"optimizer.kind": "adamw"}, attrs={"trainable_params": 1000})
    mfac = trial(
        1,
        30.0,
        params={"optimizer.kind": "mfac", "optimizer.num_grads": 8},
        attrs={"optimizer_state_bytes": 4000},
    )
    mfac.distributions["optimizer.num_grads"] = CategoricalDistribution([8, 16])
    only_adamw = rerun_estimate([(mfac_spec, study, [adamw])], seeds=[0])
    assert only_adamw.mfac is None
    both = rerun_estimate([(mfac_spec, study, [adamw]), (mfac_spec, study, [mfac])], seeds=[0])
    assert both.mfac is not None
    assert (both.mfac.bytes, both.mfac.num_grads) == (4000, 8)
