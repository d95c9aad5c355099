"""Re-running a study's best configs with other seeds, in a companion study.

The re-runs of study ``NAME`` live in study ``NAME-reseed`` in the same storage, created with
Optuna's ``NopPruner`` (a re-run is never pruned). Each re-run is an enqueued trial whose
only parameter is ``train.seed`` and whose user attrs name its origin::

    {"source_study": "qqp-mfac", "source_trial": 12, "seed": 3}

so the companion study is readable on its own (``hpsearch leaderboard --all``, the
dashboard), and a report run again finds the seeds that already finished and skips them.
Trials that failed, were interrupted (left RUNNING by a killed process) or never started
are run again; enqueued trials still WAITING are reused, not enqueued twice. Two ``report``
commands on the same study at the same time are not supported: each would run the other's
pending seeds again.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpsearch.data.encode import DataCache
from hpsearch.errors import HpsearchError, TrialFailed
from hpsearch.search.interrupts import stop_on_signals
from hpsearch.search.note import save_study_note
from hpsearch.search.objective import Objective
from hpsearch.search.progress import Progress
from hpsearch.search.runner import count_finished, run_trials
from hpsearch.search.storage import open_storage
from hpsearch.spec.schema import Spec
from hpsearch.spec.space import IntRange

RESEED_SUFFIX = "-reseed"
# The seed as the re-run spec's only searched field. A fixed, wide range rather than the
# seeds of this call: Optuna requires one distribution per parameter name in a study, and
# `--seeds 3` followed by `--seeds 5` must share the companion study.
SEED_PARAM = IntRange(0, 2**31 - 1)


class ReseedError(HpsearchError):
    """Some re-runs did not finish; running the command again retries them."""


@dataclass(frozen=True)
class SeedRun:
    """One finished re-run of a config with one seed."""

    seed: int
    trial: int  # number of the trial in the companion study
    value: float  # the objective: best evaluation of the study's metric
    metrics: dict[str, float]  # every metric of that evaluation

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def reseed_name(study_name: str) -> str:
    """Name of the companion study that holds the re-runs of ``study_name``."""
    return study_name + RESEED_SUFFIX


def top_trials(study: optuna.Study, k: int) -> list[FrozenTrial]:
    """The ``k`` best complete trials, best first; ties go to the earlier trial."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    sign = -1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1.0
    return sorted(complete, key=lambda t: (sign * float(t.value or 0.0), t.number))[:k]


def run_spec(spec: Spec, params: dict[str, Any]) -> Spec:
    """``spec`` with a trial's params fixed and only ``train.seed`` left to suggest.

    The space is replaced, not extended: the objective must not ask Optuna for the fixed
    params again (an enqueued trial would get fresh samples for them).
    """
    return spec.with_params(params).model_copy(update={"space": {"train.seed": SEED_PARAM}})


def seeds_for(spec: Spec, params: dict[str, Any], n: int) -> list[int]:
    """``n`` seeds from the config's own ``train.seed`` on; the first re-run reproduces it."""
    base = spec.with_params(params).train.seed
    return [base + i for i in range(n)]


