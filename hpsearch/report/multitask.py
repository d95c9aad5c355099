"""The per-task table of a multitask study: the summed loss, PCGrad and the per-task
ensemble, each with its best config of the search (no re-runs).

- summed loss, PCGrad: the best complete trial with ``multitask.combine`` = ``sum`` (or
  ``pcgrad``), by the study's metric of its jointly trained model (``joint_metrics``: its
  best evaluation), ensemble or not;
- per-task ensemble: the best complete trial with ``multitask.ensemble`` on, by the metric of
  its ensemble (``ensemble_metrics``: each task predicted by its own finetuned copy).

The columns are each task's ``report_metrics`` (``sst/accuracy``, ``quora/accuracy``,
``quora/f1``, ``sts/pearson``), then the mean. :func:`hpsearch.report.tables.multitask_rows`
draws the table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpsearch.report.model import MultitaskRow, MultitaskTable
from hpsearch.search.record import TrialRecord, read_record
from hpsearch.spec.schema import Spec
from hpsearch.spec.space import field_params

RowName = Literal["sum", "pcgrad", "ensemble"]
# (row, where a trial's record holds that row's metrics)
_ROWS: tuple[tuple[RowName, Callable[[TrialRecord], dict[str, float] | None]], ...] = (
    ("sum", lambda r: r.joint_metrics),
    ("pcgrad", lambda r: r.joint_metrics),
    ("ensemble", lambda r: r.ensemble_metrics),
)


def multitask_table(spec: Spec, study: optuna.Study) -> MultitaskTable | None:
    """The per-task table of ``study``: None for a single-task study.

    One row each for ``sum``, ``pcgrad`` and ``ensemble``, in that order, always (``trial``
    None when the search has no complete trial of that kind). A row holds its trial's number,
    params, combine, the metrics of its columns, and how many complete trials it was chosen
    from. Ties go to the earlier trial.
    """
    columns = spec.shown_metrics
    if columns is None:
        return None
    maximize = spec.direction == "maximize"
    candidates: dict[str, list[tuple[FrozenTrial, Spec, TrialRecord]]] = {r: [] for r, _ in _ROWS}
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        run = spec.with_params(trial.params)
        record = read_record(trial)
        candidates[run.multitask.combine].append((trial, run, record))
        if run.multitask.ensemble:
            candidates["ensemble"].append((trial, run, record))
    rows = []
    for row, held in _ROWS:
        scored = [
            (t, run, metrics)
            for t, run, record in candidates[row]
            if spec.metric in (metrics := held(record) or {})
        ]
        sign = 1.0 if maximize else -1.0
        best = min(scored, key=lambda x: (-sign * x[2][spec.metric], x[0].number), default=None)
        rows.append(_row(row, best, len(scored), columns))
    return MultitaskTable(metric=spec.metric, columns=tuple(columns), rows=tuple(rows))


def _row(
    row: RowName,
    best: tuple[FrozenTrial, Spec, dict[str, float]] | None,
    n: int,
    names: Sequence[str],
) -> MultitaskRow:
    if best is None:
        return MultitaskRow(row=row, trial=None, n_trials=0, combine=None, params={}, metrics={})
    trial, run, metrics = best
    return MultitaskRow(
        row=row,
        trial=trial.number,
        n_trials=n,
        combine=run.multitask.combine,
        params=field_params(trial.params),
        metrics={m: float(metrics[m]) for m in names if m in metrics},
    )
