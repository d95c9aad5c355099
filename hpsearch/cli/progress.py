"""Live progress of a run in the terminal: trials done out of the budget, the best so far,
the time left, and a bar for the current trial with its epoch, step, loss and last metric.
One line per finished trial; a note that many trials share (one class) is a mark on each
line and its sentence once, as a legend."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING

import optuna
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from hpsearch.cli.estimates import duration_text, estimate_line
from hpsearch.metrics import one_class_tasks
from hpsearch.search.leaderboard import state_name
from hpsearch.search.record import read_record
from hpsearch.spec.space import field_params

if TYPE_CHECKING:
    from rich.progress import Task

    from hpsearch.search.estimate import Estimate
    from hpsearch.search.progress import Wait
    from hpsearch.train.trainer import EvalRecord  # only a type: the trainer imports torch

# The mark of a trial that answered one class, on its line; the sentence is said once.
ONE_CLASS_MARK = "¹"

Estimator = Callable[[Sequence[optuna.trial.FrozenTrial]], "Estimate"]


class InfoColumn(ProgressColumn):
    """A task's ``info`` field, then for the run ``≈3 min left``: a countdown to its
    ``done_at`` field (a unix time, set when a trial ends). In the info column, not one of
    its own: the trial's info is as wide, so the run's time left costs no width."""

    def render(self, task: Task) -> Text:
        text = Text(task.fields.get("info", ""))
        done_at = task.fields.get("done_at")
        if done_at is not None:
            left = duration_text(max(0.0, done_at - time.time()))
            text.append(f"{'  ' if text else ''}≈{left} left", style="dim")
        return text


class RunProgress:
    """Rich progress for ``run_study``; use as a context manager around the run."""

    def __init__(
        self,
        console: Console | None = None,
        *,
        workers: int = 1,
        estimate: Estimator | None = None,
    ) -> None:
        """``workers``: how many run the study's trials at once (for the time left);
        ``estimate``: the run's estimate from the study's trials so far, said when the run
        starts and, if that had nothing to go on, once more after its first trial."""
        self.console = console or Console(stderr=True, emoji=False)
        self._progress = Progress(
            TextColumn("{task.description}"),
            # What the run's line leaves of the width (about 70 columns for its name, count,
            # best, time left and elapsed time), up to rich's 40: at 80 columns the time
            # left stays on the line.
            BarColumn(bar_width=max(8, min(40, self.console.width - 70))),
            MofNCompleteColumn(),
            InfoColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self._run = self._progress.add_task("trials", total=None, info="", visible=False)
        self._trial = self._progress.add_task("trial", total=None, info="", visible=False)
        self._metric_text = ""
        self._study: optuna.Study | None = None
        self._waiting_for = ""  # what the last "waiting for" line said
        self._workers = workers
        self._estimate = estimate
        self._estimated = estimate is None  # an estimate with a time was said
        self._budget = 0
        self._legend_said = False

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
        self._budget = budget
        trials = study.get_trials(deepcopy=False)
        if self._estimate is not None:
            said = self._estimate(trials)
            self._say(estimate_line(said))
            self._estimated = said.seconds is not None or said.runs == 0
        self._progress.start()
        self._progress.update(
            self._run,
            total=budget,
            completed=finished,
            visible=True,
            description=f"study {escape(study.study_name)}",
            info=best_text(study),
            done_at=self._done_at(trials),
        )

    def _done_at(self, trials: Sequence[optuna.trial.FrozenTrial]) -> float | None:
        """When the budget is done, by the trials so far (a unix time); None: no estimate."""
        from hpsearch.search.estimate import eta_seconds

        left = eta_seconds(trials, self._budget, self._workers)
        return None if left is None or left <= 0 else time.time() + left

    def _say(self, line: str) -> None:
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)

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
        legend = ""
        reason = record.fail_reason or record.diverged or ""
        if not reason and record.one_class:
            reason = one_class_mark(record.metrics or {})
            if not self._legend_said:  # the sentence once, the mark on every line
                legend = f"{ONE_CLASS_MARK} {record.one_class}"
                self._legend_said = True
        if record.retry_of is not None:
            retried = f"re-run of trial {record.retry_of}"
            reason = f"{reason}; {retried}" if reason else retried
        fields = field_params(trial.params).items()
        params = ", ".join(f"{k.split('.')[-1]}={_fmt(v)}" for k, v in fields)
        # One line per trial, however narrow the terminal (soft wrap).
        reason = f"  ({reason})" if reason else ""
        self._say(f"trial {trial.number} {state}{value}  {params}{reason}")
        if legend:
            self._say(legend)
        if trial.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED):
            self._progress.advance(self._run)
        trials = study.get_trials(deepcopy=False)
        if not self._estimated and trial.state.is_finished():
            assert self._estimate is not None
            said = self._estimate(trials)
            if said.seconds is not None:
                self._say(estimate_line(said))
                self._estimated = True
        self._progress.update(self._run, info=best_text(study), done_at=self._done_at(trials))


def one_class_mark(metrics: dict[str, float]) -> str:
    """``one class¹``, naming the tasks of a multitask trial (``one class¹: sst``)."""
    tasks = [t for t in one_class_tasks(metrics) if t]
    return f"one class{ONE_CLASS_MARK}" + (f": {', '.join(tasks)}" if tasks else "")


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
