"""The tables only a report has (learning schemes, a multitask study's tasks) with their
titles, as a header and rows of strings (:class:`hpsearch.compare.tables.Rows`).

Built once here, then drawn as markdown (:mod:`hpsearch.report.markdown`) or as rich tables
(:mod:`hpsearch.cli.tables`), so the terminal and the markdown files always agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hpsearch.compare.labels import column_name, metric_name
from hpsearch.compare.tables import KEEP, Rows, number_cell, pm_cell
from hpsearch.report.labels import (
    COMBINE_NAMES,
    MULTITASK_ROWS,
    adapter_label,
    scheduler_label,
    scheme_label,
)
from hpsearch.report.model import MultitaskTable, SchemeRow, Seeded
from hpsearch.wording import plural

# The survey's columns; the objective gets its own column when it is neither.
SCHEME_METRICS = ("loss", "accuracy")


def scheme_rows(schemes: Sequence[SchemeRow], metric: str) -> Rows:
    """The survey's table: the best config of each learning scheme, best first.

    ``metric``: the study's objective, a column of its own when it is not a survey column.
    When the rows were re-run over seeds, a metric's cell is its mean ± std over them and a
    last column holds the objective that the search measured.
    """
    # A survey column no scheme has (a multitask study's metrics are per task) is left out.
    metrics = [m for m in SCHEME_METRICS if not schemes or any(m in r.metrics for r in schemes)]
    if metric not in metrics:
        metrics.append(metric)
    n = _seed_count(r.seeded for r in schemes)
    header = ["learning scheme", "adapter", "scheduler"]
    header += [f"validation {metric_name(m).lower()}{_over(n)}" for m in metrics]
    # Narrow, the scheme and its objective stay longest.
    drop = [KEEP, 2, 2, *(KEEP if m == metric else 1 for m in metrics)]
    if n:
        header.append(f"{metric_name(metric).lower()} in the search")
        drop.append(3)
    rows = [
        [
            scheme_label(r.scheme),
            adapter_label(r.finetune),
            scheduler_label(r.schedule),
            *(_cell(r.metrics, r.seeded, m, n) for m in metrics),
            *([number_cell(r.value)] if n else []),
        ]
        for r in schemes
    ]
    return Rows(header, rows, tuple(drop), frozenset({0, 1, 2}))


def scheme_title(study: str, schemes: Sequence[SchemeRow], metric: str) -> str:
    n = _seed_count(r.seeded for r in schemes)
    chosen = f"learning schemes of {study}: the best config of each, by {metric} in the search"
    return chosen + _rerun(n)


def multitask_rows(table: MultitaskTable) -> Rows:
    """The per-task table of a multitask study: summed loss, PCGrad, per-task ensemble;
    re-run over seeds, a cell is the mean ± std over them and a last column holds the
    objective that the search measured."""
    n = _seed_count(r.seeded for r in table.rows)
    header = ["", *(f"{column_name(m)}{_over(n)}" for m in table.columns), "trial"]
    drop = [KEEP, *(KEEP if m == table.metric else 1 for m in table.columns), 3]
    if n:
        header.append(f"{column_name(table.metric)} in the search")
        drop.append(2)
    rows = []
    for r in table.rows:
        label = MULTITASK_ROWS[r.row]
        if r.row == "ensemble" and r.combine is not None:
            label += f" (after {COMBINE_NAMES[r.combine]})"
        trial = "–" if r.trial is None else f"{r.trial} (best of {r.n_trials})"
        cells = [_cell(r.metrics, r.seeded, m, n) for m in table.columns]
        rows.append(
            [label, *cells, trial, *([number_cell(r.metrics.get(table.metric))] if n else [])]
        )
    return Rows(header, rows, tuple(drop))


def _seed_count(seeded: Iterable[Seeded | None]) -> int:
    """How many seeds the rows were re-run with; 0: not re-run."""
    return max((len(s.seeds) for s in seeded if s is not None), default=0)


def _rerun(n: int) -> str:
    """A title's ending for rows re-run with ``n`` seeds; none for rows not re-run."""
    return f", re-run with {seeds_text(n)}" if n else ""


def _over(n: int) -> str:
    return f", {seeds_text(n)}" if n else ""


def seeds_text(n: int) -> str:
    return plural(n, "seed")


def _cell(search: dict[str, float], seeded: Seeded | None, metric: str, n: int) -> str:
    """The search's value, or with seeds (``n`` > 0) the mean ± std over them."""
    if not n:
        return number_cell(search.get(metric))
    if seeded is None or metric not in seeded.summary:
        return "–"
    return pm_cell(seeded.summary[metric])


def multitask_title(study: str, table: MultitaskTable) -> str:
    n = _seed_count(r.seeded for r in table.rows)
    return (
        f"tasks of {study}: the best config of summed loss, PCGrad and the per-task "
        f"ensemble, by {table.metric} in the search" + _rerun(n)
    )
