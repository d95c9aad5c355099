"""The report's tables as a header and rows of strings, and their titles.

Built once here, then drawn as markdown (:mod:`hpsearch.report.markdown`) or as rich tables
(:mod:`hpsearch.cli.tables`), so the terminal and report.md always agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from hpsearch.report.labels import (
    COMBINE_NAMES,
    MULTITASK_ROWS,
    PERCENT,
    adapter_label,
    column_name,
    config_label,
    metric_name,
    optimizer_name,
    scheduler_label,
    scheme_label,
)
from hpsearch.report.model import Comparison, MultitaskTable, Report, SchemeRow, Summary


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


def _pm(summary: Summary, digits: int = 4, scale: float = 1.0) -> str:
    mean = number_cell(summary.mean, digits, scale)
    if summary.std is None:
        return f"{mean} (n=1)"
    return f"{mean} ± {number_cell(summary.std, digits, scale)}"


def _p(p: float | None) -> str:
    if p is None:
        return "–"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def comparison_rows(comp: Comparison) -> Rows:
    """The model cards' table: a row per optimizer, then the difference and Welch's p."""
    metrics = comp.metrics
    base, study = comp.baseline, comp.study

    def scale(m: str) -> float:
        return 100.0 if m in PERCENT else 1.0

    digits = {m: 2 if m in PERCENT else 4 for m in metrics}
    best_name = " / ".join(metric_name(m) for m in metrics)
    header = ["", *(metric_name(m) for m in metrics), f"best run ({best_name})", "seeds"]
    rows = []
    for side in (base, study):
        best = side.best_run.metrics
        rows.append(
            [
                config_label(side),
                *(_pm(side.summary[m], digits[m], scale(m)) for m in metrics),
                " / ".join(number_cell(best.get(m), digits[m], scale(m)) for m in metrics),
                str(len(side.seeds)),
            ]
        )
    diff = comp.difference
    rows.append(
        [
            f"difference ({optimizer_name(study.optimizer)} − {optimizer_name(base.optimizer)})",
            *(number_cell(diff[m].mean, digits[m], scale(m), sign=True) for m in metrics),
            " / ".join(
                number_cell(diff[m].best_run, digits[m], scale(m), sign=True) for m in metrics
            ),
            "",
        ]
    )
    rows.append(["Welch t-test p", *(_p(comp.welch[m].p) for m in metrics), "", ""])
    return Rows(header, rows)


def comparison_title(comp: Comparison, seeds: int) -> str:
    return (
        f"{optimizer_name(comp.study.optimizer)} against "
        f"{optimizer_name(comp.baseline.optimizer)}: validation metrics ×100, "
        f"mean ± std over {seeds} seeds"
    )


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


def config_rows(report: Report) -> Rows:
    """Each re-run config: mean ± std and best-of-N of every metric over its seeds."""
    header = ["config", f"search {report.metric}", "seeds"]
    for m in report.metrics:
        header += [f"{m} mean ± std", f"{m} best"]
    rows = []
    for c in report.configs:
        row = [config_label(c), number_cell(c.search_value), str(len(c.runs))]
        for m in report.metrics:
            s = c.summary.get(m)
            row += ["–", "–"] if s is None else [_pm(s), number_cell(s.best)]
        rows.append(row)
    return Rows(header, rows)


def config_title(report: Report) -> str:
    return f"top {report.top} config(s) of each study over {report.seeds} seeds"


def run_rows(report: Report) -> Rows:
    """Every re-run: config, seed, the trial in the companion study, every metric."""
    header = ["config", "seed", "re-run trial", *report.metrics]
    rows = [
        [config_label(c), str(r.seed), f"{c.reseed_study} #{r.trial}"]
        + [number_cell(r.metrics.get(m)) for m in report.metrics]
        for c in report.configs
        for r in c.runs
    ]
    return Rows(header, rows)
