"""A calibration's data: frozen dataclasses that the range tests fill in, the storage keeps
(one trial of the companion study per test, :mod:`~hpsearch.search.calibration.store`), and
the table, the plot, ``run`` and ``compare`` read by attribute.

Sequences are tuples; a loss that was not finite is stored as None (JSON has no NaN) and
read back as such. :func:`read_range_test` reads what :meth:`RangeTest.to_dict` wrote.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from hpsearch.optim import OPTIMIZERS
from hpsearch.spec.space import FloatRange

if TYPE_CHECKING:
    from pydantic import TypeAdapter

FailureKind = Literal["diverged", "non-finite", "one class"]
ArmState = Literal["fresh", "stale", "missing"]


@dataclass(frozen=True)
class RangeTestSettings:
    """How a range test runs: what ``hpsearch calibrate``'s options set."""

    steps: int = 100  # optimizer steps, at most one epoch of the study's training data
    start: float = 1e-7  # the lr of the first step
    end: float = 10.0  # the lr of the last step
    eval_examples: int = 256  # validation examples each evaluation scores
    evals: int = 8  # evaluations, evenly spaced in steps

    def __post_init__(self) -> None:
        if self.steps < 2 or self.evals < 1 or self.eval_examples < 1:
            raise ValueError(
                f"`steps >= 2`, `evals >= 1` and `eval_examples >= 1` must hold, but got "
                f"({self.steps=}, {self.evals=}, {self.eval_examples=})"
            )
        if not 0 < self.start < self.end:
            raise ValueError(f"`0 < start < end` must hold, but got ({self.start=}, {self.end=})")


@dataclass(frozen=True)
class CalibrationArm:
    """What one range test measures: an optimizer, and for M-FAC with ``num_grads``
    searched among choices, one of them (None otherwise: the arm's fixed or centre value)."""

    kind: str
    num_grads: int | None = None

    @property
    def label(self) -> str:
        """``AdamW``, ``M-FAC m=16``."""
        entry = OPTIMIZERS.get(self.kind)
        name = self.kind if entry is None else entry.label
        return name if self.num_grads is None else f"{name} m={self.num_grads}"


@dataclass(frozen=True)
class LossPoint:
    """One training step of a range test."""

    step: int  # 1-based: the steps done
    lr: float  # the lr the step took
    loss: float | None  # its training loss (tasks summed); None: not finite
    smoothed: float | None  # the bias-corrected EMA of the losses so far; None: not finite


@dataclass(frozen=True)
class RangeEval:
    """One evaluation of a range test on its validation examples."""

    step: int
    lr: float  # the lr of the step it followed
    metric: float  # the study's metric
    loss: float  # the validation loss (tasks summed in a multitask study)
    one_class: bool  # a classifier answered one class for every example (MCC 0)


@dataclass(frozen=True)
class Failure:
    """Where a range test stopped: the first step that diverged (its smoothed loss above
    4× the least so far), was not finite, or (an evaluation) collapsed to one class."""

    kind: FailureKind
    step: int
    lr: float


@dataclass(frozen=True)
class Outcome:
    """What the rule read from a range test: the chosen range, or why there is none."""

    lr_at_min: float | None  # the lr at the least smoothed loss before any failure
    low: float | None  # the chosen range: [lr_at_min / 100, lr_at_min], below any failure
    high: float | None
    failure: Failure | None  # the first failure; None: it ran to its last step
    problem: str | None = None  # why there is no range (loss still falling, failed at once)

    @property
    def found(self) -> bool:
        return self.low is not None and self.high is not None


@dataclass(frozen=True)
class RangeTest:
    """One learning-rate range test of an arm, as it is stored."""

    arm: CalibrationArm
    settings: RangeTestSettings
    metric: str  # the study's metric, which ``evals`` measured
    num_grads: int | None  # the num_grads it ran with (M-FAC); None for other optimizers
    values: dict[str, Any]  # the searched fields it ran with: each at its centre
    curve: tuple[LossPoint, ...]
    evals: tuple[RangeEval, ...]
    outcome: Outcome
    planned: int  # steps it was to take: --steps, or one epoch of fewer
    steps: int  # optimizer steps it took (it stops at the first failure)
    seconds: float  # wall seconds, loading the model and evaluations included
    spec_id: str  # the fingerprint of the settings it ran under (hpsearch.search.drift)
    ran_with: dict[str, Any]  # those settings (for saying what changed since)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class CalibratedRange:
    """An arm's calibrated learning-rate range, for a study's space to use: for ``kind``,
    and where ``num_grads`` is not None, for that choice of ``optimizer.num_grads``."""

    kind: str
    num_grads: int | None
    low: float
    high: float

    def param(self) -> FloatRange:
        """The range as a study's space searches it: log-uniform from ``low`` to ``high``."""
        return FloatRange(self.low, self.high, log=True)


@dataclass(frozen=True)
class ArmCalibration:
    """An arm of a study and its range test: ``fresh`` (run under the study's settings now),
    ``stale`` (under others: ``changes`` says which) or ``missing``."""

    arm: CalibrationArm
    state: ArmState
    test: RangeTest | None  # the latest stored test of the arm (None: missing)
    changes: tuple[str, ...] = ()  # stale: "train.batch_size was 16, now 32"
    ran_now: bool = False  # this call ran the test


@dataclass(frozen=True)
class Calibration:
    """A study's arms and their range tests, as ``calibrate`` leaves them or a reader
    finds them."""

    study: str
    arms: tuple[ArmCalibration, ...]

    @property
    def tests(self) -> tuple[RangeTest, ...]:
        """The fresh tests, arm by arm."""
        return tuple(a.test for a in self.arms if a.state == "fresh" and a.test is not None)

    @property
    def seconds(self) -> float:
        """What the fresh tests cost, in wall seconds."""
        return math.fsum(t.seconds for t in self.tests)

    def of_kind(self, kind: str) -> tuple[ArmCalibration, ...]:
        return tuple(a for a in self.arms if a.arm.kind == kind)


def read_range_test(data: Mapping[str, Any]) -> RangeTest:
    """A :class:`RangeTest` from what :meth:`RangeTest.to_dict` wrote (JSON), validated.

    Raises:
        ValueError: a value does not fit its field.
    """
    from pydantic import ValidationError

    try:
        return _adapter().validate_python(data)
    except ValidationError as e:
        raise ValueError(f"a stored range test does not fit: {e.errors()[0]['msg']}") from None


@functools.cache
def _adapter() -> TypeAdapter[RangeTest]:
    from pydantic import TypeAdapter

    return TypeAdapter(RangeTest)
