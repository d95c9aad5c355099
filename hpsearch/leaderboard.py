"""The leaderboard: a study's trials ranked, built as plain rows first, then rendered."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from typing import Any

import optuna
from optuna.trial import TrialState
from rich.console import Console, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text


def state_name(state: TrialState) -> str:
    """How a trial state reads in tables and files: complete, pruned, running, waiting, failed."""
    return "failed" if state == TrialState.FAIL else state.name.lower()


# Complete trials rank first, then pruned ones (by the best value they reached), then the rest.
_STATE_ORDER = {
    TrialState.COMPLETE: 0,
    TrialState.PRUNED: 1,
    TrialState.RUNNING: 2,
    TrialState.WAITING: 3,
    TrialState.FAIL: 4,
}


def leaderboard_rows(study: optuna.Study, metric: str, top: int | None = None) -> list[dict]:
    """Trials as plain dicts, best first.

    A complete trial's value is its objective; a pruned or running one shows the best
    ``metric`` it reached before stopping, and its metrics are those of that evaluation.
    """
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    rows = []
    for t in study.get_trials(deepcopy=False):
        evals = t.user_attrs.get("evals", [])
        best_eval = _best_eval(evals, metric, maximize)
        metrics = t.user_attrs.get("metrics") or (best_eval or {}).get("metrics", {})
        value = t.value if t.state == TrialState.COMPLETE else metrics.get(metric)
        rows.append(
            {
                "trial": t.number,
                "state": state_name(t.state),
                "value": value,
                "metrics": metrics,
                "params": dict(t.params),
                "epochs": t.user_attrs.get("epochs_done"),
                "duration": _duration(t),
                "fail_reason": t.user_attrs.get("fail_reason"),
                "_order": _STATE_ORDER.get(t.state, 5),
            }
        )
    sign = -1.0 if maximize else 1.0
    rows.sort(key=lambda r: (r["_order"], r["value"] is None, sign * (r["value"] or 0.0)))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
        del row["_order"]
    return rows[:top] if top else rows


def _best_eval(evals: list[dict], metric: str, maximize: bool) -> dict | None:
    scored = [e for e in evals if metric in e.get("metrics", {})]
    if not scored:
        return None
    pick = max if maximize else min
    return pick(scored, key=lambda e: e["metrics"][metric])


def _duration(t: optuna.trial.FrozenTrial) -> float | None:
    if t.datetime_start is None:
        return None
    end = t.datetime_complete or dt.datetime.now()
    return (end - t.datetime_start).total_seconds()


def short_names(names: list[str]) -> dict[str, str]:
    """``train.lr`` → ``lr`` where the last part is unique among ``names``."""
    last = [n.rsplit(".", 1)[-1] for n in names]
    return {n: s if last.count(s) == 1 else n for n, s in zip(names, last, strict=True)}


def render_leaderboard(
    rows: list[dict], metric: str, title: str = "", *, columns: Sequence[str] | None = None
) -> Table:
    """A rich table of leaderboard rows; the objective metric is the first, bold column.

    ``columns``: the metrics to show (a multitask study's ``Spec.shown_metrics``); default:
    every metric the trials have.
    """
    shown = columns if columns is not None else [k for r in rows for k in r["metrics"]]
    metric_names = list(dict.fromkeys([metric, *shown]))
    param_names = list(dict.fromkeys(k for r in rows for k in r["params"]))
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
        metrics = {**r["metrics"], metric: r["value"]}
        table.add_row(
            str(r["rank"]),
            str(r["trial"]),
            f"[{styles[r['state']]}]{r['state']}[/]" if r["state"] in styles else r["state"],
            *(_fmt(metrics.get(m)) for m in metric_names),
            *(_fmt(r["params"].get(p)) for p in param_names),
            _fmt(r["epochs"], ".2g"),
            _fmt_seconds(r["duration"]),
        )
    return table


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


# Trial states in the order the summary of a storage shows them.
_SUMMARY_STATES = ("complete", "pruned", "running", "waiting", "failed")


def study_summary_rows(storage: optuna.storages.BaseStorage) -> list[dict]:
    """Every study in ``storage`` as a plain dict: trials by state, best value and params.

    Studies are sorted by name, so a study and its ``-reseed`` companion sit together.
    """
    rows = []
    for name in sorted(optuna.get_all_study_names(storage)):
        study = optuna.load_study(study_name=name, storage=storage)
        trials = study.get_trials(deepcopy=False)
        counts = {s: 0 for s in _SUMMARY_STATES}
        for t in trials:
            state = state_name(t.state)
            counts[state] = counts.get(state, 0) + 1
        best = None
        if len(study.directions) == 1 and counts["complete"]:
            best = study.best_trial
        rows.append(
            {
                "study": name,
                "metric": _metric_name(study),
                "direction": "/".join(d.name.lower() for d in study.directions),
                "trials": len(trials),
                "states": counts,
                "best_value": None if best is None else best.value,
                "best_trial": None if best is None else best.number,
                "best_params": {} if best is None else dict(best.params),
            }
        )
    return rows


def _metric_name(study: optuna.Study) -> str:
    import warnings

    with warnings.catch_warnings():  # metric_names is experimental in Optuna
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        names = study.metric_names
    return names[0] if names else "value"


def render_study_summary(rows: list[dict], title: str = "") -> Table:
    """A rich table of :func:`study_summary_rows`: one line per study."""
    table = Table(title=escape(title), title_justify="left")
    table.add_column("study")
    table.add_column("metric")
    for state in _SUMMARY_STATES:
        table.add_column(state, justify="right")
    table.add_column("best", justify="right", style="bold")
    table.add_column("trial", justify="right")
    table.add_column("best params")
    for r in rows:
        shorts = short_names(list(r["best_params"]))
        params = ", ".join(f"{shorts[k]}={_fmt(v)}" for k, v in r["best_params"].items())
        table.add_row(
            escape(r["study"]),
            escape(f"{r['metric']} ({r['direction']})"),
            *(str(r["states"].get(s, 0)) for s in _SUMMARY_STATES),
            _fmt(r["best_value"]),
            _fmt(r["best_trial"]),
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
