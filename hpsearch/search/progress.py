"""How a run reports progress upward: a protocol that the command line implements.

The search layer never imports a terminal UI; it calls these methods on whatever object it
is given (``hpsearch.cli.progress.RunProgress`` in the command line, nothing in tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import optuna

    from hpsearch.train.trainer import EvalRecord


@dataclass(frozen=True)
class Wait:
    """A run waits: for what (a sentence), and at the latest until when.

    ``until`` is a unix time, or None when no bound is known; ``running`` is how many
    trials run elsewhere meanwhile.
    """

    what: str
    until: float | None = None
    running: int = 0


class Progress(Protocol):
    """Receives a run's events: the run starts, a trial starts, steps, evaluations, ends."""

    def start_run(self, study: optuna.Study, budget: int, finished: int) -> None:
        """The run starts: ``finished`` of ``budget`` trials are done already."""

    def set_running(self, running: int) -> None:
        """For a launcher of workers: how many trials run right now."""

    def waiting(self, wait: Wait) -> None:
        """The run waits, for longer than a moment; called again while it does (say it once
        per different ``wait.what``, even when the output is not a terminal)."""

    def start_trial(self, number: int, params: dict[str, Any]) -> None:
        """Trial ``number`` starts with ``params``."""

    def on_step(self, step: int, total: int, loss: float) -> None:
        """A training step of the current trial is done."""

    def on_eval(self, record: EvalRecord, metric: str) -> None:
        """The current trial evaluated; ``metric`` is the study's."""

    def on_trial_end(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        """A trial finished (an Optuna callback)."""
