"""Report and comparison tables as rich tables for the terminal (the same rows as the
markdown files)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.markup import escape
from rich.table import Table

from hpsearch.compare.model import Comparison, SpaceRow
from hpsearch.compare.tables import (
    Rows,
    cards_rows,
    cards_title,
    config_rows,
    config_title,
    cost_rows,
    cost_title,
    curve_rows,
    curve_title,
    hardware_note,
    paired_rows,
    space_table,
    wilcoxon_note,
)
from hpsearch.report.model import Report
from hpsearch.report.tables import multitask_rows, multitask_title, scheme_rows, scheme_title


def rich_table(rows: Rows, title: str = "") -> Table:
    header, body = rows
    table = Table(title=escape(title), title_justify="left")
    for i, name in enumerate(header):
        table.add_column(escape(name), justify="left" if i == 0 else "right")
    for row in body:
        table.add_row(*(escape(cell) for cell in row))
    return table


def space_tables(rows: Sequence[SpaceRow], arms: Sequence[str]) -> Table:
    """The arms' search spaces side by side, shown before anything runs."""
    return rich_table(space_table(rows, arms), title="search spaces (before any re-run)")


def comparison_tables(comp: Comparison) -> list[Table]:
    """The comparison's summary: the cards' table with the comparison's columns, the
    tuning curves, the paired tests (with two arms or more) and the cost."""
    tables = [rich_table(cards_rows(comp), title=cards_title(comp))]
    tables.append(rich_table(curve_rows(comp), title=curve_title(comp)))
    if comp.paired:
        tables.append(rich_table(paired_rows(comp), title="paired seeds: arm − baseline"))
    tables.append(rich_table(cost_rows(comp), title=cost_title(comp)))
    return tables


def comparison_notes(comp: Comparison) -> list[str]:
    notes = (wilcoxon_note(comp), hardware_note(comp))
    return [note for note in notes if note] + list(comp.notes)


def terminal_tables(report: Report) -> list[Table]:
    """The tables ``hpsearch report`` prints: the comparison, the per-task table (a
    multitask study), the learning schemes, then the configs."""
    comp = report.comparison
    first, *rest = comparison_tables(comp)
    tables = [first]
    if report.multitask is not None:
        title = multitask_title(report.study, report.multitask)
        tables.append(rich_table(multitask_rows(report.multitask), title=title))
    title = scheme_title(report.study, report.schemes, report.metric)
    tables.append(rich_table(scheme_rows(report.schemes, report.metric), title=title))
    tables += rest
    tables.append(rich_table(config_rows(comp, report.metrics), title=config_title(comp)))
    return tables
