"""The report's tables as rich tables for the terminal (the same rows as report.md)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from hpsearch.report.render import (
    Rows,
    comparison_rows,
    comparison_title,
    config_rows,
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


def terminal_tables(report: dict[str, Any]) -> list[Table]:
    """The tables ``hpsearch report`` prints: the comparison (if any), then the configs."""
    tables = []
    comp = comparison_rows(report)
    if comp is not None:
        tables.append(rich_table(comp, title=comparison_title(report)))
    tasks = multitask_rows(report)
    if tasks is not None:
        tables.append(rich_table(tasks, title=multitask_title(report)))
    tables.append(rich_table(scheme_rows(report), title=scheme_title(report)))
    tables.append(
        rich_table(
            config_rows(report),
            title=f"top {report['top']} config(s) of each study over {report['seeds']} seeds",
        )
    )
    return tables
