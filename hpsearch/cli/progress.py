"""Live progress of a run in the terminal: trials done out of the budget, the best so far,
and a bar for the current trial with its epoch, step, loss and last metric."""

from __future__ import annotations

import datetime as dt
import time
from types import TracebackType
from typing import TYPE_CHECKING

import optuna
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hpsearch.search.leaderboard import state_name
from hpsearch.search.record import read_record

if TYPE_CHECKING:
    from hpsearch.search.progress import Wait
    from hpsearch.train.trainer import EvalRecord  # only a type: the trainer imports torch


class RunProgress:
    """Rich progress for ``run_study``; use as a context manager around the run."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True, emoji=False)
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self._run = self._progress.add_task("trials", total=None, info="", visible=False)
        self._trial = self._progress.add_task("trial", total=None, info="", visible=False)
        self._metric_text = ""
        self._study: optuna.Study | None = None
        self._waiting_for = ""  # what the last "waiting for" line said

    def __enter__(self) -> RunProgress:
        return self  # the display starts with the run: an error before it prints alone

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._study is not None:  # started
            self._progress.stop()

    def start_run(self, study: optuna.Study, budget: int, finished: int) -> None:
        self._study = study
        self._progress.start()
        self._progress.update(
            self._run,
            total=budget,
            completed=finished,
            visible=True,
            description=f"study {escape(study.study_name)}",
            info=best_text(study),
        )

    def set_running(self, running: int) -> None:
        """For a launcher of workers: how many trials run right now, beside the best."""
        best = best_text(self._study) if self._study is not None else ""
        self._progress.update(self._run, info=f"{best}  {running} running".strip())

    def waiting(self, wait: Wait) -> None:
        """One line when a wait starts or what it waits for changes (the bar alone is
        invisible when stderr is not a terminal), then the count beside the bar."""
        self.set_running(wait.running)
        if wait.what == self._waiting_for:
            return
        self._waiting_for = wait.what
        until = ""
        if wait.until is not None:
            at = dt.datetime.fromtimestamp(wait.until).strftime("%H:%M:%S")
            until = f" (by {at}, in {max(0, round(wait.until - time.time()))} s)"
        self.console.print(
            f"waiting for {wait.what}{until}", markup=False, highlight=False, soft_wrap=True
        )

    def start_trial(self, number: int, params: dict) -> None:
        self._waiting_for = ""
        self._metric_text = ""
        self._progress.reset(
            self._trial, total=None, visible=True, description=f"trial {number}", info="loading"
        )

    def on_step(self, step: int, total: int, loss: float) -> None:
        self._progress.update(
            self._trial, total=total, completed=step, info=f"loss {loss:.4f}{self._metric_text}"
        )

    def on_eval(self, record: EvalRecord, metric: str) -> None:
        self._metric_text = f"  {metric} {record.metrics[metric]:.4f} @ epoch {record.epoch:.2f}"

    def on_trial_end(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        """Optuna callback: one line per finished trial, then the run bar moves on."""
        state = state_name(trial.state)
        value = "" if trial.value is None else f" {trial.value:.4f}"
        record = read_record(trial)
        reason = record.fail_reason or record.diverged or record.one_class or ""
        if record.retry_of is not None:
            retried = f"re-run of trial {record.retry_of}"
            reason = f"{reason}; {retried}" if reason else retried
        params = ", ".join(f"{k.split('.')[-1]}={_fmt(v)}" for k, v in trial.params.items())
        self.console.print(
            f"trial {trial.number} {state}{value}  {params}" + (f"  ({reason})" if reason else ""),
            markup=False,
            highlight=False,
            soft_wrap=True,  # one line per trial, however narrow the terminal
        )
        if trial.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED):
            self._progress.advance(self._run)
        self._progress.update(self._run, info=best_text(study))


def best_text(study: optuna.Study) -> str:
    """The run bar's "best 0.8123 (trial 7)": the first of
    :func:`~hpsearch.search.record.top_trials`, so never a trial that answered one class for
    every validation example while another learned."""
    from hpsearch.search.record import top_trials

    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    best = top_trials(study.get_trials(deepcopy=False), 1, maximize)
    if not best:  # no complete trial yet
        return ""
    return f"best {best[0].value:.4f} (trial {best[0].number})"


def _fmt(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
