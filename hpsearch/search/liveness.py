"""Heartbeats of running trials, and the sweep that fails stale ones and queues them again
(as the trial loop does with a trial that a Ctrl-C or SIGTERM cut short).

A worker killed with SIGKILL (or a machine that dies) leaves its trial RUNNING. While a
trial runs, a thread writes the time into the trial every ``interval`` seconds; a trial
whose last beat is older than ``grace`` seconds is stale. The next worker that sweeps
records why, marks it FAILED and queues its params again with Optuna's
:class:`~optuna.storages.RetryHeartbeatStaleTrialCallback`.

The beat is a system attr of the trial, so the same mechanism serves every storage:
SQLite, PostgreSQL and JournalStorage (which has no heartbeat of its own in Optuna).
Optuna 5 has no ``Trial.system_attrs``; the retry callback and its helpers
(``retried_trial_number``) are given frozen trials.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import optuna
from optuna.exceptions import ExperimentalWarning, UpdateFinishedTrialError
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from hpsearch.search.record import StoredTrial, TrialRecord, write_record

log = logging.getLogger(__name__)

BEAT_ATTR = "hpsearch:heartbeat"  # unix time of the trial's last beat


@dataclass(frozen=True)
class Heartbeat:
    """How running trials show they are alive, and what happens when they stop.

    A trial whose last beat is older than ``grace`` seconds is failed by the next worker
    that looks, and its params are queued again, up to ``max_retry`` times. See
    this module.
    """

    interval: int = 60
    grace: int = 180
    max_retry: int = 3


def silent_seconds(trial: FrozenTrial, now: float) -> float:
    """Seconds from running ``trial``'s last beat (before one, its start) to ``now``, a
    unix time; 0 for a trial not started."""
    started = trial.datetime_start.timestamp() if trial.datetime_start else now
    return now - trial.system_attrs.get(BEAT_ATTR, started)


class Liveness:
    """Beats for this worker's trial, and sweeps of every worker's stale trials."""

    def __init__(self, storage: optuna.storages.BaseStorage, heartbeat: Heartbeat) -> None:
        self.storage = storage
        self.heartbeat = heartbeat
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            self._retry = RetryHeartbeatStaleTrialCallback(max_retry=heartbeat.max_retry)

    def sweep(self, study: optuna.Study) -> list[int]:
        """Fail the study's stale trials and queue their retries; their numbers."""
        now = time.time()
        swept = []
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            silent = silent_seconds(trial, now)
            if silent <= self.heartbeat.grace:
                continue
            reason = f"no heartbeat for {silent:.0f} s: its worker died or was killed"
            try:
                write_record(
                    StoredTrial(self.storage, trial._trial_id), TrialRecord(fail_reason=reason)
                )
                if not self.storage.set_trial_state_values(trial._trial_id, TrialState.FAIL):
                    continue
            except UpdateFinishedTrialError:  # it finished, or another worker swept it first
                continue
            log.warning("trial %d had no heartbeat for %.0f s; failed it", trial.number, silent)
            self.queue_again(study, self.storage.get_trial(trial._trial_id))
            swept.append(trial.number)
        return swept

    def queue_again(self, study: optuna.Study, trial: FrozenTrial) -> None:
        """Queue the params of failed ``trial`` as a new trial that says whose re-run it is
        (:func:`retry_of`), unless it was retried ``max_retry`` times already."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            self._retry(study, trial)

    @contextmanager
    def beating(self, trial_id: int) -> Iterator[None]:
        """Beat for ``trial_id`` in a background thread while the block runs."""
        stop = threading.Event()

        def beat() -> None:
            while True:
                try:
                    self.storage.set_trial_system_attr(trial_id, BEAT_ATTR, time.time())
                except UpdateFinishedTrialError:
                    return  # swept as stale by another worker; nothing left to keep alive
                except Exception:  # a storage hiccup: the next beat may get through
                    log.debug("heartbeat of trial id %d failed", trial_id, exc_info=True)
                if stop.wait(self.heartbeat.interval):
                    return

        thread = threading.Thread(target=beat, name=f"heartbeat-{trial_id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


def retry_of(trial: FrozenTrial) -> int | None:
    """The number of the trial that ``trial`` re-runs after it went stale, if any."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        return RetryHeartbeatStaleTrialCallback.retried_trial_number(trial)
