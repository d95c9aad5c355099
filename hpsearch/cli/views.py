"""Rich views of leaderboard rows, and the live ``--watch`` redraw."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from hpsearch.search.leaderboard import (
    SUMMARY_STATES,
    LeaderboardRow,
    StudySummary,
    short_names,
)


def render_leaderboard(
    rows: Sequence[LeaderboardRow],
    metric: str,
    title: str = "",
    *,
    columns: Sequence[str] | None = None,
) -> Table:
    """A rich table of leaderboard rows; the objective metric is the first, bold column.

    ``columns``: the metrics to show (a multitask study's ``Spec.shown_metrics``); default:
    every metric the trials have.
    """
    shown = columns if columns is not None else [k for r in rows for k in r.metrics]
    metric_names = list(dict.fromkeys([metric, *shown]))
    param_names = list(dict.fromkeys(k for r in rows for k in r.params))
    shorts = short_names(param_names)
    table = Table(title=title, title_justify="left")
    table.add_column("rank", justify="right")
    table.add_column("trial", justify="right")
    table.add_column("state")
    for name in metric_names:
        table.add_column(name, justify="right", style="bold" if name == metric else None)
    for name in param_names:
        table.add_column(shorts[name], justify="right")
    table.add_column("epochs", justify="right")
    table.add_column("time", justify="right")
    styles = {"complete": "green", "pruned": "yellow", "failed": "red", "running": "cyan"}
    for r in rows:
        metrics = {**r.metrics, metric: r.value}
        table.add_row(
            str(r.rank),
            str(r.trial),
            _state_cell(r, styles),
            *(_fmt(metrics.get(m)) for m in metric_names),
            *(_fmt(r.params.get(p)) for p in param_names),
            _fmt(r.epochs, ".2g"),
            _fmt_seconds(r.duration),
        )
    if any(r.one_class for r in rows):
        table.caption = (
            "one class: a classifier answered the same class for every validation example "
            "(MCC 0); it learned nothing, whatever its score, and ranks after every trial "
            "that learned"
        )
        table.caption_justify = "left"
    return table


def _state_cell(row: LeaderboardRow, styles: dict[str, str]) -> str:
    if row.one_class:
        return f"[dim]{row.state}, one class[/]"
    return f"[{styles[row.state]}]{row.state}[/]" if row.state in styles else row.state


def _fmt(value: Any, spec: str = ".4g") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return format(value, spec)
    return escape(str(value))  # a param value is user text, never rich markup


def _fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}"


def render_study_summary(rows: Sequence[StudySummary], title: str = "") -> Table:
    """A rich table of :func:`study_summary_rows`: one line per study."""
    table = Table(title=escape(title), title_justify="left")
    table.add_column("study")
    table.add_column("metric")
    for state in SUMMARY_STATES:
        table.add_column(state, justify="right")
    table.add_column("best", justify="right", style="bold")
    table.add_column("trial", justify="right")
    table.add_column("best params")
    for r in rows:
        shorts = short_names(list(r.best_params))
        params = ", ".join(f"{shorts[k]}={_fmt(v)}" for k, v in r.best_params.items())
        table.add_row(
            escape(r.study),
            escape(f"{r.metric} ({r.direction})"),
            *(str(r.states.get(s, 0)) for s in SUMMARY_STATES),
            _fmt(r.best_value),
            _fmt(r.best_trial),
            params or "–",
        )
    return table


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
