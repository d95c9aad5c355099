"""A study's calibration arms, and the spec each arm's probes train with.

The arms are the optimizers a study's trials train with (``Spec.optimizer_kinds``: each
choice of a searched ``optimizer.kind``, else the fixed kind), and for M-FAC whose
``optimizer.num_grads`` is searched among choices, each choice on its own: M-FAC's step on
the newest gradient is about lr · m · g / |g|², so the usable lr moves with m. A
``num_grads`` searched as a range gets one ladder at its centre. Where the study searches
``finetune.mode`` among choices, each of those arms is one per mode as well: what trains
sets the lr's scale (on SST-2, AdamW's best lr is 10 times higher with a frozen encoder,
adapters or LoRA than in full finetuning, M-FAC's 10 times lower), so a range measured at
one mode would be unfair to the others. The arms multiply: kinds × num_grads choices ×
modes.

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
from typing import Any, TypeVar

from hpsearch.optim import get_optimizer
from hpsearch.search.calibration.model import CalibrationArm, ProbeSettings
from hpsearch.search.drift import fingerprint, trial_settings
from hpsearch.spec.schema import Spec, TaskEntry, TaskSpec
from hpsearch.spec.space import Categorical, Scalar
from hpsearch.spec.suggest import suggest

_Task = TypeVar("_Task", TaskSpec, TaskEntry)

KIND = "optimizer.kind"
NUM_GRADS = "optimizer.num_grads"
MODE = "finetune.mode"
LR = "train.lr"


def calibration_arms(spec: Spec) -> tuple[CalibrationArm, ...]:
    """The arms of ``spec``, in the order of its optimizer kinds, then num_grads choices,
    then finetune modes (see the module)."""
    per_choice, per_mode = spec.space.get(NUM_GRADS), spec.space.get(MODE)
    modes: tuple[str | None, ...] = (None,)
    if isinstance(per_mode, Categorical):
        modes = tuple(str(mode) for mode in per_mode.choices)
    arms = []
    for kind in spec.optimizer_kinds:
        grads: tuple[int | None, ...] = (None,)
        if isinstance(per_choice, Categorical) and "num_grads" in get_optimizer(kind).hparams:
            grads = tuple(int(m) for m in per_choice.choices)
        arms += [CalibrationArm(kind, m, mode) for m in grads for mode in modes]
    return tuple(arms)


def by_mode(spec: Spec) -> bool:
    """Whether ``spec``'s arms are one per finetune mode: it searches ``finetune.mode``
    among choices."""
    return isinstance(spec.space.get(MODE), Categorical)


def centre_values(spec: Spec, arm: CalibrationArm) -> dict[str, Scalar]:
    """The searched fields of ``spec`` as ``arm``'s probes set them: its kind (num_grads,
    mode), every other field at its centre (the lr too; each probe sets its own)."""
    fixed: dict[str, Scalar] = {KIND: arm.kind}
    if arm.num_grads is not None:
        fixed[NUM_GRADS] = arm.num_grads
    if arm.mode is not None:
        fixed[MODE] = arm.mode
    return suggest(_Centre(spec, arm.kind, fixed), spec)  # type: ignore[arg-type]


def probe_spec(spec: Spec, arm: CalibrationArm, settings: ProbeSettings, lr: float) -> Spec:
    """What ``arm``'s probe at ``lr`` trains with: ``spec`` at the arm's centre, searching
    nothing (no entry, shared or of some trials), at learning rate ``lr`` with the study's
    own schedule, for ``settings.epochs`` epochs (never more than the study's), evaluated
    once at its end on at most ``settings.eval_samples`` validation examples (the study's
    seeded subset). A multitask study's probes train jointly, without the per-task
    ensemble: the lr is joint training's."""
    centred = spec.with_params(centre_values(spec, arm))
    own = {
        LR: lr,
        "train.epochs": min(settings.epochs, centred.train.epochs),
        "train.evals_per_epoch": 1,
        "multitask.ensemble": False,
    }
    probed = centred.with_params(own)
    n = settings.eval_samples
    update: dict[str, Any] = {"space": {}, "space_when": (), "calibrated": ()}
    if probed.is_multitask:
        update["tasks"] = tuple(_at_most(t, n) for t in probed.tasks)
    else:
        update["task"] = _at_most(probed.task, n)
    return probed.model_copy(update=update)


def _at_most(task: _Task, n: int) -> _Task:
    """``task`` scoring at most ``n`` validation examples (its own seeded subset)."""
    limit = task.max_eval_samples
    return task.model_copy(update={"max_eval_samples": n if limit is None else min(limit, n)})


def probe_id(probed: Spec, settings: ProbeSettings) -> str:
    """The fingerprint of a probe: the settings its spec trains with (``probed``,
    :func:`probe_spec`), its lr among them, and the probe's own."""
    return fingerprint({**trial_settings(probed), "probe": dataclasses.asdict(settings)})


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
