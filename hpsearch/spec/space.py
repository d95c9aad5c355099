"""The search space: which fields a study searches, as ranges and choices.

Each entry asks the trial for a value; :mod:`hpsearch.spec.suggest` decides which to ask.

A study file's ``[space]`` holds one table per section (``train``, ``finetune``,
``multitask``, ``optimizer``, ``model``); each key names a field of that section and says how
to search it:

.. code-block:: toml

    [space.train]
    lr = { low = 1e-5, high = 1e-3, log = true }   # float range (log or linear, optional step)
    epochs = { low = 1, high = 5 }                  # int range, because train.epochs is an int
    batch_size = { choices = [16, 32, 64] }         # categorical

    [space.optimizer]
    kind = { choices = ["adamw", "mfac"] }
    num_grads = { choices = [64, 256, 1024] }       # only suggested when kind is mfac

A field that is not in the space keeps the fixed value of its section. Optuna parameter names
are the dotted ``section.field`` (``train.lr``), so enqueued trials use the same names.
Some fields are conditional: an optimizer hyperparameter is suggested only when the trial's
optimizer takes it, and a field of ``hpsearch.spec.schema.APPLIES_WHEN`` only when it applies
(``train.cut_frac`` for a slanted triangular schedule, ``finetune.adapter_size`` for
adapters).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna  # only for annotations: the spec layer is imported by data and train

SEARCHABLE_SECTIONS = ("train", "finetune", "multitask", "optimizer", "model")


Scalar = int | float | str | bool


@dataclass(frozen=True)
class FloatRange:
    low: float
    high: float
    log: bool = False
    step: float | None = None

    def suggest(self, trial: optuna.Trial, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, log=self.log, step=self.step)

    def distribution(self) -> optuna.distributions.FloatDistribution:
        """What :meth:`suggest` records in the trial (to check a stored trial against)."""
        from optuna.distributions import FloatDistribution

        return FloatDistribution(self.low, self.high, log=self.log, step=self.step)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"low": self.low, "high": self.high, "log": self.log}
        return d if self.step is None else {**d, "step": self.step}


@dataclass(frozen=True)
class IntRange:
    low: int
    high: int
    log: bool = False
    step: int = 1

    def suggest(self, trial: optuna.Trial, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high, log=self.log, step=self.step)

    def distribution(self) -> optuna.distributions.IntDistribution:
        from optuna.distributions import IntDistribution

        return IntDistribution(self.low, self.high, log=self.log, step=self.step)

    def to_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "log": self.log, "step": self.step}


@dataclass(frozen=True)
class Categorical:
    choices: tuple[Scalar, ...]

    def suggest(self, trial: optuna.Trial, name: str) -> Scalar:
        return trial.suggest_categorical(name, self.choices)

    def distribution(self) -> optuna.distributions.CategoricalDistribution:
        from optuna.distributions import CategoricalDistribution

        return CategoricalDistribution(self.choices)

    def to_dict(self) -> dict[str, Any]:
        return {"choices": list(self.choices)}


Param = FloatRange | IntRange | Categorical


def parse_param(raw: Any, value_type: type) -> Param:
    """One ``[space]`` entry, for a field whose values have ``value_type``.

    Raises:
        ValueError: with a message that states the rule and the value; the caller adds the
            file and key.
    """
    if not isinstance(raw, Mapping):
        raise ValueError(
            f"expected a table such as {{ low = 1e-5, high = 1e-3, log = true }} or "
            f"{{ choices = [...] }}, got {raw!r}"
        )
    if "choices" in raw:
        extra = set(raw) - {"choices"}
        if extra:
            raise ValueError(f"a `choices` table takes no other keys, got {sorted(extra)}")
        choices = raw["choices"]
        if not isinstance(choices, list) or not choices:
            raise ValueError(f"`choices` must be a non-empty list, got {choices!r}")
        if len(set(map(repr, choices))) != len(choices):
            raise ValueError(f"`choices` has duplicates: {choices!r}")
        return Categorical(tuple(choices))
    extra = set(raw) - {"low", "high", "log", "step"}
    if extra or not {"low", "high"} <= set(raw):
        raise ValueError(
            f"a range takes `low`, `high` and optionally `log` and `step`, got keys {sorted(raw)}"
        )
    low, high, log, step = raw["low"], raw["high"], raw.get("log", False), raw.get("step")
    if not isinstance(log, bool):
        raise ValueError(f"`log` must be true or false, got {log!r}")
    if value_type is int:
        for key, v in (("low", low), ("high", high), ("step", step)):
            if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
                raise ValueError(f"`{key}` must be an integer for this field, got {v!r}")
    elif value_type is float:
        for key, v in (("low", low), ("high", high), ("step", step)):
            if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool)):
                raise ValueError(f"`{key}` must be a number, got {v!r}")
    else:
        raise ValueError(
            f"a {value_type.__name__} field cannot take a range; use {{ choices = [...] }}"
        )
    if low > high:
        raise ValueError(f"`low <= high` must hold, but got (low={low}, high={high})")
    if low == high:
        raise ValueError(
            f"the range is empty (low = high = {low}); fix the value in its section instead"
        )
    if log and low <= 0:
        raise ValueError(f"a log range needs `low > 0`, but got low={low}")
    if log and step is not None:
        raise ValueError("`log` and `step` cannot be combined")
    if step is not None and step <= 0:
        raise ValueError(f"`step > 0` must hold, but got step={step}")
    if value_type is int:
        return IntRange(low, high, log, 1 if step is None else step)
    return FloatRange(float(low), float(high), log, None if step is None else float(step))


def candidate_values(param: Param) -> tuple[Scalar, ...]:
    """The values to validate a param with: every choice, or both ends of a range."""
    if isinstance(param, Categorical):
        return param.choices
    return (param.low, param.high)
