"""A study's calibration arms, and the spec each arm's range test trains with.

The arms are the optimizers a study's trials train with (``Spec.optimizer_kinds``: each
choice of a searched ``optimizer.kind``, else the fixed kind), and for M-FAC whose
``optimizer.num_grads`` is searched among choices, each choice on its own: M-FAC's step on
the newest gradient is about lr · m · g / |g|², so the usable lr moves with m. A
``num_grads`` searched as a range gets one test at its centre.

Every other searched field is at its centre (:class:`_Centre`): a float range at its
middle (geometric on a log scale), an int range at its rounded middle, a choice at the study
file's fixed value when that is among the choices, else the middle choice. The centres come
through :func:`hpsearch.spec.suggest.suggest`, the one mapping from a space to values, so a
field is set only where a trial would set it (an optimizer's own hyperparameters, the
fields that apply).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from hpsearch.optim import get_optimizer
from hpsearch.search.calibration.model import CalibrationArm, RangeTestSettings
from hpsearch.search.drift import fingerprint, trial_settings
from hpsearch.spec.schema import Spec, TrainSpec
from hpsearch.spec.space import Categorical, Scalar
from hpsearch.spec.suggest import suggest

KIND = "optimizer.kind"
NUM_GRADS = "optimizer.num_grads"
LR = "train.lr"
RAMP = "exponential"  # the schedule of hpsearch.schedules that a range test takes


def calibration_arms(spec: Spec) -> tuple[CalibrationArm, ...]:
    """The arms of ``spec``, in the order of its optimizer kinds (see the module)."""
    per_choice = spec.space.get(NUM_GRADS)
    arms = []
    for kind in spec.optimizer_kinds:
        if isinstance(per_choice, Categorical) and "num_grads" in get_optimizer(kind).hparams:
            arms += [CalibrationArm(kind, int(m)) for m in per_choice.choices]
        else:
            arms.append(CalibrationArm(kind))
    return tuple(arms)


def centre_values(spec: Spec, arm: CalibrationArm) -> dict[str, Scalar]:
    """The searched fields of ``spec`` as ``arm``'s range test sets them: its kind (and
    num_grads), every other field at its centre."""
    fixed: dict[str, Scalar] = {KIND: arm.kind}
    if arm.num_grads is not None:
        fixed[NUM_GRADS] = arm.num_grads
    return suggest(_Centre(spec, arm.kind, fixed), spec)  # type: ignore[arg-type]


def range_test_spec(spec: Spec, arm: CalibrationArm, settings: RangeTestSettings) -> Spec:
    """What ``arm``'s range test trains with: ``spec`` at the arm's centre, searching
    nothing (no entry, shared or of some trials), one epoch whose lr grows from
    ``settings.start`` to ``settings.end`` by the exponential ramp of the schedule
    registry, ``settings.evals`` evaluations in it. The
    schedules' other options, the multitask ensemble and the lr are the range test's own
    (the ramp sets the lr), so the study's values of them do not count as its settings."""
    defaults = TrainSpec.model_fields
    ramp = {
        LR: settings.end,
        "train.schedule": RAMP,
        "train.ratio": settings.end / settings.start,
        "train.warmup_ratio": defaults["warmup_ratio"].default,
        "train.cut_frac": defaults["cut_frac"].default,
        "train.epochs": 1,
        "train.evals_per_epoch": settings.evals,
        "multitask.ensemble": False,
    }
    centred = spec.with_params(centre_values(spec, arm)).with_params(ramp)
    return centred.model_copy(update={"space": {}, "space_when": (), "calibrated": ()})


def range_test_id(ranged: Spec, settings: RangeTestSettings) -> str:
    """The fingerprint of a range test: the settings its spec trains with (``ranged``,
    :func:`range_test_spec`) and the test's own."""
    return fingerprint({**trial_settings(ranged), "range_test": dataclasses.asdict(settings)})


class _Centre:
    """Stands in for an ``optuna.Trial`` in :func:`suggest`: answers every ``suggest_*``
    with the centre of what it is asked (see the module), or with ``fixed``'s value."""

    def __init__(self, spec: Spec, kind: str, fixed: dict[str, Scalar]) -> None:
        self.spec = spec
        self.kind = kind
        self.fixed = fixed

    def suggest_float(
        self, name: str, low: float, high: float, *, log: bool = False, step: float | None = None
    ) -> float:
        if name in self.fixed:
            return float(self.fixed[name])
        return _on_grid(_middle(low, high, log), low, step)

    def suggest_int(
        self, name: str, low: int, high: int, *, log: bool = False, step: int = 1
    ) -> int:
        if name in self.fixed:
            return int(self.fixed[name])
        return round(_on_grid(_middle(low, high, log), low, step))

    def suggest_categorical(self, name: str, choices: Sequence[Scalar]) -> Scalar:
        if name in self.fixed:
            return self.fixed[name]
        own = self._fixed_value(name)
        if any(own == c and type(own) is type(c) for c in choices):
            return own
        return choices[len(choices) // 2]

    def _fixed_value(self, name: str) -> Any:
        """The study file's value of ``name``: an optimizer's hyperparameter as the
        ``[optimizer]`` section sets it for this kind, else the registry's default."""
        section, field = name.split(".", 1)
        if section != "optimizer":
            return self.spec.value(name)
        own = self.spec.optimizer.hparams if self.spec.optimizer.kind == self.kind else {}
        return own.get(field, get_optimizer(self.kind).hparams.get(field))


def _middle(low: float, high: float, log: bool) -> float:
    return math.sqrt(low * high) if log else (low + high) / 2


def _on_grid(value: float, low: float, step: float | None) -> float:
    """``value`` moved to the nearest point ``low + k · step`` (unchanged without a step)."""
    return value if step is None else low + round((value - low) / step) * step
