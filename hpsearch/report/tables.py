"""Tables as a header and rows of strings, how their cells read, and the tables only a
report has (learning schemes, a multitask study's tasks) with their titles.

Built once here and in :mod:`hpsearch.report.compare_tables`, then drawn as markdown
(:mod:`hpsearch.report.markdown`) or as rich tables (:mod:`hpsearch.cli.tables`), so the
terminal and the markdown files always agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from hpsearch.report.labels import (
    COMBINE_NAMES,
    MULTITASK_ROWS,
    adapter_label,
    column_name,
    metric_name,
    scheduler_label,
    scheme_label,
)
from hpsearch.report.model import MultitaskTable, SchemeRow, Summary


class Rows(NamedTuple):
    """A table as strings: the column names and one list of cells per row."""

    header: list[str]
    body: list[list[str]]


def number_cell(
    value: float | None, digits: int = 4, scale: float = 1.0, sign: bool = False
) -> str:
    """``value × scale`` with ``digits`` decimals (and its sign); ``–`` for None or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return format(value * scale, f"{'+' if sign else ''}.{digits}f")


def pm_cell(summary: Summary, digits: int = 4, scale: float = 1.0) -> str:
    """``mean ± std``; ``mean (n=1)`` for a single run."""
    mean = number_cell(summary.mean, digits, scale)
    if summary.std is None:
        return f"{mean} (n=1)"
    return f"{mean} ± {number_cell(summary.std, digits, scale)}"


def p_cell(p: float | None) -> str:
    """A p-value: three decimals, or scientific below 0.001; ``–`` when undefined."""
    if p is None:
        return "–"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


# The survey's columns; the objective gets its own column when it is neither.
SCHEME_METRICS = ("loss", "accuracy")


def scheme_rows(schemes: Sequence[SchemeRow], metric: str) -> Rows:
    """The survey's table: the best config of each learning scheme, best first.

    ``metric``: the study's objective, a column of its own when it is not a survey column.
    """
    # A survey column no scheme has (a multitask study's metrics are per task) is left out.
    metrics = [m for m in SCHEME_METRICS if not schemes or any(m in r.metrics for r in schemes)]
    if metric not in metrics:
        metrics.append(metric)
    header = ["learning scheme", "adapter", "scheduler"]
    header += [f"validation {metric_name(m).lower()}" for m in metrics]
    rows = [
        [
            scheme_label(r.scheme),
            adapter_label(r.finetune),
            scheduler_label(r.schedule),
            *(number_cell(r.metrics.get(m)) for m in metrics),
        ]
        for r in schemes
    ]
    return Rows(header, rows)


def scheme_title(study: str, metric: str) -> str:
    return f"learning schemes of {study}: the best config of each, by {metric} in the search"


def multitask_rows(table: MultitaskTable) -> Rows:
    """The per-task table of a multitask study: summed loss, PCGrad, per-task ensemble."""
    header = ["", *(column_name(m) for m in table.columns), "trial"]
    rows = []
    for r in table.rows:
        label = MULTITASK_ROWS[r.row]
        if r.row == "ensemble" and r.combine is not None:
            label += f" (after {COMBINE_NAMES[r.combine]})"
        trial = "–" if r.trial is None else f"{r.trial} (best of {r.n_trials})"
        rows.append([label, *(number_cell(r.metrics.get(m)) for m in table.columns), trial])
    return Rows(header, rows)


def multitask_title(study: str, table: MultitaskTable) -> str:
    return (
        f"tasks of {study}: the best config of summed loss, PCGrad and the per-task "
        f"ensemble, by {table.metric} in the search"
    )
