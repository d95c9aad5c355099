"""Rich views of leaderboard rows, and the live ``--watch`` redraw."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console, RenderableType
from rich.live import Live
from rich.text import Text

from hpsearch.cli.fit import KEEP, FittedColumn, FittedTable
from hpsearch.search.leaderboard import (
    SUMMARY_STATES,
    LeaderboardRow,
    StudySummary,
    short_names,
)

# The marks of a state that needs a word, and the legend below the table that gives it.
ONE_CLASS_MARK = "¹"
ONE_CLASS_LEGEND = (
    "¹ one class: the classifier answered the same class for every validation example "
    "(MCC 0); it learned nothing, whatever the score shown: it ranks at chance, the value "
    "the search was given (pruned, or recorded before that: after every trial that learned)"
)
BELOW_CHANCE_MARK = "²"
BELOW_CHANCE_LEGEND = (
    "² worse than chance: MCC below 0, its answers go against the labels; it learned "
    "something wrong, and ranks by its score alone"
)
_STYLES = {"complete": "green", "pruned": "yellow", "failed": "red", "running": "cyan"}


def render_leaderboard(
    rows: Sequence[LeaderboardRow],
    metric: str,
    title: str = "",
    *,
    columns: Sequence[str] | None = None,
) -> FittedTable:
    """A table of leaderboard rows that fits the terminal; the objective metric is the
    first, bold column.

    ``columns``: the metrics to show (a multitask study's ``Spec.shown_metrics``); default:
    every metric the trials have. Narrow, the columns drop in this order until the table
    fits (the caption names them): epochs, time, the loss, other metrics, params, the MCC,
    the optimizer; rank, trial, state, the objective and the learning rates always stay.
    """
    shown = columns if columns is not None else [k for r in rows for k in r.metrics]
    metric_names = list(dict.fromkeys([metric, *shown]))
    param_names = list(dict.fromkeys(k for r in rows for k in r.params))
    shorts = short_names(param_names)
    table_columns = [
        FittedColumn("rank"),
        FittedColumn("trial"),
        FittedColumn("state", drop=1, justify="left"),
        *(
            FittedColumn(name, drop=_metric_drop(name, metric), style=_bold(name == metric))
            for name in metric_names
        ),
        *(FittedColumn(shorts[name], drop=_param_drop(name)) for name in param_names),
        FittedColumn("epochs", drop=8),
        FittedColumn("time", drop=7),
    ]
    body = []
    for r in rows:
        metrics = {**r.metrics, metric: r.value}
        body.append(
            [
                "–" if r.rank is None else str(r.rank),
                str(r.trial),
                _state_cell(r),
                *(_fmt(metrics.get(m)) for m in metric_names),
                *(_fmt(r.params.get(p)) for p in param_names),
                _fmt(r.epochs, ".2g"),
                _fmt_seconds(r.duration),
            ]
        )
    legends = []
    if any(r.one_class for r in rows):
        legends.append(ONE_CLASS_LEGEND)
    if any(r.below_chance for r in rows):
        legends.append(BELOW_CHANCE_LEGEND)
    return FittedTable(table_columns, body, title=title, caption="\n".join(legends))


def _metric_drop(name: str, objective: str) -> int:
    if name == objective:
        return KEEP
    last = name.rsplit("/", 1)[-1]
    return {"mcc": 3, "loss": 6}.get(last, 5)


def _param_drop(name: str) -> int:
    last = name.rsplit(".", 1)[-1]
    if last == "lr" or last.endswith("_lr"):
        return KEEP
    return 2 if name == "optimizer.kind" else 4


def _bold(yes: bool) -> str | None:
    return "bold" if yes else None


def _state_cell(row: LeaderboardRow) -> Text:
    marks = (ONE_CLASS_MARK if row.one_class else "") + (
        BELOW_CHANCE_MARK if row.below_chance else ""
    )
    if row.one_class:
        return Text(row.state + marks, style="dim")
    return Text(row.state + marks, style=_STYLES.get(row.state, ""))


def _fmt(value: Any, spec: str = ".4g") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return format(value, spec)
    return str(value)  # drawn as written: a param value is user text, never rich markup


def _fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}"


def render_study_summary(rows: Sequence[StudySummary], title: str = "") -> FittedTable:
    """A table of :func:`study_summary_rows` that fits the terminal: one line per study."""
    columns = [
        FittedColumn("study", wrap=True, justify="left"),
        FittedColumn("metric", drop=3, wrap=True, justify="left"),
        *(FittedColumn(state, drop=0 if state == "complete" else 2) for state in SUMMARY_STATES),
        FittedColumn("best", style="bold"),
        FittedColumn("trial"),
        FittedColumn("best params", drop=1, wrap=True, justify="left"),
    ]
    body = []
    for r in rows:
        shorts = short_names(list(r.best_params))
        params = ", ".join(f"{shorts[k]}={_fmt(v)}" for k, v in r.best_params.items())
        body.append(
            [
                r.study,
                f"{r.metric} ({r.direction})",
                *(str(r.states.get(s, 0)) for s in SUMMARY_STATES),
                _fmt(r.best_value),
                _fmt(r.best_trial),
                params or "–",
            ]
        )
    return FittedTable(columns, body, title=title)


def watch(
    render: Callable[[], RenderableType],
    console: Console,
    interval: float,
    *,
    refreshes: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Show ``render()`` and redraw it every ``interval`` seconds, until Ctrl-C.

    Ctrl-C ends the watch normally (no error): the last table stays on the screen. On a
    console that is not a terminal (a pipe), rich shows only that last table.

    Args:
        render: builds the renderable afresh from storage; called once per refresh.
        refreshes: stop after this many renders (None: until Ctrl-C); for tests and scripts.
        sleep: the wait between refreshes (tests pass a fake).

    Returns:
        How many times the view was rendered.
    """
    count = 0
    try:
        with Live(render(), console=console, auto_refresh=False) as live:
            count = 1
            while refreshes is None or count < refreshes:
                sleep(interval)
                live.update(render(), refresh=True)
                count += 1
    except KeyboardInterrupt:
        pass
    return count


def watch_caption(interval: float) -> Text:
    """The line above a watched table: when it was read, and how to stop."""
    now = dt.datetime.now().strftime("%H:%M:%S")
    return Text(f"updated {now}, every {interval:g} s; Ctrl-C to stop", style="dim")
