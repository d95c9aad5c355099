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

    [space.by_kind.mfac.train]                      # M-FAC trials' own lr range
    lr = { low = 1e-3, high = 1e-1, log = true }

A field that is not in the space keeps the fixed value of its section. Optuna parameter names
are the dotted ``section.field`` (``train.lr``), so enqueued trials use the same names.
Some fields are conditional: an optimizer hyperparameter is suggested only when the trial's
optimizer takes it, and a field of ``hpsearch.spec.schema.APPLIES_WHEN`` only when it applies
(``train.cut_frac`` for a slanted triangular schedule, ``finetune.adapter_size`` for
adapters).

An entry may hold only for some trials: a :class:`ConditionalParam` applies to the trials
whose earlier-suggested categorical fields have given values (``[space.by_kind.KIND]`` in a
study file: ``optimizer.kind``). It has an Optuna parameter name of its own,
``train.lr|optimizer.kind=mfac`` (:func:`param_name`), so that TPE models each kind's values
in that kind's range alone; :func:`field_of` maps any parameter name back to its field, and
:func:`field_params` a trial's params to field values, wherever params become a spec.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import optuna  # only for annotations: the spec layer is imported by data and train

SEARCHABLE_SECTIONS = ("train", "finetune", "multitask", "optimizer", "model")
KIND = "optimizer.kind"
BY_KIND = "by_kind"  # [space.by_kind.KIND.SECTION]: entries for the trials of one kind
# [space.train] lr = "calibrated": the range each arm's probes measured (hpsearch
# calibrate; docs/search.md), which `run` fills in per kind and num_grads before any trial
CALIBRATED = "calibrated"
CALIBRATED_FIELDS = ("train.lr",)


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


def contains(param: Param, value: Any) -> bool:
    """Whether ``value`` is one that ``param`` can suggest (a choice, or within the range)."""
    if isinstance(param, Categorical):
        return any(_same(value, c) for c in param.choices)
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(param, IntRange) and not isinstance(value, int):
        return False
    return number and param.low <= value <= param.high


def value_text(value: Any) -> str:
    """A searched value as tables show it: ``0.0003``, ``16``, ``adamw``."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def param_text(param: Param) -> str:
    """``3e-05 – 0.003 (log)``, ``16, 32, 64``."""
    if isinstance(param, Categorical):
        return ", ".join(value_text(c) for c in param.choices)
    text = f"{value_text(param.low)} – {value_text(param.high)}"
    if param.log:
        text += " (log)"
    if isinstance(param, FloatRange) and param.step is not None:
        text += f" step {value_text(param.step)}"
    if isinstance(param, IntRange) and param.step != 1:
        text += f" step {param.step}"
    return text


# ---- entries for some trials only --------------------------------------------------------

# Between a field and each condition in an Optuna parameter name: "train.lr|optimizer.kind=mfac".
CONDITION_SEP = "|"
# The (field, value) pairs that a conditional entry asks of a trial, in the order they are
# checked: fields suggested before the entry's own.
Condition = tuple[tuple[str, Scalar], ...]


def _condition_value(value: Scalar) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def param_name(field: str, when: Condition = ()) -> str:
    """The Optuna parameter name of ``field``'s entry for the trials that meet ``when``:
    ``train.lr``, ``train.lr|optimizer.kind=mfac``,
    ``train.lr|optimizer.kind=mfac|optimizer.num_grads=16``."""
    return "".join([field, *(f"{CONDITION_SEP}{f}={_condition_value(v)}" for f, v in when)])


def field_of(name: str) -> str:
    """The field an Optuna parameter name sets: ``train.lr|optimizer.kind=mfac`` -> ``train.lr``.

    The one mapping from parameter names to fields: every reader of ``trial.params`` that
    fills a spec, labels a column or compares spaces goes through it (or :func:`field_params`).
    """
    return name.partition(CONDITION_SEP)[0]


V = TypeVar("V")


def field_params(params: Mapping[str, V]) -> dict[str, V]:
    """A trial's params by field (``{"train.lr": 3e-3, ...}``), whatever entry suggested them.

    A trial asks each field from one entry only, so no two names map to one field.
    """
    return {field_of(name): value for name, value in params.items()}


def space_key(name: str) -> str:
    """How a study file names the entry of Optuna parameter ``name``:
    ``space.by_kind.mfac.train.lr`` for an entry of one optimizer kind, ``space.train.lr``
    for a shared one, ``space.<name>`` for an entry made in code on other conditions."""
    field, *conditions = name.split(CONDITION_SEP)
    if len(conditions) == 1 and conditions[0].startswith(f"{KIND}="):
        return f"space.{BY_KIND}.{conditions[0].partition('=')[2]}.{field}"
    return f"space.{name}"


@dataclass(frozen=True)
class ConditionalParam:
    """How ``field`` is searched in the trials whose earlier fields have the values ``when``.

    Each field of ``when`` is searched as choices ( ``optimizer.kind``, ``optimizer.num_grads``)
    and is suggested before ``field``. Where several entries of a field hold for a trial, the
    one with the most conditions wins (validation refuses two that tie); where none holds, the
    field's shared entry (``spec.space``) applies, or, without one, its fixed value.

    Example: M-FAC trials search their lr in ``1e-3 … 1e-1``, and at 16 gradients in
    ``1e-3 … 3e-2``::

        mfac = ("optimizer.kind", "mfac")
        ConditionalParam("train.lr", (mfac,), FloatRange(1e-3, 1e-1, log=True))
        ConditionalParam(
            "train.lr",
            (mfac, ("optimizer.num_grads", 16)),
            FloatRange(1e-3, 3e-2, log=True),
        )

    :func:`hpsearch.spec.validate.with_conditional_ranges` adds such entries to a spec.
    """

    field: str  # "section.field"
    when: Condition
    param: Param

    @property
    def name(self) -> str:
        """Its Optuna parameter name (:func:`param_name`)."""
        return param_name(self.field, self.when)

    @property
    def key(self) -> str:
        """How a study file names it (:func:`space_key`)."""
        return space_key(self.name)

    def matches(self, values: Mapping[str, Any]) -> bool:
        """Whether a trial whose fields so far are ``values`` meets every condition."""
        return all(f in values and _same(values[f], v) for f, v in self.when)

    def rules_out(self, values: Mapping[str, Any]) -> bool:
        """Whether ``values`` contradict a condition (a field given another value)."""
        return any(f in values and not _same(values[f], v) for f, v in self.when)


def _same(a: Any, b: Any) -> bool:
    """Equal, and a bool only to a bool (``True == 1`` in Python, not in a study file)."""
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def select(
    field: str,
    shared: Param | None,
    conditional: tuple[ConditionalParam, ...],
    values: Mapping[str, Any],
) -> tuple[str, Param] | None:
    """The Optuna name and entry that suggest ``field`` in a trial whose fields so far are
    ``values``: the matching conditional entry with the most conditions, else ``shared``;
    None when neither applies (the field keeps its fixed value)."""
    matching = [c for c in conditional if c.field == field and c.matches(values)]
    if matching:
        # The most conditions wins; validation refuses ties.
        best = max(matching, key=lambda c: len(c.when))
        return best.name, best.param
    return None if shared is None else (field, shared)
