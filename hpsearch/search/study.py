"""Creating, resuming and running a study on its storage, alone or as one of many workers."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.trial import TrialState

from hpsearch.errors import HpsearchError
from hpsearch.search.drift import SPEC_ATTR, check_drift, record_settings
from hpsearch.search.interrupts import interrupted_while, stop_on_signals
from hpsearch.search.liveness import Heartbeat, Liveness
from hpsearch.search.progress import Progress, Wait
from hpsearch.search.runner import BUDGET_STATES, count_finished, run_trials
from hpsearch.search.sampler_pruner import build_pruner, build_sampler
from hpsearch.search.storage import (
    StorageError,
    display_url,
    mask_secrets,
    open_storage,
    storage_exists,
)
from hpsearch.spec.schema import Spec

log = logging.getLogger(__name__)

__all__ = [
    "RunSummary",
    "StorageError",
    "StudyNotFoundError",
    "check_space",
    "load_study",
    "prepare_study",
    "run_study",
]


class StudyNotFoundError(HpsearchError):
    pass


def resolve_storage_url(spec: Spec, override: str | None = None) -> str:
    url = override or spec.study.storage
    assert url is not None  # load_spec fills in the default
    return url


def load_study(spec: Spec, storage_url: str | None = None) -> optuna.Study:
    """An existing study, opened for reading; a clear error if it was never run."""
    url = resolve_storage_url(spec, storage_url)
    missing = StudyNotFoundError(
        f"no study {spec.study.name!r} in {display_url(url)}; "
        f"start it with `hpsearch run {spec.source}`"
    )
    if not storage_exists(url):
        raise missing  # opening would create an empty database file
    storage = open_storage(url, write=False)
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


@dataclass(frozen=True)
class Prepared:
    study: optuna.Study
    created: bool  # this call created the study
    spec_id: str  # the fingerprint of the settings its new trials run under (drift.py)


def check_space(spec: Spec, budget: int) -> None:
    """A study that searches nothing runs the same trial again and again: refuse it."""
    if spec.searched() or budget <= 1:
        return
    where = f"{spec.source}: " if spec.source else ""
    raise HpsearchError(
        f"{where}study {spec.study.name!r} searches nothing (its space is empty: every "
        f"searched field is fixed, in the file or by --set), so its {budget} trials would all "
        "be the same run; search a field in [space], set study.n_trials = 1, or re-run one "
        "config over seeds with `hpsearch report --seeds N`"
    )


def prepare_study(
    spec: Spec,
    storage: optuna.storages.BaseStorage,
    *,
    seed_offset: int = 0,
    allow_drift: bool = False,
) -> Prepared:
    """The study in ``storage``, created with its settings and queued trials if new.

    Safe when several workers start at once: one creates the study, the others load it.
    An existing study must have been created with the same fixed settings and a space its
    trials can share (:func:`hpsearch.search.drift.check_drift`; ``allow_drift`` lets
    the settings differ).

    Raises:
        hpsearch.search.drift.SpecDriftError: the settings or the space drifted.
    """
    previous = len(_trials(storage, spec.study.name))
    kwargs = {
        "study_name": spec.study.name,
        "storage": storage,
        "sampler": build_sampler(spec.study.sampler, previous + seed_offset),
        "pruner": build_pruner(spec.study.pruner),
        "direction": spec.direction,
    }
    try:
        study = optuna.create_study(**kwargs)
        created = True
    except optuna.exceptions.DuplicatedStudyError:  # it exists, or another worker won
        study = optuna.load_study(**{k: v for k, v in kwargs.items() if k != "direction"})
        created = False
    if study.direction.name.lower() != spec.direction:
        raise HpsearchError(
            f"study {spec.study.name!r} is set to {study.direction.name.lower()}, "
            f"but the study file says {spec.direction}"
        )
    if created:
        resolved = spec.to_dict()
        # A storage URL or study file may hold a password: what is stored never does.
        resolved["study"]["storage"] = display_url(resolved["study"]["storage"] or "")
        study.set_user_attr(SPEC_ATTR, resolved)
        study.set_user_attr("study_file", mask_secrets(_read(spec.source)))
        with warnings.catch_warnings():  # experimental in Optuna, and all we need of it
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([spec.metric])
        from hpsearch.search.note import save_study_note

        save_study_note(study, spec)  # the study file as the note shown by optuna-dashboard
        for params in spec.study.enqueue:
            # By parameter name: an M-FAC trial's lr is train.lr|optimizer.kind=mfac where
            # M-FAC has its own range (validated, so it raises nothing here).
            study.enqueue_trial(spec.enqueued(params))
    else:
        check_drift(study, spec, allow_drift=allow_drift, source=spec.source)
    return Prepared(study, created, record_settings(study, spec))


def _trials(
    storage: optuna.storages.BaseStorage, name: str, states: tuple[TrialState, ...] | None = None
) -> list[optuna.trial.FrozenTrial]:
    """The trials of study ``name`` (in ``states``); none if there is no such study."""
    try:
        study_id = storage.get_study_id_from_name(name)
    except KeyError:
        return []
    return storage.get_all_trials(study_id, deepcopy=False, states=states)


def run_study(
    spec: Spec,
    *,
    storage_url: str | None = None,
    n_trials: int | None = None,
    timeout: float | None = None,
    progress: Progress | None = None,
    worker_index: int | None = None,
    on_wait: Callable[[Wait], None] | None = None,
    poll_interval: float = 2.0,
    allow_drift: bool = False,
) -> RunSummary:
    """Create or resume the study and run it until its total budget is reached.

    ``n_trials`` (default ``study.n_trials``) is the total of complete and pruned trials,
    counted across every run and every worker of the study, so running the same command
    again after an interruption finishes the budget rather than adding a full one, and N
    workers started on one study run it once, not N times.

    ``worker_index`` (0, 1, ...) offsets the sampler's seed when several workers start
    together, so their random start-up trials differ. ``allow_drift`` adds trials to a study
    whose fixed settings changed (each records its own); ``on_wait`` hears what a worker
    with nothing to start waits for (:class:`~hpsearch.search.progress.Wait`).

    Raises:
        hpsearch.search.drift.SpecDriftError: the study file's settings or space differ
            from those of the study's trials.
        hpsearch.search.interrupts.Interrupted: on SIGINT or SIGTERM, after the running trial was
            recorded as failed with the reason and its params queued again (or, while the
            data loads, before any trial, with ``during`` set).
    """
    url = resolve_storage_url(spec, storage_url)
    budget = n_trials or spec.study.n_trials
    check_space(spec, budget)
    settings = spec.study
    heartbeat = Heartbeat(
        settings.heartbeat_interval, settings.heartbeat_grace, settings.max_retries
    )
    storage = open_storage(url)
    name = spec.study.name
    if len(_trials(storage, name, BUDGET_STATES)) >= budget:
        done = optuna.load_study(study_name=name, storage=storage)
        return RunSummary(done, budget, 0, count_finished(done))
    # Training (torch, transformers) is imported only to run trials: reading a study, as
    # the leaderboard does, must start fast.
    from hpsearch.data.encode import DataCache
    from hpsearch.search.objective import Objective

    with stop_on_signals() as guard:
        # Data or tokenizer problems stop here: before any trial, and before a new study is
        # written to storage. Ctrl-C or SIGTERM here stops the run as it does mid-trial.
        cache = DataCache()
        with interrupted_while("loading the data"):
            cache.encoded_tasks(spec)
        with guard.shielded():  # a new study is written whole, its queued trials included
            prepared = prepare_study(
                spec,
                storage,
                seed_offset=_seed_salt(storage, name, worker_index),
                allow_drift=allow_drift,
            )
        study = prepared.study
        if progress is not None:
            progress.start_run(study, budget, count_finished(study))
        result = run_trials(
            study,
            Objective(spec, cache, progress, spec_id=prepared.spec_id),
            budget=budget,
            guard=guard,
            liveness=Liveness(storage, heartbeat),
            timeout=timeout if timeout is not None else spec.study.timeout,
            max_failures=spec.study.max_failures,
            callbacks=[] if progress is None else [progress.on_trial_end],
            on_wait=on_wait,
            poll_interval=poll_interval,
        )
    return RunSummary(study, budget, result.ran, count_finished(study), result.stopped_on_failures)


def _seed_salt(storage: optuna.storages.BaseStorage, name: str, worker_index: int | None) -> int:
    """What to add to the sampler's seed so that concurrent workers sample differently.

    A lone run keeps ``seed + trials so far`` (reproducible). A worker started by
    ``--workers`` knows its index; one started by hand beside others running does not, and
    takes its process id.
    """
    if worker_index is not None:
        return 100_003 * worker_index
    return 100_003 * os.getpid() if _trials(storage, name, (TrialState.RUNNING,)) else 0


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""
