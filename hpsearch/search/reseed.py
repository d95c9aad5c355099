"""Re-running a study's best configs with other seeds, in a companion study.

The re-runs of study ``NAME`` live in study ``NAME-reseed`` in the same storage, created with
Optuna's ``NopPruner`` (a re-run is never pruned). Each re-run is an enqueued trial whose
only parameter is ``train.seed`` and whose user attrs name its origin::

    {"source_study": "qqp-mfac", "source_trial": 12, "seed": 3}

so the companion study is readable on its own (``hpsearch leaderboard --all``, the
dashboard), and a comparison run again finds the seeds that already finished and skips them.
Trials that failed or never started are run again; enqueued trials still WAITING are reused,
not enqueued twice, unless their seed is not among the call's (then they are dequeued).

A re-run trains under the settings its source trial ran with
(:func:`hpsearch.search.drift.spec_of_trial`), whatever the study file says now, and records
their fingerprint (``spec_id``; the settings are the companion's study attr
``spec:<id>``). A finished re-run recorded under other settings is left out and its seed run
again; one from before re-runs recorded settings is taken as made under its trial's.

Re-runs are kept alive as searches are (:mod:`hpsearch.search.liveness`): a running re-run
beats every ``study.heartbeat_interval`` seconds, and one left RUNNING by a killed process
is failed with the reason once silent for ``study.heartbeat_grace`` seconds and queued again
(the retry carries the same origin, so it is counted once). A call that finds a re-run
running elsewhere waits for it, and says what it waits for and until when. Two comparisons
started on the same study at the same time are not supported: each would run the other's
pending seeds again.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpsearch.data.encode import DataCache
from hpsearch.errors import HpsearchError, TrialFailed
from hpsearch.search.drift import (
    SPEC_ATTR,
    Change,
    fixed_changes,
    record_settings,
    settings_attr,
    spec_of_trial,
)
from hpsearch.search.interrupts import stop_on_signals
from hpsearch.search.liveness import BEAT_ATTR, Heartbeat, Liveness
from hpsearch.search.note import save_study_note
from hpsearch.search.objective import Objective
from hpsearch.search.progress import Progress, Wait
from hpsearch.search.record import SeedRun, TrialRecord, read_record, seed_run, write_record
from hpsearch.search.runner import count_finished, run_trials
from hpsearch.search.storage import StorageError, open_storage
from hpsearch.spec.schema import Spec
from hpsearch.spec.space import IntRange
from hpsearch.wording import listed, plural

__all__ = ["ReseedError", "SeedRun", "reseed", "reseed_name", "run_spec", "shared_seeds"]

RESEED_SUFFIX = "-reseed"
# The seed as the re-run spec's only searched field. A fixed, wide range rather than the
# seeds of this call: Optuna requires one distribution per parameter name in a study, and
# `--seeds 3` followed by `--seeds 5` must share the companion study.
SEED_PARAM = IntRange(0, 2**31 - 1)

Key = tuple[int, int]  # (source trial, seed)
# A re-run's origin, in its user attrs (see this module); the companion study names its
# source study too.
SOURCE_STUDY_ATTR = "source_study"
SOURCE_TRIAL_ATTR = "source_trial"
SEED_ATTR = "seed"


class ReseedError(HpsearchError):
    """Some re-runs did not finish; running the command again retries them."""


def reseed_name(study_name: str) -> str:
    """Name of the companion study that holds the re-runs of ``study_name``."""
    return study_name + RESEED_SUFFIX


def run_spec(spec: Spec, params: dict[str, Any]) -> Spec:
    """``spec`` with a trial's params fixed and only ``train.seed`` left to suggest.

    The space is replaced, not extended: the objective must not ask Optuna for the fixed
    params again (an enqueued trial would get fresh samples for them).
    """
    only_seed = {"space": {"train.seed": SEED_PARAM}, "space_when": ()}
    return spec.with_params(params).model_copy(update=only_seed)


def shared_seeds(spec: Spec, n: int) -> list[int]:
    """``n`` seeds from ``spec``'s ``train.seed`` on: the one seed list every arm of a
    comparison runs, so new weights, dropout and batch order match across arms."""
    return [spec.train.seed + i for i in range(n)]


def reseed(
    spec: Spec,
    study: optuna.Study,
    trials: Sequence[FrozenTrial],
    seeds: Sequence[int],
    *,
    cache: DataCache | None = None,
    progress: Progress | None = None,
    poll_interval: float = 2.0,
    notes: list[str] | None = None,
) -> dict[int, list[SeedRun]]:
    """Run each of ``trials`` (of ``study``, made from ``spec``) with each of ``seeds``.

    Only missing re-runs are run; one running in another process is waited for (and redone
    if its heartbeat stops). Returns the runs per source trial number, in seed order.

    Each re-run trains under the settings its source trial ran with
    (:func:`hpsearch.search.drift.spec_of_trial`), never the study file's newer ones, and
    records their fingerprint (the trial attr ``spec_id``, as a search's trials do). A
    finished re-run recorded under other settings is not used: its seed runs again. A re-run
    still queued by an earlier call for a seed not in ``seeds`` (a larger ``--seeds``,
    interrupted) is dequeued, not run. When every re-run has finished already, the storage
    is only read (it may be read-only). What was left out or dequeued is said in ``notes``.

    Raises:
        ReseedError: when a re-run failed; the finished ones are kept, so calling again runs
            only the rest.
    """
    url = spec.study.storage
    assert url is not None
    plan = {(t.number, s): t for t in trials for s in seeds}
    own = _OwnSettings(spec, study)
    done = _read_finished(spec, trials, plan, own, notes)
    if done is not None:
        return done  # nothing to run: nothing written
    storage = open_storage(url)
    companion = _open_companion(spec, storage)
    settings = spec.study
    liveness = Liveness(
        storage,
        Heartbeat(settings.heartbeat_interval, settings.heartbeat_grace, settings.max_retries),
    )
    # A killed earlier call's re-runs: failed with the reason and queued again (as WAITING
    # trials with the same origin), before anything is counted or enqueued.
    liveness.sweep(companion)
    _dequeue_strays(companion, spec.study.name, seeds, notes)
    seen = _existing(companion, spec.study.name, spec.metric, own)
    job = _Reseeding(spec, study, companion, liveness, plan, progress, poll_interval, own)
    _enqueue(job, seen)
    seen = _run(job, seen, cache)
    _raise_unfinished(job, seen)
    _stale_notes(spec.study.name, seen, plan, notes)
    runs: dict[int, list[SeedRun]] = {t.number: [] for t in trials}
    for number, seed in sorted(plan):
        runs[number].append(seen.finished[number, seed])
    return runs


def reruns_finished(
    spec: Spec, study: optuna.Study, trials: Sequence[FrozenTrial], seeds: Sequence[int]
) -> bool:
    """Whether every re-run of ``trials`` with ``seeds`` has finished under its source
    trial's settings, so that :func:`reseed` would only read them; nothing is written."""
    plan = {(t.number, s): t for t in trials for s in seeds}
    return _read_finished(spec, trials, plan, _OwnSettings(spec, study), None) is not None


@dataclass(frozen=True)
class _Reseeding:
    """What one call of :func:`reseed` works on: the re-runs it wants and where they live."""

    spec: Spec
    study: optuna.Study  # the source study, whose trials' params the re-runs take
    companion: optuna.Study  # the re-runs' study (reseed_name)
    liveness: Liveness
    plan: dict[Key, FrozenTrial]  # (source trial, seed) → the source trial
    progress: Progress | None
    poll_interval: float  # seconds between two looks at re-runs running elsewhere
    own: _OwnSettings  # the settings each source trial ran under


def _enqueue(job: _Reseeding, seen: _Seen) -> None:
    """Enqueue every re-run of the plan that the companion does not hold yet."""
    spec, companion = job.spec, job.companion
    for number, seed in job.plan:
        if (number, seed) not in seen.known():
            companion.enqueue_trial(
                {"train.seed": seed},
                user_attrs=_origin(spec.study.name, number, seed),
                skip_if_exists=False,
            )


def _run(job: _Reseeding, seen: _Seen, cache: DataCache | None) -> _Seen:
    """Run waiting re-runs until none of the plan waits or runs; returns the re-runs then."""
    spec, companion, plan, progress = job.spec, job.companion, job.plan, job.progress
    objective: _ReseedObjective | None = None
    wait = _Wait(companion, spec.study.heartbeat_grace, progress)
    while True:
        # Every waiting trial runs, also ones enqueued by an earlier, interrupted call for
        # other configs: Optuna hands them out first in, first out, and they are wanted work.
        pending = len(companion.get_trials(deepcopy=False, states=(TrialState.WAITING,)))
        if pending:
            if objective is None:
                cache = cache or DataCache()
                cache.encoded_tasks(spec)  # data or tokenizer problems stop here, before a run
                objective = _ReseedObjective(spec, job.study, cache, progress)
                if progress is not None:
                    done = sum(k in seen.finished for k in plan)
                    progress.start_run(companion, len(plan), done)
            running = len(companion.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
            with stop_on_signals() as guard:
                run_trials(
                    companion,
                    objective,
                    budget=count_finished(companion) + pending + running,
                    max_trials=pending,  # a failed re-run is reported at the end, not retried here
                    guard=guard,
                    liveness=job.liveness,
                    callbacks=[] if progress is None else [progress.on_trial_end],
                    on_wait=lambda _: wait.tell(),  # another process runs a queued re-run
                    poll_interval=job.poll_interval,
                )
        job.liveness.sweep(companion)
        seen = _existing(companion, spec.study.name, spec.metric, job.own)
        if seen.waiting & plan.keys():
            continue  # the retry of a re-run that went stale while this call ran
        if not seen.running.keys() & plan.keys():
            return seen
        wait.tell()
        time.sleep(job.poll_interval)


def _raise_unfinished(job: _Reseeding, seen: _Seen) -> None:
    """Raise :class:`ReseedError` when a re-run of the plan did not finish, with the reasons."""
    spec, plan = job.spec, job.plan
    missing = [key for key in plan if key not in seen.finished]
    if missing:
        reasons = _fail_reasons(job.companion, spec.study.name)
        detail = "; ".join(
            f"trial {n} seed {s}" + (f": {reasons[n, s]}" if (n, s) in reasons else "")
            for n, s in missing[:3]
        )
        raise ReseedError(
            f"{len(missing)} of {len(plan)} re-runs of study {spec.study.name!r} did not "
            f"finish ({detail}); run the same command again to retry them"
        )


def _read_finished(
    spec: Spec,
    trials: Sequence[FrozenTrial],
    plan: Mapping[Key, FrozenTrial],
    own: _OwnSettings,
    notes: list[str] | None,
) -> dict[int, list[SeedRun]] | None:
    """The runs of ``plan``, read without writing anything, when every one has finished
    under its source trial's settings; None when something is left to run (or cannot be
    read this way): then :func:`reseed` opens the storage to write. ``report`` of a
    finished comparison thus reads a storage it cannot write (an archive)."""
    assert spec.study.storage is not None
    try:
        storage = open_storage(spec.study.storage, write=False)
        companion = optuna.load_study(study_name=reseed_name(spec.study.name), storage=storage)
    except (KeyError, StorageError):
        return None
    seen = _existing(companion, spec.study.name, spec.metric, own)
    if any(key not in seen.finished for key in plan):
        return None
    _stale_notes(spec.study.name, seen, plan, notes)
    runs: dict[int, list[SeedRun]] = {t.number: [] for t in trials}
    for number, seed in sorted(plan):
        runs[number].append(seen.finished[number, seed])
    return runs


class _OwnSettings:
    """The spec each trial of the source study ran under, and how a re-run's recorded
    settings differ from its source trial's."""

    def __init__(self, spec: Spec, source: optuna.Study) -> None:
        self.spec = spec
        self.source = source
        self._trials: dict[int, FrozenTrial] | None = None
        self._specs: dict[int, Spec] = {}
        self._changes: dict[tuple[str, int], list[Change]] = {}

    def spec_of(self, number: int) -> Spec:
        """The spec source trial ``number`` ran under (the study file's, if it is gone)."""
        if number not in self._specs:
            if self._trials is None:
                self._trials = {t.number: t for t in self.source.get_trials(deepcopy=False)}
            trial = self._trials.get(number)
            self._specs[number] = (
                self.spec if trial is None else spec_of_trial(self.spec, self.source, trial)
            )
        return self._specs[number]

    def changes(self, attrs: Mapping[str, Any], rerun: FrozenTrial, number: int) -> list[Change]:
        """How the settings ``rerun`` recorded (``attrs``: its companion's user attrs)
        differ from those of source trial ``number``: each change "was" the re-run's, "now"
        the trial's. A re-run from before re-runs recorded their settings is taken as made
        under its trial's (nothing says otherwise)."""
        spec_id = read_record(rerun).spec_id
        if not spec_id:
            return []
        key = (str(spec_id), number)
        if key not in self._changes:
            stored = attrs.get(settings_attr(str(spec_id)))
            self._changes[key] = (
                fixed_changes(stored, self.spec_of(number)) if isinstance(stored, Mapping) else []
            )
        return self._changes[key]


def _dequeue_strays(
    companion: optuna.Study, source: str, seeds: Sequence[int], notes: list[str] | None
) -> None:
    """Fail, with the reason, the re-runs of ``source`` still queued for a seed outside
    ``seeds``: an earlier call with a larger ``--seeds`` was stopped before it ran them, and
    this call did not ask for them. A later call that asks for them queues them again."""
    wanted = set(seeds)
    strays = []
    for t in companion.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        key = rerun_key(t, source)
        if key is not None and key[1] not in wanted:
            strays.append((t, key))
    if not strays:
        return
    storage = companion._storage
    reason = (
        "dequeued: queued by an earlier call for a seed the next call did not ask for "
        f"(it asked for {plural(len(wanted), 'seed')})"
    )
    dequeued = []
    for t, key in strays:
        try:
            storage.set_trial_user_attr(t._trial_id, "fail_reason", reason)
            if storage.set_trial_state_values(t._trial_id, TrialState.FAIL):
                dequeued.append(key)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another process took it (two comparisons at once are not supported)
    if dequeued and notes is not None:
        which = ", ".join(f"trial {n} seed {s}" for n, s in sorted(dequeued))
        notes.append(
            f"study {source!r}: {plural(len(dequeued), 're-run')} queued by an earlier call "
            f"with more seeds ({which}) dequeued, not run: this call asks for "
            f"{plural(len(wanted), 'seed')}"
        )


def _stale_notes(
    source: str, seen: _Seen, plan: Mapping[Key, FrozenTrial], notes: list[str] | None
) -> None:
    """A note per source trial whose earlier re-runs were left out: made under settings
    other than the trial's own (by a version that re-ran under the study file's)."""
    stale = {key: changes for key, changes in seen.stale.items() if key in plan}
    if not stale or notes is None:
        return
    for number in sorted({n for n, _ in stale}):
        seeds = sorted(s for n, s in stale if n == number)
        changes = stale[number, seeds[0]]
        differ = "; ".join(
            f"{c.field} {json.dumps(c.stored)}, not {json.dumps(c.now)}" for c in changes
        )
        notes.append(
            f"study {source!r} trial {number}: left out {plural(len(seeds), 'earlier re-run')} "
            f"({listed('seed', seeds)}) made under other settings than the trial "
            f"was tuned with ({differ}); those seeds ran again under the trial's own"
        )


class _Wait:
    """Says what a wait is for: the re-runs running in another process, and until when at
    the latest (their last heartbeat plus the grace). Says it again only when it changes."""

    def __init__(self, companion: optuna.Study, grace: int, progress: Progress | None) -> None:
        self.companion = companion
        self.grace = grace
        self.progress = progress
        self.told = ""

    def tell(self) -> None:
        running = self.companion.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if self.progress is None or not running:
            return
        now = time.time()

        def last_beat(t: FrozenTrial) -> float:
            started = t.datetime_start.timestamp() if t.datetime_start else now
            return float(t.system_attrs.get(BEAT_ATTR, started))

        latest = max(last_beat(t) for t in running) + self.grace
        names = ", ".join(
            f"#{t.number} (trial {t.user_attrs.get(SOURCE_TRIAL_ATTR)}, "
            f"seed {t.user_attrs.get(SEED_ATTR)})"
            for t in running
        )
        what = (
            f"re-run(s) {names} of study {self.companion.study_name}, running in another "
            f"process; they finish or, silent for {self.grace} s, are failed and redone here"
        )
        if what != self.told:
            self.progress.waiting(Wait(what, latest, len(running)))
            self.told = what


def _open_companion(spec: Spec, storage: optuna.storages.BaseStorage) -> optuna.Study:
    study = optuna.create_study(
        study_name=reseed_name(spec.study.name),
        storage=storage,
        sampler=optuna.samplers.RandomSampler(seed=0),  # never asked: every param is fixed
        pruner=optuna.pruners.NopPruner(),
        direction=spec.direction,
        load_if_exists=True,
    )
    if SOURCE_STUDY_ATTR not in study.user_attrs:
        study.set_user_attr(SOURCE_STUDY_ATTR, spec.study.name)
        study.set_user_attr(SPEC_ATTR, spec.to_dict())
        with warnings.catch_warnings():  # experimental in Optuna
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([spec.metric])
        save_study_note(
            study,
            spec,
            intro=f"Seed re-runs of the best trials of study `{spec.study.name}`, "
            "written by `hpsearch compare` (or `hpsearch report`).",
        )
    return study


def _origin(source: str, number: int, seed: int) -> dict[str, Any]:
    """The user attrs of the re-run of trial ``number`` of study ``source`` with ``seed``."""
    return {SOURCE_STUDY_ATTR: source, SOURCE_TRIAL_ATTR: number, SEED_ATTR: seed}


def rerun_key(trial: FrozenTrial, source: str) -> Key | None:
    """(source trial, seed) of ``trial`` when it is a re-run of study ``source``, else None."""
    attrs = trial.user_attrs
    if attrs.get(SOURCE_STUDY_ATTR) != source or not {SOURCE_TRIAL_ATTR, SEED_ATTR} <= set(attrs):
        return None
    return int(attrs[SOURCE_TRIAL_ATTR]), int(attrs[SEED_ATTR])


@dataclass
class _Seen:
    """The companion's re-runs of one source study, by (source trial, seed)."""

    finished: dict[Key, SeedRun] = field(default_factory=dict)  # the first complete one
    waiting: set[Key] = field(default_factory=set)
    running: dict[Key, FrozenTrial] = field(default_factory=dict)
    # complete, but under settings other than the source trial's: not used, run again
    stale: dict[Key, list[Change]] = field(default_factory=dict)

    def known(self) -> set[Key]:
        return {*self.finished, *self.waiting, *self.running}


def _existing(
    companion: optuna.Study, source: str, metric: str, own: _OwnSettings | None = None
) -> _Seen:
    """The re-runs of ``source`` by state; with ``own``, a complete one recorded under
    settings other than its source trial's is stale, not finished."""
    seen = _Seen()
    attrs = companion.user_attrs if own is not None else {}
    for t in companion.get_trials(deepcopy=False):
        key = rerun_key(t, source)
        if key is None:
            continue
        if t.state == TrialState.WAITING:
            seen.waiting.add(key)
        elif t.state == TrialState.RUNNING:
            seen.running[key] = t
        elif t.state == TrialState.COMPLETE and key not in seen.finished:
            changes = [] if own is None else own.changes(attrs, t, key[0])
            if changes:
                seen.stale.setdefault(key, changes)
            else:
                seen.finished[key] = seed_run(t, key[1], metric)
    return seen


def _fail_reasons(companion: optuna.Study, source: str) -> dict[tuple[int, int], str]:
    reasons = {}
    for t in companion.get_trials(deepcopy=False, states=(TrialState.FAIL,)):
        key = rerun_key(t, source)
        if key is not None:
            reason = read_record(t).fail_reason
            reasons[key] = "failed" if reason is None else reason
    return reasons


class _ReseedObjective:
    """Runs an enqueued re-run with the Objective of its source trial's config, under the
    settings that trial ran with; the re-run records their fingerprint."""

    def __init__(
        self, spec: Spec, source: optuna.Study, cache: DataCache, progress: Progress | None
    ) -> None:
        self.spec = spec
        self.cache = cache
        self.progress = progress
        self.params = {t.number: t.params for t in source.get_trials(deepcopy=False)}
        self.objectives: dict[int, Objective] = {}
        self.own = _OwnSettings(spec, source)
        self.spec_ids: dict[int, str] = {}

    def __call__(self, trial: optuna.Trial) -> float:
        attrs = trial.user_attrs
        number = attrs.get(SOURCE_TRIAL_ATTR)
        if attrs.get(SOURCE_STUDY_ATTR) != self.spec.study.name or number not in self.params:
            # Only when something else asked this study for a trial, or the source trial is
            # gone: fail it, rather than train a config nobody chose.
            raise TrialFailed(f"not an enqueued re-run of study {self.spec.study.name!r}")
        if number not in self.objectives:
            own = self.own.spec_of(number)
            self.spec_ids[number] = record_settings(trial.study, own)
            self.objectives[number] = Objective(
                run_spec(own, self.params[number]), self.cache, self.progress
            )
        write_record(trial, TrialRecord(spec_id=self.spec_ids[number]))
        return self.objectives[number](trial)