def reseed(
    spec: Spec,
    study: optuna.Study,
    trials: Sequence[FrozenTrial],
    n_seeds: int,
    *,
    cache: DataCache | None = None,
    progress: Progress | None = None,
) -> dict[int, list[SeedRun]]:
    """Run each of ``trials`` (of ``study``, made from ``spec``) with ``n_seeds`` seeds.

    Only missing re-runs are run. Returns the runs per source trial number, in seed order.

    Raises:
        ReseedError: when a re-run failed; the finished ones are kept, so calling again runs
            only the rest.
    """
    url = spec.study.storage
    assert url is not None
    plan = {(t.number, s): t for t in trials for s in seeds_for(spec, t.params, n_seeds)}
    companion = _open_companion(spec, url)
    finished, waiting = _existing(companion, spec.study.name)
    for number, seed in plan:
        if (number, seed) not in finished and (number, seed) not in waiting:
            companion.enqueue_trial(
                {"train.seed": seed},
                user_attrs={"source_study": spec.study.name, "source_trial": number, "seed": seed},
                skip_if_exists=False,
            )
            waiting.add((number, seed))
    # Every waiting trial runs, also ones enqueued by an earlier, interrupted call for other
    # configs: Optuna hands them out first in, first out, and they are wanted work anyway.
    pending = len(companion.get_trials(deepcopy=False, states=(TrialState.WAITING,)))
    if pending:
        cache = cache or DataCache()
        cache.encoded_tasks(spec)  # data or tokenizer problems stop here, before any run
        if progress is not None:
            progress.start_run(companion, len(plan), sum(k in finished for k in plan))
        with stop_on_signals() as guard:
            run_trials(
                companion,
                _ReseedObjective(spec, study, cache, progress),
                budget=count_finished(companion) + pending,
                max_trials=pending,  # a failed re-run is reported below, not retried here
                guard=guard,
                callbacks=[] if progress is None else [progress.on_trial_end],
            )
        finished, _ = _existing(companion, spec.study.name)
    missing = [key for key in plan if key not in finished]
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
    for (number, seed), _ in sorted(plan.items()):
        runs[number].append(finished[number, seed])
    return runs


def _open_companion(spec: Spec, url: str) -> optuna.Study:
    study = optuna.create_study(
        study_name=reseed_name(spec.study.name),
        storage=open_storage(url),
        sampler=optuna.samplers.RandomSampler(seed=0),  # never asked: every param is fixed
        pruner=optuna.pruners.NopPruner(),
        direction=spec.direction,
        load_if_exists=True,
    )
    if "source_study" not in study.user_attrs:
        study.set_user_attr("source_study", spec.study.name)
        study.set_user_attr("spec", spec.to_dict())
        with warnings.catch_warnings():  # experimental in Optuna
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([spec.metric])
        save_study_note(
            study,
            spec,
            intro=f"Seed re-runs of the best trials of study `{spec.study.name}`, "
            "written by `hpsearch report`.",
        )
    return study


def _key(trial: FrozenTrial, source: str) -> tuple[int, int] | None:
    attrs = trial.user_attrs
    if attrs.get("source_study") != source or "source_trial" not in attrs or "seed" not in attrs:
        return None
    return int(attrs["source_trial"]), int(attrs["seed"])


def _existing(
    companion: optuna.Study, source: str
) -> tuple[dict[tuple[int, int], SeedRun], set[tuple[int, int]]]:
    """Finished re-runs by (source trial, seed), and the keys of waiting ones."""
    finished: dict[tuple[int, int], SeedRun] = {}
    waiting: set[tuple[int, int]] = set()
    for t in companion.get_trials(deepcopy=False):
        key = _key(t, source)
        if key is None:
            continue
        if t.state == TrialState.WAITING:
            waiting.add(key)
        elif t.state == TrialState.COMPLETE and key not in finished:
            assert t.value is not None
            metrics = {k: float(v) for k, v in t.user_attrs.get("metrics", {}).items()}
            finished[key] = SeedRun(key[1], t.number, float(t.value), metrics)
    return finished, waiting


def _fail_reasons(companion: optuna.Study, source: str) -> dict[tuple[int, int], str]:
    reasons = {}
    for t in companion.get_trials(deepcopy=False, states=(TrialState.FAIL,)):
        key = _key(t, source)
        if key is not None:
            reasons[key] = t.user_attrs.get("fail_reason", "failed")
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
        number = attrs.get("source_trial")
        if attrs.get("source_study") != self.spec.study.name or number not in self.params:
            # Only when something else asked this study for a trial, or the source trial is
            # gone: fail it, rather than train a config nobody chose.
            raise TrialFailed(f"not an enqueued re-run of study {self.spec.study.name!r}")
        if number not in self.objectives:
            self.objectives[number] = Objective(
                run_spec(self.spec, self.params[number]), self.cache, self.progress
            )
        return self.objectives[number](trial)
