"""The report's tables as rich tables for the terminal (the same rows as report.md)."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from hpsearch.report.model import Report
from hpsearch.report.tables import (
    Rows,
    comparison_rows,
    comparison_title,
    config_rows,
    config_title,
    multitask_rows,
    multitask_title,
    scheme_rows,
    scheme_title,
)


def rich_table(rows: Rows, title: str = "") -> Table:
    header, body = rows
    table = Table(title=escape(title), title_justify="left")
    for i, name in enumerate(header):
        table.add_column(escape(name), justify="left" if i == 0 else "right")
    for row in body:
        table.add_row(*(escape(cell) for cell in row))
    return table


def terminal_tables(report: Report) -> list[Table]:
    """The tables ``hpsearch report`` prints: the comparison (if any), the per-task table (a
    multitask study), the learning schemes, then the configs."""
    tables = []
    if report.comparison is not None:
        title = comparison_title(report.comparison, report.seeds)
        tables.append(rich_table(comparison_rows(report.comparison), title=title))
    if report.multitask is not None:
        title = multitask_title(report.study, report.multitask)
        tables.append(rich_table(multitask_rows(report.multitask), title=title))
    title = scheme_title(report.study, report.metric)
    tables.append(rich_table(scheme_rows(report.schemes, report.metric), title=title))
    tables.append(rich_table(config_rows(report), title=config_title(report)))
    return tables
