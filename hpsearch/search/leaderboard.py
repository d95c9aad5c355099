"""The leaderboard as typed rows: a study's trials ranked, and every study of a storage.

The rich views of these rows are :mod:`hpsearch.cli.views`.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

import optuna
from optuna.distributions import CategoricalChoiceType
from optuna.trial import TrialState

from hpsearch.metrics import below_chance_tasks, one_class_tasks
from hpsearch.search.record import best_evaluation, read_record, top_trials, value_rank
from hpsearch.spec.space import field_params

Params = dict[str, CategoricalChoiceType]  # a trial's params


@dataclass(frozen=True)
class LeaderboardRow:
    """A trial of a study, ranked."""

    rank: int | None  # 1 is the best; None for a waiting trial, which has not run
    trial: int
    state: str  # see :func:`state_name`
    # The objective as measured; for a pruned or running trial its best evaluation's
    value: float | None
    metrics: dict[str, float]  # the evaluation ``value`` comes from
    params: Params
    epochs: float | None  # epochs done
    duration: float | None  # seconds, until now for a running trial
    fail_reason: str | None
    # A classifier answered one class for every validation example at the evaluation of
    # ``metrics`` (MCC 0): it learned nothing, whatever its F1, and ranks at chance, by
    # ``at_chance`` (one recorded before that: after those that learned).
    one_class: bool = False
    # A classifier did worse than chance at that evaluation (MCC < 0). It ranks among the
    # trials that learned, by its value: a view says so.
    below_chance: bool = False
    # What a one-class trial ranks by: its value as Optuna has it, the metric at chance
    # (hpsearch.search.chance), or its best evaluation's; None: it ranks by ``value``.
    at_chance: float | None = None


@dataclass(frozen=True)
class StudySummary:
    """A study of a storage: its trials by state, and its best trial."""

    study: str
    metric: str
    direction: str  # "maximize", "minimize", or one per objective joined by "/"
    trials: int
    states: dict[str, int]  # trials per state, in SUMMARY_STATES's order
    best_value: float | None  # None: no complete trial, or a multi-objective study
    best_trial: int | None
    best_params: Params


def state_name(state: TrialState) -> str:
    """How a trial state reads in tables and files: complete, pruned, running, waiting, failed."""
    return "failed" if state == TrialState.FAIL else state.name.lower()


# Complete trials rank first, then pruned ones (by the best value they reached), then the rest.
_STATE_ORDER = {
    TrialState.COMPLETE: 0,
    TrialState.PRUNED: 1,
    TrialState.RUNNING: 2,
    TrialState.WAITING: 3,
    TrialState.FAIL: 4,
}


def leaderboard_rows(
    study: optuna.Study, metric: str, top: int | None = None
) -> list[LeaderboardRow]:
    """The trials of ``study``, best first (the ``top`` best when given).

    A complete trial shows its objective as measured and ranks by its value, as Optuna does
    (:func:`hpsearch.search.record.value_rank`): one whose classifier answered one class for
    every validation example ranks at chance, so the first row is ``study.best_trial``. A
    pruned or running trial shows the best ``metric`` it reached before stopping, and its
    metrics are those of that evaluation, which ranks it likewise. A waiting trial has not
    run: it gets no rank.
    """
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    ranked = []
    for t in study.get_trials(deepcopy=False):
        record = read_record(t)
        best = None if record.metrics else best_evaluation(t, metric, maximize)
        metrics = record.metrics or ({} if best is None else best.metrics or {})
        if t.state == TrialState.COMPLETE:
            at_chance = record.value_at_chance
            value = t.value if at_chance is None else metrics.get(metric, t.value)
            ranked_by = t.value
        else:
            at_chance = None if best is None else best.value_at_chance
            value = ranked_by = metrics.get(metric)
        flat = bool(one_class_tasks(metrics))
        rank = value_rank(ranked_by or 0.0, flat, at_chance, maximize)
        order = (_STATE_ORDER.get(t.state, 5), ranked_by is None, *rank, t.number)
        ranked.append((order, t, record, value, metrics, flat, at_chance))
    ranked.sort(key=lambda x: x[0])
    ranks = itertools.count(1)
    rows = [
        LeaderboardRow(
            rank=None if t.state == TrialState.WAITING else next(ranks),
            trial=t.number,
            state=state_name(t.state),
            value=value,
            metrics=metrics,
            params=field_params(t.params),
            epochs=record.epochs_done,
            duration=_duration(t),
            fail_reason=record.fail_reason,
            one_class=flat,
            below_chance=bool(below_chance_tasks(metrics)),
            at_chance=at_chance,
        )
        for _, t, record, value, metrics, flat, at_chance in ranked
    ]
    return rows[:top] if top else rows


def _duration(t: optuna.trial.FrozenTrial) -> float | None:
    if t.datetime_start is None:
        return None
    end = t.datetime_complete or dt.datetime.now()
    return (end - t.datetime_start).total_seconds()


def short_names(names: list[str]) -> dict[str, str]:
    """``train.lr`` → ``lr`` where the last part is unique among ``names``."""
    last = [n.rsplit(".", 1)[-1] for n in names]
    return {n: s if last.count(s) == 1 else n for n, s in zip(names, last, strict=True)}


# Trial states in the order the summary of a storage shows them.
SUMMARY_STATES = ("complete", "pruned", "running", "waiting", "failed")


def study_summary_rows(storage: optuna.storages.BaseStorage) -> list[StudySummary]:
    """Every study in ``storage``: trials by state, best value and params (the best by
    :func:`hpsearch.search.record.top_trials`: Optuna's, a one-class trial at chance).

    Studies are sorted by name, so a study and its ``-reseed`` companion sit together.
    """
    rows = []
    for name in sorted(optuna.get_all_study_names(storage)):
        study = optuna.load_study(study_name=name, storage=storage)
        trials = study.get_trials(deepcopy=False)
        counts = {s: 0 for s in SUMMARY_STATES}
        for t in trials:
            state = state_name(t.state)
            counts[state] = counts.get(state, 0) + 1
        best = None
        if len(study.directions) == 1 and counts["complete"]:
            maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
            best = top_trials(trials, 1, maximize)[0]
        rows.append(
            StudySummary(
                study=name,
                metric=_metric_name(study),
                direction="/".join(d.name.lower() for d in study.directions),
                trials=len(trials),
                states=counts,
                best_value=None if best is None else best.value,
                best_trial=None if best is None else best.number,
                best_params={} if best is None else field_params(best.params),
            )
        )
    return rows


def _metric_name(study: optuna.Study) -> str:
    import warnings

    with warnings.catch_warnings():  # metric_names is experimental in Optuna
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        names = study.metric_names
    return names[0] if names else "value"
