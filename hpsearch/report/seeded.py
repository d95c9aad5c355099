"""The rows only a report has, re-run over its seeds: the best config of each learning scheme
and of each multitask row (summed loss, PCGrad, per-task ensemble).

The search chose each row's trial on one seed, so a row's lead over another can be that
seed's luck. Re-running every row's config with the comparison's seed list says how large
the seed noise is beside the differences between rows. The re-runs are trials of the study's
companion ``<name>-reseed`` (:mod:`hpsearch.search.reseed`), shared with the comparison: a
config that is an arm's best and a scheme's best runs once per seed, and a report run again
runs nothing new.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

import optuna

from hpsearch.compare.comparison import seed_notes
from hpsearch.compare.settings import diverged_runs
from hpsearch.compare.stats import summarize
from hpsearch.data.encode import DataCache
from hpsearch.metrics import default_direction
from hpsearch.report.model import MultitaskRow, MultitaskTable, SchemeRow, Seeded
from hpsearch.search.progress import Progress
from hpsearch.search.reseed import SeedRun, reseed
from hpsearch.spec.schema import Spec


def seed_rows(
    spec: Spec,
    study: optuna.Study,
    schemes: Sequence[SchemeRow],
    multitask: MultitaskTable | None,
    seeds: Sequence[int],
    *,
    cache: DataCache | None = None,
    progress: Progress | None = None,
    noted: Collection[int] = (),
) -> tuple[tuple[SchemeRow, ...], MultitaskTable | None, list[str]]:
    """``schemes`` and ``multitask`` (of ``study``, made from ``spec``) with each row's trial
    re-run with every seed of ``seeds`` and summarized in the row's ``seeded``; and notes on
    re-runs that predicted one class, but for the trials in ``noted`` (the comparison's
    notes already name their re-runs).

    Raises:
        ReseedError: a re-run failed; the finished ones are kept for the next call.
    """
    numbers = {r.trial for r in schemes}
    if multitask is not None:
        numbers |= {r.trial for r in multitask.rows if r.trial is not None}
    if not numbers or not seeds:
        return tuple(schemes), multitask, []
    trials = [t for t in study.get_trials(deepcopy=False) if t.number in numbers]
    notes: list[str] = []
    runs = reseed(spec, study, trials, seeds, cache=cache, progress=progress, notes=notes)
    for number in sorted(set(numbers) - set(noted)):
        notes += seed_notes(f"trial {number}", runs[number])
        notes += diverged_runs(f"trial {number}", runs[number])
    seeded_schemes = tuple(
        replace(r, seeded=_seeded(seeds, [run.metrics for run in runs[r.trial]])) for r in schemes
    )
    if multitask is None:
        return seeded_schemes, None, notes
    rows = tuple(_seeded_task_row(r, runs, seeds, multitask.columns) for r in multitask.rows)
    return seeded_schemes, replace(multitask, rows=rows), notes


def _seeded_task_row(
    row: MultitaskRow,
    runs: Mapping[int, Sequence[SeedRun]],
    seeds: Sequence[int],
    columns: Sequence[str],
) -> MultitaskRow:
    """Summed loss and PCGrad are judged on the jointly trained model, the ensemble row on
    its per-task copies (a run's ``metrics``), as in the search's table."""
    if row.trial is None:
        return row
    per_run = [
        run.metrics if row.row == "ensemble" else (run.joint_metrics or run.metrics)
        for run in runs[row.trial]
    ]
    return replace(
        row, seeded=_seeded(seeds, [{m: r[m] for m in columns if m in r} for r in per_run])
    )


def _seeded(seeds: Sequence[int], per_run: Sequence[Mapping[str, float]]) -> Seeded:
    """Each metric over the runs (one per seed, in seed order); a run without a metric
    counts as NaN there (visible, not dropped)."""
    names = list(dict.fromkeys(m for r in per_run for m in r))
    values = {m: tuple(r.get(m, float("nan")) for r in per_run) for m in names}
    return Seeded(
        seeds=tuple(seeds),
        values=values,
        summary={
            m: summarize(v, maximize=default_direction(m) == "maximize") for m, v in values.items()
        },
    )
