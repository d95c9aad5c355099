"""Creating, resuming and running a study on its storage."""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.study import MaxTrialsCallback
from optuna.trial import TrialState

from hpsearch.data import DataCache
from hpsearch.errors import HpsearchError
from hpsearch.objective import Objective, TrialFailed
from hpsearch.progress import RunProgress
from hpsearch.pruners import build_pruner, build_sampler
from hpsearch.spec import Spec

log = logging.getLogger(__name__)

# Trials that use up the budget. Failed trials do not: they are retried work, not results.
BUDGET_STATES = (TrialState.COMPLETE, TrialState.PRUNED)


class StorageError(HpsearchError):
    """The storage URL is invalid or the storage cannot be reached."""


class StudyNotFoundError(HpsearchError):
    pass


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """An Optuna storage for ``url``; SQLite waits for locks instead of failing at once."""
    try:
        if url.startswith("sqlite:"):
            return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
        return optuna.storages.get_storage(url)
    except Exception as e:  # SQLAlchemy and driver errors of many kinds
        raise StorageError(f"cannot open storage {url}: {type(e).__name__}: {e}") from e


def load_study(spec: Spec, storage_url: str | None = None) -> optuna.Study:
    """An existing study; a clear error if it was never run."""
    url = storage_url or spec.study.storage
    assert url is not None
    missing = StudyNotFoundError(
        f"no study {spec.study.name!r} in {url}; start it with `hpsearch run {spec.source}`"
    )
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        raise missing  # opening would create an empty database file
    storage = open_storage(url)
    try:
        return optuna.load_study(study_name=spec.study.name, storage=storage)
    except KeyError:
        raise missing from None


@dataclass(frozen=True)
class RunSummary:
    study: optuna.Study
    budget: int
    ran: int  # trials started by this invocation
    finished: int  # complete + pruned trials in the study after this run
    stopped_on_failures: bool = False  # study.max_failures trials in a row failed


class FailureGuard:
    """Optuna callback that stops a run after ``limit`` failed trials in a row.

    Failed trials do not use up the budget, so without it a setup that fails every trial
    (say, an M-FAC buffer that never fits) would run for ever.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_a_row = 0
        self.tripped = False

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self.in_a_row = self.in_a_row + 1 if trial.state == TrialState.FAIL else 0
        if self.in_a_row >= self.limit:
            self.tripped = True
            study.stop()


def count_finished(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=BUDGET_STATES))


def run_study(
    spec: Spec,
    *,
    storage_url: str | None = None,
    n_trials: int | None = None,
    timeout: float | None = None,
    progress: RunProgress | None = None,
) -> RunSummary:
    """Create or resume the study and run it until its total budget is reached.

    ``n_trials`` (default ``study.n_trials``) is the total of complete and pruned trials,
    counted across every run of the study, so running the same command again after an
    interruption finishes the budget rather than adding a full one.
    """
    url = storage_url or spec.study.storage
    assert url is not None
    storage = open_storage(url)
    existing = {s.study_name: s for s in optuna.get_all_study_summaries(storage)}
    is_new = spec.study.name not in existing
    budget = n_trials or spec.study.n_trials
    if not is_new:
        done = optuna.load_study(study_name=spec.study.name, storage=storage)
        if count_finished(done) >= budget:
            return RunSummary(done, budget, 0, count_finished(done))
    # Data or tokenizer problems stop here: before any trial, and before a new study is
    # written to storage.
    cache = DataCache()
    cache.encoded(spec)
    previous = 0 if is_new else existing[spec.study.name].n_trials
    study = optuna.create_study(
        study_name=spec.study.name,
        storage=storage,
        sampler=build_sampler(spec.study.sampler, previous),
        pruner=build_pruner(spec.study.pruner),
        direction=spec.direction,
        load_if_exists=True,
    )
    before = len(study.get_trials(deepcopy=False))  # before enqueueing: those run now too
    if study.direction.name.lower() != spec.direction:
        raise HpsearchError(
            f"study {spec.study.name!r} in {url} is set to {study.direction.name.lower()}, "
            f"but the study file says {spec.direction}"
        )
    resolved = spec.to_dict()
    if is_new:
        study.set_user_attr("spec", resolved)
        study.set_user_attr("study_file", _read(spec.source))
        with warnings.catch_warnings():  # experimental in Optuna, and all we need of it
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([spec.metric])
        from hpsearch.report.dashboard import save_study_note

        save_study_note(study, spec)  # the study file as the note shown by optuna-dashboard
        for params in spec.study.enqueue:
            study.enqueue_trial(params)
    elif study.user_attrs.get("spec") != json.loads(json.dumps(resolved)):
        log.warning(
            "the study file differs from the spec saved with study %r; continuing with the "
            "file's settings (the saved spec is kept)",
            spec.study.name,
        )

    finished = count_finished(study)
    guard = FailureGuard(spec.study.max_failures)
    callbacks = [MaxTrialsCallback(budget, states=BUDGET_STATES), guard]
    if progress is not None:
        progress.start_run(study, budget, finished)
        callbacks.append(progress.on_trial_end)
    study.optimize(
        Objective(spec, cache, progress),
        n_trials=None,  # the callbacks stop the run: at the budget, or on repeated failure
        timeout=timeout if timeout is not None else spec.study.timeout,
        catch=(TrialFailed,),
        callbacks=callbacks,
        gc_after_trial=True,
    )
    ran = len(study.get_trials(deepcopy=False)) - before
    return RunSummary(study, budget, ran, count_finished(study), guard.tripped)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""
