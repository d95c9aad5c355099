"""The axes a comparison's tuning budget is measured on (``compare --budget-by``): trials,
training seconds or optimizer steps; how an amount on each reads; what an evaluation had
spent on each.

One registry, :data:`AXES`, the one place that knows the axes; the trials axis is the one
where every trial costs 1. Light on purpose (no optuna, no numpy): the renderers read their
labels here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast

from hpsearch.errors import HpsearchError
from hpsearch.registry import Registry
from hpsearch.wording import plural

BudgetAxis = Literal["trials", "seconds", "steps"]
TRIALS: BudgetAxis = "trials"


class Spent(Protocol):
    """What an evaluation had spent when it ran: a trial's
    :class:`~hpsearch.search.record.Evaluation` or a re-run's
    :class:`~hpsearch.search.record.EvalPoint`."""

    @property
    def step(self) -> int | None: ...

    @property
    def train_seconds(self) -> float | None: ...


@dataclass(frozen=True)
class Axis:
    """A budget axis: its name (``--budget-by``), how it reads, and where a trial records
    what it spent on it: ``attr``, the field of an evaluation (what was spent by then), and
    ``total``, the field of a complete run's :class:`~hpsearch.search.record.RunCost`; None
    on the trials axis, whose trials are counted, not read."""

    name: BudgetAxis
    label: str  # "training seconds": a plot's axis, a table's column
    description: str
    unit: str  # after an amount: "s", "steps"; the trials axis counts trials
    attr: str | None = None
    total: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)  # none (a registry entry's)

    @property
    def compute(self) -> bool:
        """Whether the axis measures compute (seconds, steps) rather than counting trials."""
        return self.attr is not None

    def amount(self, value: float) -> str:
        """``3 trials``, ``120.5 s``, ``1,200 steps``."""
        if not self.compute:
            return plural(int(value), "trial")
        return f"{value:,.1f} s" if self.unit == "s" else f"{value:,.0f} {self.unit}"

    def spent(self, evaluation: Spent) -> float | None:
        """What ``evaluation`` had spent on this axis since training started; None where it
        did not record it (or on the trials axis)."""
        return None if self.attr is None else getattr(evaluation, self.attr)


AXES: Registry[Axis] = Registry(
    "budget axis",
    [
        Axis(
            "trials",
            "trials",
            "finished trials, each counting 1 (Dodge et al. 2019)",
            "trials",
        ),
        Axis(
            "seconds",
            "training seconds",
            "training seconds, evaluations excluded: what a trial's steps cost on its machine",
            "s",
            "train_seconds",
            "train_seconds",
        ),
        Axis(
            "steps",
            "optimizer steps",
            "optimizer steps, whatever each cost",
            "steps",
            "step",
            "steps",
        ),
    ],
)


def check_axis(name: str) -> BudgetAxis:
    """``name`` as a budget axis.

    Raises:
        HpsearchError: not an axis: one line with the axes and the value.
    """
    if name not in AXES:
        raise HpsearchError(f"--budget-by must be one of {', '.join(AXES)}, but got {name!r}")
    return cast(BudgetAxis, name)


def check_budget(budget: float | None, axis: BudgetAxis) -> float | None:
    """``--budget`` in ``axis``' unit, as the plan takes it: a whole number of trials (an
    int) on the trials axis, a positive finite amount on the others; None: none given.

    Raises:
        HpsearchError: one line with the rule and the value.
    """
    if budget is None:
        return None
    if not AXES[axis].compute:
        if not (math.isfinite(budget) and budget >= 1 and float(budget).is_integer()):
            raise HpsearchError(
                f"--budget with --budget-by trials must be a whole number of trials, at least "
                f"1, but got {budget:g}"
            )
        return int(budget)
    if not (math.isfinite(budget) and budget > 0):
        raise HpsearchError(
            f"--budget with --budget-by {axis} must be a positive number of "
            f"{AXES[axis].label}, but got {budget:g}"
        )
    return float(budget)
