"""Report and comparison tables as rich tables for the terminal (the same rows as the
markdown files), each fitted to the terminal's width (:mod:`hpsearch.cli.fit`: the columns
that :attr:`~hpsearch.compare.tables.Rows.drop` ranks lowest drop, and the caption names
them; the markdown files keep every column)."""

from __future__ import annotations

from collections.abc import Sequence

from hpsearch.cli.fit import FittedColumn, FittedTable
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
    odds_rows,
    odds_title,
    paired_rows,
    space_table,
    wilcoxon_note,
)
from hpsearch.report.model import Report
from hpsearch.report.tables import multitask_rows, multitask_title, scheme_rows, scheme_title


def rich_table(rows: Rows, title: str = "", markdown: str = "compare.md") -> FittedTable:
    """``rows`` as a table that fits the terminal: the first column left-aligned, the
    others right-aligned; cells drawn as written (never as rich markup). ``markdown``: the
    file that has the columns a narrow terminal leaves out."""
    drop = rows.drop or (0,) * len(rows.header)
    columns = [
        FittedColumn(name, drop=d, wrap=i in rows.wrap, justify="left" if i == 0 else "right")
        for i, (name, d) in enumerate(zip(rows.header, drop, strict=True))
    ]
    hint = f"{markdown} has every column"
    return FittedTable(columns, rows.body, title=title, dropped_hint=hint)


def space_tables(rows: Sequence[SpaceRow], arms: Sequence[str]) -> FittedTable:
    """The arms' search spaces side by side, shown before anything runs."""
    return rich_table(space_table(rows, arms), title="search spaces (before any re-run)")


def comparison_tables(comp: Comparison, markdown: str = "compare.md") -> list[FittedTable]:
    """The comparison's summary: the cards' table with the comparison's columns, the
    tuning curves, P(best) (where asked for), the paired tests (with two arms or more) and
    the cost. ``markdown``:
    the file written beside them, which has every column."""
    tables = [rich_table(cards_rows(comp), cards_title(comp), markdown)]
    tables.append(rich_table(curve_rows(comp), curve_title(comp), markdown))
    if comp.best_odds:
        tables.append(rich_table(odds_rows(comp), odds_title(comp), markdown))
    if comp.paired:
        tables.append(rich_table(paired_rows(comp), "paired seeds: arm − baseline", markdown))
    tables.append(rich_table(cost_rows(comp), cost_title(comp), markdown))
    return tables


def comparison_notes(comp: Comparison) -> list[str]:
    notes = (wilcoxon_note(comp), hardware_note(comp))
    return [note for note in notes if note] + list(comp.notes)


def terminal_tables(report: Report) -> list[FittedTable]:
    """The tables ``hpsearch report`` prints: the comparison, the per-task table (a
    multitask study), the learning schemes, then the configs."""
    comp, md = report.comparison, "report.md"
    first, *rest = comparison_tables(comp, md)
    tables = [first]
    if report.multitask is not None:
        title = multitask_title(report.study, report.multitask)
        tables.append(rich_table(multitask_rows(report.multitask), title, md))
    title = scheme_title(report.study, report.schemes, report.metric)
    tables.append(rich_table(scheme_rows(report.schemes, report.metric), title, md))
    tables += rest
    tables.append(rich_table(config_rows(comp, report.metrics), config_title(comp), md))
    return tables
