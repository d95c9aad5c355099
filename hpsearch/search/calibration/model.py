"""A calibration's data: frozen dataclasses that the probes fill in, the storage keeps (one
trial of the companion study per probe, :mod:`~hpsearch.search.calibration.store`), and
the table, the plot, ``run`` and ``compare`` read by attribute.

Sequences are tuples; a loss that was not finite is stored as None (JSON has no NaN) and
read back as such. :func:`read_probe` reads what :meth:`Probe.to_dict` wrote.
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

# What a probe's run did, judged as the objective judges a trial: its classifier's answers
# varied and its loss stayed finite and near chance or below (learned); it answered one
# class for every validation example (one class); its regression head predicted one value
# for every example (constant); its loss was not finite, or ended over 10x chance (diverged)
Verdict = Literal["learned", "one class", "constant", "diverged"]
ArmState = Literal["fresh", "partial", "stale", "missing"]


@dataclass(frozen=True)
class ProbeSettings:
    """How a probe runs: what ``hpsearch calibrate``'s options set."""

    epochs: int = 1  # epochs of each probe; never more than the study's train.epochs
    eval_samples: int = 1000  # at most this many validation examples score a probe

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.eval_samples < 1:
            raise ValueError(
                "`epochs >= 1` and `eval_samples >= 1` must hold, but got "
                f"({self.epochs=}, {self.eval_samples=})"
            )


@dataclass(frozen=True)
class CalibrationArm:
    """What one ladder of probes measures: an optimizer, and for M-FAC with ``num_grads``
    searched among choices, one of them; where the study searches ``finetune.mode`` among
    choices, one of those too (None otherwise: the arm's fixed or centre value). A probe
    stored before arms had a mode reads with ``mode`` None."""

    kind: str
    num_grads: int | None = None
    mode: str | None = None

    @property
    def label(self) -> str:
        """``AdamW``, ``M-FAC m=16``, ``AdamW frozen``, ``M-FAC m=16 lora``."""
        entry = OPTIMIZERS.get(self.kind)
        name = self.kind if entry is None else entry.label
        return " ".join([name, *self.detail])

    @property
    def detail(self) -> tuple[str, ...]:
        """What sets it apart from the other arms of its kind (:func:`arm_detail`)."""
        return arm_detail(self.num_grads, self.mode)


def arm_detail(num_grads: int | None, mode: str | None) -> tuple[str, ...]:
    """What sets an arm apart from the others of its kind, as labels show it:
    ``("m=16", "lora")``, ``("frozen",)``, ``()``."""
    m = () if num_grads is None else (f"m={num_grads}",)
    return m + (() if mode is None else (mode,))


@dataclass(frozen=True)
class Probe:
    """One run of an arm's centre spec at one fixed learning rate, as it is stored."""

    arm: CalibrationArm
    lr: float  # a point of the half-decade grid (hpsearch.search.calibration.rule)
    settings: ProbeSettings
    verdict: Verdict
    metric_name: str  # the study's metric
    metric: float | None  # the study's metric at the evaluation a trial reports
    loss: float | None  # its validation loss (tasks summed); None: not finite
    why: str | None  # the objective's line for one class or diverged; None: learned
    num_grads: int | None  # the num_grads it ran with (M-FAC); None for other optimizers
    values: dict[str, Any]  # the searched fields it ran with: each at its centre
    steps: int  # optimizer steps it took
    seconds: float  # wall seconds, loading the model and the evaluation included
    spec_id: str  # the fingerprint of the settings it ran under (hpsearch.search.drift)
    ran_with: dict[str, Any]  # those settings (for saying what changed since)

    @property
    def learned(self) -> bool:
        return self.verdict == "learned"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Outcome:
    """What the rule reads from an arm's ladder: the chosen range, or why there is none."""

    low: float | None  # the chosen range (see hpsearch.search.calibration.rule)
    high: float | None
    best_lr: float | None  # the learned probe with the best metric
    best_metric: float | None
    problem: str | None = None  # why there is no range: no probe learned

    @property
    def found(self) -> bool:
        return self.low is not None and self.high is not None


@dataclass(frozen=True)
class CalibratedRange:
    """An arm's calibrated learning-rate range, for a study's space to use: for ``kind``,
    where ``num_grads`` is not None for that choice of ``optimizer.num_grads``, and where
    ``mode`` is not None for that choice of ``finetune.mode``."""

    kind: str
    num_grads: int | None
    low: float
    high: float
    best: float | None = None  # the lr of its best learned probe, inside [low, high]
    mode: str | None = None

    def param(self) -> FloatRange:
        """The range as a study's space searches it: log-uniform from ``low`` to ``high``."""
        return FloatRange(self.low, self.high, log=True)


@dataclass(frozen=True)
class ArmCalibration:
    """An arm of a study and its ladder: ``fresh`` (walked to its end, every probe run
    under the study's settings now), ``partial`` (some of those probes, not the whole
    walk: an interrupted calibration), ``stale`` (probes under other settings only:
    ``changes`` says which) or ``missing``."""

    arm: CalibrationArm
    state: ArmState
    # fresh or partial: the probes of the walk, in the order it took them; stale: the
    # latest settings' probes; missing: none
    probes: tuple[Probe, ...] = ()
    outcome: Outcome | None = None  # fresh only: the chosen range
    changes: tuple[str, ...] = ()  # stale: "train.batch_size was 16, now 32"
    ran_now: int = 0  # probes this call ran

    @property
    def seconds(self) -> float:
        return math.fsum(p.seconds for p in self.probes)

    @property
    def steps(self) -> int:
        return sum(p.steps for p in self.probes)


@dataclass(frozen=True)
class Calibration:
    """A study's arms and their ladders, as ``calibrate`` leaves them or a reader finds
    them."""

    study: str
    arms: tuple[ArmCalibration, ...]

    @property
    def fresh(self) -> tuple[ArmCalibration, ...]:
        """The arms whose ladder is whole under the study's settings now."""
        return tuple(a for a in self.arms if a.state == "fresh")

    @property
    def probes(self) -> tuple[Probe, ...]:
        """The fresh arms' probes, arm by arm."""
        return tuple(p for a in self.fresh for p in a.probes)

    @property
    def seconds(self) -> float:
        """What the fresh arms' probes cost, in wall seconds."""
        return math.fsum(a.seconds for a in self.fresh)

    @property
    def steps(self) -> int:
        """What the fresh arms' probes cost, in optimizer steps."""
        return sum(a.steps for a in self.fresh)

    def of_kind(self, kind: str) -> tuple[ArmCalibration, ...]:
        return tuple(a for a in self.arms if a.arm.kind == kind)


def read_probe(data: Mapping[str, Any]) -> Probe:
    """A :class:`Probe` from what :meth:`Probe.to_dict` wrote (JSON), validated.

    Raises:
        ValueError: a value does not fit its field.
    """
    from pydantic import ValidationError

    try:
        return _adapter().validate_python(data)
    except ValidationError as e:
        raise ValueError(f"a stored probe does not fit: {e.errors()[0]['msg']}") from None


@functools.cache
def _adapter() -> TypeAdapter[Probe]:
    from pydantic import TypeAdapter

    return TypeAdapter(Probe)
