"""Re-running a study's best configs with other seeds, in a companion study.

The re-runs of study ``NAME`` live in study ``NAME-reseed`` in the same storage, created with
Optuna's ``NopPruner`` (a re-run is never pruned). Each re-run is an enqueued trial whose
only parameter is ``train.seed`` and whose user attrs name its origin::

    {"source_study": "qqp-mfac", "source_trial": 12, "seed": 3}

so the companion study is readable on its own (``hpsearch leaderboard --all``, the
dashboard), and a comparison run again finds the seeds that already finished and skips them.
Trials that failed or never started are run again; enqueued trials still WAITING are reused,
not enqueued twice.

Re-runs are kept alive as searches are (:mod:`hpsearch.search.liveness`): a running re-run
beats every ``study.heartbeat_interval`` seconds, and one left RUNNING by a killed process
is failed with the reason once silent for ``study.heartbeat_grace`` seconds and queued again
(the retry carries the same origin, so it is counted once). A call that finds a re-run
running elsewhere waits for it, and says what it waits for and until when. Two comparisons
started on the same study at the same time are not supported: each would run the other's
pending seeds again.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpsearch.data.encode import DataCache
from hpsearch.errors import HpsearchError, TrialFailed
from hpsearch.search.drift import SPEC_ATTR
from hpsearch.search.interrupts import stop_on_signals
from hpsearch.search.liveness import BEAT_ATTR, Heartbeat, Liveness
from hpsearch.search.note import save_study_note
from hpsearch.search.objective import Objective
from hpsearch.search.progress import Progress, Wait
from hpsearch.search.record import SeedRun, read_record, seed_run
from hpsearch.search.runner import count_finished, run_trials
from hpsearch.search.storage import open_storage
from hpsearch.spec.schema import Spec
from hpsearch.spec.space import IntRange

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
    return spec.with_params(params).model_copy(update={"space": {"train.seed": SEED_PARAM}})


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
) -> dict[int, list[SeedRun]]:
    """Run each of ``trials`` (of ``study``, made from ``spec``) with each of ``seeds``.

    Only missing re-runs are run; one running in another process is waited for (and redone
    if its heartbeat stops). Returns the runs per source trial number, in seed order.

    Raises:
        ReseedError: when a re-run failed; the finished ones are kept, so calling again runs
            only the rest.
    """
    url = spec.study.storage
    assert url is not None
    plan = {(t.number, s): t for t in trials for s in seeds}
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
    seen = _existing(companion, spec.study.name, spec.metric)
    for number, seed in plan:
        if (number, seed) not in seen.known():
            companion.enqueue_trial(
                {"train.seed": seed},
                user_attrs=_origin(spec.study.name, number, seed),
                skip_if_exists=False,
            )
    objective: _ReseedObjective | None = None
    wait = _Wait(companion, settings.heartbeat_grace, progress)
    while True:
        # Every waiting trial runs, also ones enqueued by an earlier, interrupted call for
        # other configs: Optuna hands them out first in, first out, and they are wanted work.
        pending = len(companion.get_trials(deepcopy=False, states=(TrialState.WAITING,)))
        if pending:
            if objective is None:
                cache = cache or DataCache()
                cache.encoded_tasks(spec)  # data or tokenizer problems stop here, before a run
                objective = _ReseedObjective(spec, study, cache, progress)
                if progress is not None:
                    done = sum(k in seen.finished for k in plan)
                    progress.start_run(companion, len(plan), done)
            running = len(companion.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
            with stop_on_signals() as guard:
                run_trials(
                    companion,
                    objective,
                    budget=count_finished(companion) + pending + running,
                    max_trials=pending,  # a failed re-run is reported below, not retried here
                    guard=guard,
                    liveness=liveness,
                    callbacks=[] if progress is None else [progress.on_trial_end],
                    on_wait=lambda _: wait.tell(),  # another process runs a queued re-run
                    poll_interval=poll_interval,
                )
        liveness.sweep(companion)
        seen = _existing(companion, spec.study.name, spec.metric)
        if seen.waiting & plan.keys():
            continue  # the retry of a re-run that went stale while this call ran
        if not seen.running.keys() & plan.keys():
            break
        wait.tell()
        time.sleep(poll_interval)
    missing = [key for key in plan if key not in seen.finished]
    if missing:
        reasons = _fail_reasons(companion, spec.study.name)
        detail = "; ".join(
            f"trial {n} seed {s}" + (f": {reasons[n, s]}" if (n, s) in reasons else "")
            for n, s in missing[:3]
        )
        raise ReseedError(
            f"{len(missing)} of {len(plan)} re-runs of study {spec.study.name!r} did not "
            f"finish ({detail}); run the same command again to retry them"
        )
    runs: dict[int, list[SeedRun]] = {t.number: [] for t in trials}
    for number, seed in sorted(plan):
        runs[number].append(seen.finished[number, seed])
    return runs


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


def _key(trial: FrozenTrial, source: str) -> Key | None:
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

    def known(self) -> set[Key]:
        return {*self.finished, *self.waiting, *self.running}


def _existing(companion: optuna.Study, source: str, metric: str) -> _Seen:
    seen = _Seen()
    for t in companion.get_trials(deepcopy=False):
        key = _key(t, source)
        if key is None:
            continue
        if t.state == TrialState.WAITING:
            seen.waiting.add(key)
        elif t.state == TrialState.RUNNING:
            seen.running[key] = t
        elif t.state == TrialState.COMPLETE and key not in seen.finished:
            seen.finished[key] = seed_run(t, key[1], metric)
    return seen


def _fail_reasons(companion: optuna.Study, source: str) -> dict[tuple[int, int], str]:
    reasons = {}
    for t in companion.get_trials(deepcopy=False, states=(TrialState.FAIL,)):
        key = _key(t, source)
        if key is not None:
            reason = read_record(t).fail_reason
            reasons[key] = "failed" if reason is None else reason
    return reasons


class _ReseedObjective:
    """Runs an enqueued re-run with the Objective of its source trial's config."""

    def __init__(
        self, spec: Spec, source: optuna.Study, cache: DataCache, progress: Progress | None
    ) -> None:
        self.spec = spec
        self.cache = cache
        self.progress = progress
        self.params = {t.number: t.params for t in source.get_trials(deepcopy=False)}
        self.objectives: dict[int, Objective] = {}

    def __call__(self, trial: optuna.Trial) -> float:
        attrs = trial.user_attrs
        number = attrs.get(SOURCE_TRIAL_ATTR)
        if attrs.get(SOURCE_STUDY_ATTR) != self.spec.study.name or number not in self.params:
            # Only when something else asked this study for a trial, or the source trial is
            # gone: fail it, rather than train a config nobody chose.
            raise TrialFailed(f"not an enqueued re-run of study {self.spec.study.name!r}")
        if number not in self.objectives:
            self.objectives[number] = Objective(
                run_spec(self.spec, self.params[number]), self.cache, self.progress
            )
        return self.objectives[number](trial)
