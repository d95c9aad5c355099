"""How a run reports progress upward: a protocol that the command line implements.

The search layer never imports a terminal UI; it calls these methods on whatever object it
is given (``hpsearch.cli.progress.RunProgress`` in the command line, nothing in tests).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import optuna

    from hpsearch.train.trainer import EvalRecord


class Progress(Protocol):
    """Receives a run's events: the run starts, a trial starts, steps, evaluations, ends."""

    def start_run(self, study: optuna.Study, budget: int, finished: int) -> None:
        """The run starts: ``finished`` of ``budget`` trials are done already."""

    def set_running(self, running: int) -> None:
        """For a launcher of workers: how many trials run right now."""

    def start_trial(self, number: int, params: dict[str, Any]) -> None:
        """Trial ``number`` starts with ``params``."""

    def on_step(self, step: int, total: int, loss: float) -> None:
        """A training step of the current trial is done."""

    def on_eval(self, record: EvalRecord, metric: str) -> None:
        """The current trial evaluated; ``metric`` is the study's."""

    def on_trial_end(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        """A trial finished (an Optuna callback)."""

    def waiting(self, message: str) -> None:
        """The run waits on something it does not control; ``message`` says what and until
        when. Called again only when the message changes."""
