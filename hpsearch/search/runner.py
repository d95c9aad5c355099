"""The trial loop: ask, claim a place in the budget, run with a heartbeat, tell.

Optuna's ``study.optimize`` counts trials per process, so N workers sharing one study each
run their own budget, and ``MaxTrialsCallback`` only looks after a trial ends: two workers
that finish together both start one more. Here the budget belongs to the study:

- a worker asks for a trial only while COMPLETE + PRUNED + RUNNING trials are below it;
- after asking, the trial claims its place: it runs only if fewer than ``budget`` trials
  with smaller numbers are COMPLETE, PRUNED or RUNNING. Two workers that raced agree on
  who lost; the loser's trial goes back to WAITING, unrun, for the next ask;
- a worker with nothing to start while others still run waits for them, sweeping for
  stale trials (a killed worker's), so the budget is finished even if one of them died.

FAILED trials (an error, a stale heartbeat, an interrupt) do not count. A stale trial's
params, and those of a trial a Ctrl-C or SIGTERM cut short, are queued again as a new trial
(up to ``study.max_retries`` times), so the next run redoes that config, an enqueued one
included, and a retried trial never counts twice.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import FrozenTrial, TrialState

from hpsearch.errors import TrialFailed
from hpsearch.search.interrupts import SignalGuard
from hpsearch.search.liveness import BEAT_ATTR, Liveness, retry_of
from hpsearch.search.progress import Wait
from hpsearch.search.record import TrialRecord, read_record, write_record

# Trials that use up the budget. Failed trials do not: they are retried work, not results.
BUDGET_STATES = (TrialState.COMPLETE, TrialState.PRUNED)
_TAKEN = (*BUDGET_STATES, TrialState.RUNNING)

log = logging.getLogger(__name__)

Callback = Callable[[optuna.Study, FrozenTrial], None]


@dataclass
class LoopResult:
    ran: int = 0  # trials this worker started and finished (any state)
    stopped_on_failures: bool = False  # ``max_failures`` trials in a row failed
    timed_out: bool = False


def count_finished(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=BUDGET_STATES))


def run_trials(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    *,
    budget: int,
    guard: SignalGuard,
    liveness: Liveness | None = None,
    timeout: float | None = None,
    max_failures: int | None = None,
    max_trials: int | None = None,
    callbacks: Sequence[Callback] = (),
    on_wait: Callable[[Wait], None] | None = None,
    poll_interval: float = 2.0,
) -> LoopResult:
    """Run trials of ``study`` until ``budget`` trials are COMPLETE or PRUNED.

    ``objective`` raises ``optuna.TrialPruned`` to prune and :class:`TrialFailed` to fail
    its trial and go on; any other exception fails the trial with its message as
    ``fail_reason`` and stops the loop (an error every trial would hit, or an interrupt).
    ``max_trials`` caps the trials this worker runs (for a queue of known length).
    ``on_wait(wait)`` is called at each poll while this worker waits for trials of other
    workers (or of a killed run) with what it waits for and until when
    (:func:`waiting_for`).
    """
    result = LoopResult()
    started = time.monotonic()
    failures_in_a_row = 0
    while max_trials is None or result.ran < max_trials:
        if timeout is not None and time.monotonic() - started >= timeout:
            result.timed_out = True
            return result
        if liveness is not None:
            liveness.sweep(study)
        finished = count_finished(study)
        if finished >= budget:
            return result
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if finished + len(running) >= budget:
            if on_wait is not None:
                on_wait(waiting_for(running, liveness))
            time.sleep(poll_interval)
            continue
        with guard.shielded():
            trial = study.ask()
            if not claims_place(study, trial, budget):
                give_back(study, trial)
                continue
        frozen = _run_one(study, trial, objective, guard, liveness)
        result.ran += 1
        for callback in callbacks:
            callback(study, frozen)
        failures_in_a_row = failures_in_a_row + 1 if frozen.state == TrialState.FAIL else 0
        if max_failures is not None and failures_in_a_row >= max_failures:
            result.stopped_on_failures = True
            return result
    return result


def waiting_for(running: Sequence[FrozenTrial], liveness: Liveness | None) -> Wait:
    """What a worker with nothing to start waits for: the running trials, and the time by
    which each is finished or, if its process died, failed and queued again (its last
    heartbeat, or its start, plus the grace)."""
    numbers = ", ".join(str(t.number) for t in running)
    what = f"trial{'s' if len(running) > 1 else ''} {numbers} running elsewhere to finish"
    if liveness is None:
        return Wait(what, None, len(running))
    grace = liveness.heartbeat.grace
    now = time.time()

    def last_sign_of_life(trial: FrozenTrial) -> float:
        started = trial.datetime_start.timestamp() if trial.datetime_start else now
        return float(trial.system_attrs.get(BEAT_ATTR, started))

    # The sweep's rule (liveness.py): silent for longer than the grace is stale.
    stale_at = max(last_sign_of_life(t) for t in running) + grace
    what += (
        f"; one left by a killed run is failed and run again once its heartbeat has been "
        f"silent for {grace} s"
    )
    return Wait(what, stale_at, len(running))


def claims_place(study: optuna.Study, trial: optuna.Trial, budget: int) -> bool:
    """Whether ``trial`` has a place in the budget: fewer than ``budget`` trials with
    smaller numbers are COMPLETE, PRUNED or RUNNING. Every worker applies the same rule,
    so when two race for the last place the one with the higher number yields."""
    ahead = sum(t.number < trial.number for t in study.get_trials(deepcopy=False, states=_TAKEN))
    return ahead < budget


def give_back(study: optuna.Study, trial: optuna.Trial) -> None:
    """Return an unrun trial to the queue; a queued trial keeps its fixed params."""
    study._storage.set_trial_state_values(trial._trial_id, TrialState.WAITING)


def _run_one(
    study: optuna.Study,
    trial: optuna.Trial,
    objective: Callable[[optuna.Trial], float],
    guard: SignalGuard,
    liveness: Liveness | None,
) -> FrozenTrial:
    """Run one claimed trial and tell its result; re-raise what must stop the loop."""
    stop: BaseException | None = None
    value: float | None = None
    state, reason = TrialState.COMPLETE, ""
    claimed = study._storage.get_trial(trial._trial_id)
    origin = retry_of(claimed)
    if origin is not None:
        # A re-run of a stale trial starts with that trial's user attrs (Optuna copies
        # them); say whose re-run it is and drop the dead run's measurements and its
        # failure, which are not this trial's (a COMPLETE trial showed "no heartbeat").
        copied = read_record(claimed)
        write_record(
            trial,
            TrialRecord(
                retry_of=origin,
                retry_reason=copied.fail_reason or "",
                fail_reason="",
                evals=(),
                epochs_done=0.0,
            ),
        )
    try:
        if liveness is None:
            value = objective(trial)
        else:
            with liveness.beating(trial._trial_id):
                value = objective(trial)
    except optuna.TrialPruned:
        state = TrialState.PRUNED
    except TrialFailed as e:
        state, reason = TrialState.FAIL, str(e)
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM through hpsearch.search.interrupts
        state, reason, stop = TrialState.FAIL, str(e) or "interrupted", e
    except BaseException as e:  # an error every trial would hit: record it, then stop
        state, reason, stop = TrialState.FAIL, f"{type(e).__name__}: {e}", e
    finally:
        gc.collect()  # the trial's model and optimizer are garbage now
    with guard.shielded():
        try:
            if state == TrialState.FAIL:
                write_record(trial, TrialRecord(fail_reason=reason))
        except UpdateFinishedTrialError:
            pass  # already failed as stale; the check below says so
        frozen = study.tell(trial, value, state=state, skip_if_finished=True)
        if frozen.state != state:
            log.warning(
                "trial %d was failed as stale by another worker while it ran (is "
                "study.heartbeat_grace too short?); its result is not recorded",
                trial.number,
            )
        elif isinstance(stop, KeyboardInterrupt) and liveness is not None:
            # Cut short, not wrong: its config (maybe an enqueued baseline) runs again.
            liveness.queue_again(study, study._storage.get_trial(trial._trial_id))
    if stop is not None:
        raise stop
    return frozen
