"""The trial record: what a trial keeps in its Optuna user attrs, as typed data, with its one
writer and its one reader side by side; and the readings built on it (a finished re-run,
a trial's evaluations of a metric, which finished trials are best).

Each field of :class:`TrialRecord` is the user attr of its name, as JSON; the fields of its
``cost`` (:class:`RunCost`) are attrs of their own names too, and an :class:`Evaluation` is
one entry of the ``evals`` list. :func:`write_record` is how hpsearch writes them: the
objective (the settings' fingerprint first, each evaluation as it happens, the result at
the end), the trial loop (why a trial failed, whose re-run a retry is) and the heartbeat
sweep (why a silent trial was failed). :func:`read_record` is how everything reads them.

None is an attr the trial does not hold: the writer leaves it alone, and the reader gives
None for one that a trial does not hold yet (a running trial has no ``metrics``) or never
held (a trial written before hpsearch recorded it; an evaluation's missing entries too).

Attrs of other mechanisms stay with their owners: the heartbeat (a system attr,
:mod:`hpsearch.search.liveness`), a re-run's origin (:mod:`hpsearch.search.reseed`), and
the study attrs: the spec and the settings of each fingerprint (:mod:`hpsearch.search.drift`),
the study file (:mod:`hpsearch.search.study`), the dashboard note (optuna-dashboard's).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, is_dataclass
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar, get_args, get_type_hints

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpsearch.metrics import evaluation_rank, one_class_tasks

if TYPE_CHECKING:
    from hpsearch.train.trainer import EvalRecord  # only a type: the trainer imports torch


class _NullIsNaN:
    """pydantic metadata: JSON null reads back as NaN. The report files write NaN (a
    diverged run) and ±inf as null, which a plain float would refuse."""

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        # pydantic-core is imported when a file is read, not with this module (the leaderboard
        # and every command that reads a trial import it).
        from pydantic_core import core_schema

        return core_schema.no_info_before_validator_function(
            lambda value: math.nan if value is None else value, handler(source)
        )


# A float of the report files' data: a float to Python and type checkers; null in a file
# reads back as NaN (hpsearch.compare.model.from_dict). Where None means "not measured",
# fields are `float | None` instead, and null reads back as None.
JsonFloat = Annotated[float, _NullIsNaN()]


@dataclass(frozen=True)
class Evaluation:
    """One evaluation on the validation split, as an entry of a trial's ``evals`` (the
    trainer's :class:`~hpsearch.train.trainer.EvalRecord`); None: an entry without it."""

    index: int | None = None  # 0-based evaluation number: the step reported to Optuna
    epoch: float | None = None  # epochs done, fractional
    step: int | None = None  # optimizer steps done
    metrics: dict[str, float] | None = None
    train_loss: float | None = None  # mean training loss since the previous evaluation
    samples_per_s: float | None = None  # training throughput so far
    elapsed: float | None = None  # wall seconds since training started
    train_seconds: float | None = None  # training seconds so far, evaluations excluded
    trainable_params: int | None = None  # trained in the last step
    # What it is worth to Optuna where a classifier answered one class: the study's metric
    # with that task's at chance (search.chance); None: its metric as measured
    value_at_chance: float | None = None

    @classmethod
    def of(cls, record: EvalRecord, value_at_chance: float | None = None) -> Evaluation:
        """The entry of the trainer's ``record``, with what it is worth at chance."""
        return cls(**record.to_dict(), value_at_chance=value_at_chance)

    def value(self, metric: str) -> float:
        """What this evaluation of ``metric`` is worth to Optuna: at chance where it
        answered one class (recorded since), else as measured."""
        assert self.metrics is not None
        return self.metrics[metric] if self.value_at_chance is None else self.value_at_chance


@dataclass(frozen=True)
class RunCost:
    """What a run cost; None where the run did not record it. In a trial, each field is an
    attr of its own; the objective writes them all at once (null where not measured)."""

    steps: int | None
    train_seconds: float | None  # evaluations excluded
    seconds_per_step: float | None
    samples_per_s: float | None
    wall_time: float | None  # seconds, evaluations and set-up included
    optimizer_state_bytes: int | None  # what the optimizer kept between steps, at the end
    peak_memory_bytes: int | None
    peak_memory: str | None  # what peak_memory_bytes measures
    device: str | None
    # What train.precision resolved to (fp32, bf16, fp16); None: a run from before it was kept
    precision: str | None = None
    # torch's CPU thread count, which CPU seconds depend on; None: not recorded
    threads: int | None = None


NO_COST = RunCost(None, None, None, None, None, None, None, None, None)
NOT_RECORDED = "not recorded"  # a run from before hpsearch kept its device and precision


@dataclass(frozen=True)
class TrialRecord:
    """What a trial keeps in its user attrs; None: the trial does not hold it (see this
    module). Written in this order: ``spec_id`` when it starts, ``evals`` and
    ``epochs_done`` at each evaluation, a complete trial's result from ``metrics`` to
    ``value_at_chance``; ``fail_reason`` when it fails, the ``retry_`` fields (with an empty
    ``fail_reason``, ``evals`` and ``epochs_done``) when it starts as the retry of another."""

    spec_id: str | None = None  # the fingerprint of its fixed settings (search.drift)
    evals: tuple[Evaluation, ...] | None = None  # every evaluation so far, in order
    epochs_done: float | None = None  # at the last evaluation
    # The metrics of what the trial made: its best evaluation's, or for a multitask trial
    # with an ensemble, the ensemble's. The trial's value is among them.
    metrics: dict[str, float] | None = None
    best_eval: int | None = None  # the index of the best evaluation
    num_params: int | None = None  # all of the model's, adapters or LoRA included
    trainable_params: int | None = None  # trained at the end
    cost: RunCost | None = None  # stored as an attr per field of its own
    joint_metrics: dict[str, float] | None = None  # a multitask model's, at its best evaluation
    # multitask.ensemble: the ensemble's metrics; each task's copy's best evaluation (its
    # index) and evaluations; the seconds the ensemble took
    ensemble_metrics: dict[str, float] | None = None
    ensemble_best_eval: dict[str, int] | None = None
    ensemble_evals: dict[str, tuple[Evaluation, ...]] | None = None
    ensemble_wall_time: float | None = None
    diverged: str | None = None  # why its validation loss says it diverged (search.divergence)
    # Why its classifier learned nothing: one class predicted for every validation example
    # (hpsearch.search.divergence.one_class)
    one_class: str | None = None
    # The value Optuna was given where a classifier answered one class at the evaluation
    # the trial reports: the study's metric with that task's at chance (search.chance), while
    # ``metrics`` keep what was measured. None: the value is the measured metric.
    value_at_chance: float | None = None
    fail_reason: str | None = None  # "" in a retry, until it fails too
    retry_of: int | None = None  # the number of the trial it re-runs (that went silent)
    retry_reason: str | None = None  # that trial's fail_reason


# ---- the writer and the reader ---------------------------------------------------------------


@dataclass(frozen=True)
class _Codec:
    """How a field of a type is stored: ``read`` turns the stored JSON into the type,
    ``write`` the type into JSON."""

    read: Callable[[Any], Any]
    write: Callable[[Any], Any] = lambda value: value


def _evals(stored: Sequence[Mapping[str, Any]]) -> tuple[Evaluation, ...]:
    return tuple(_read(Evaluation, e) for e in stored)


def _evals_stored(evals: Sequence[Evaluation]) -> list[dict[str, Any]]:
    return [_write(e) for e in evals]


# By the type of a field (without its None). A field whose type is a dataclass (RunCost) is
# stored as an attr per field of its own.
_CODECS: dict[Any, _Codec] = {
    str: _Codec(lambda value: value),
    int: _Codec(int),
    float: _Codec(float),
    dict[str, float]: _Codec(lambda d: {k: float(v) for k, v in d.items()}, dict),
    dict[str, int]: _Codec(lambda d: {k: int(v) for k, v in d.items()}, dict),
    tuple[Evaluation, ...]: _Codec(_evals, _evals_stored),
    dict[str, tuple[Evaluation, ...]]: _Codec(
        lambda d: {k: _evals(v) for k, v in d.items()},
        lambda d: {k: _evals_stored(v) for k, v in d.items()},
    ),
}


@functools.cache
def _stored_as(cls: type) -> tuple[tuple[str, Any], ...]:
    """Each field of record dataclass ``cls``: its name (the attr's, or the evaluation
    entry's, key) and its type without None."""
    hints = get_type_hints(cls)
    return tuple(
        (f.name, next(a for a in get_args(hints[f.name]) if a is not type(None)))
        for f in fields(cls)
    )


T = TypeVar("T")


def _read(cls: type[T], attrs: Mapping[str, Any]) -> T:
    """``cls`` from the attrs that hold its fields: None for each one missing or null, and
    for a dataclass field whose fields are all missing."""
    values: dict[str, Any] = {}
    for name, kind in _stored_as(cls):
        if is_dataclass(kind):
            held = any(key in attrs for key, _ in _stored_as(kind))
            values[name] = _read(kind, attrs) if held else None
        else:
            stored = attrs.get(name)
            values[name] = None if stored is None else _CODECS[kind].read(stored)
    return cls(**values)


def _write(record: Any, *, nulls: bool = False) -> dict[str, Any]:
    """The attrs that hold ``record``'s fields, in field order. A None field is left out, or
    with ``nulls`` stored as null; a dataclass field is stored whole, its None fields null."""
    attrs: dict[str, Any] = {}
    for name, kind in _stored_as(type(record)):
        value = getattr(record, name)
        if value is None:
            if nulls:
                attrs[name] = None
        elif is_dataclass(kind):
            attrs.update(_write(value, nulls=True))
        else:
            attrs[name] = _CODECS[kind].write(value)
    return attrs


class AttrTarget(Protocol):
    """Where :func:`write_record` writes: an ``optuna.Trial``, or a :class:`StoredTrial`."""

    def set_user_attr(self, key: str, value: Any) -> None: ...


@dataclass(frozen=True)
class StoredTrial:
    """A trial written through its storage: one this process did not ask for (the sweep of
    another worker's silent trial)."""

    storage: optuna.storages.BaseStorage
    trial_id: int

    def set_user_attr(self, key: str, value: Any) -> None:
        self.storage.set_trial_user_attr(self.trial_id, key, value)


def write_record(trial: AttrTarget, record: TrialRecord) -> None:
    """Write the fields of ``record`` that are not None into ``trial``'s user attrs; the
    trial's other attrs stay as they are."""
    for key, value in _write(record).items():
        trial.set_user_attr(key, value)


def read_record(trial: FrozenTrial) -> TrialRecord:
    """The record that ``trial`` holds: None for each attr it does not hold."""
    return _read(TrialRecord, trial.user_attrs)


# ---- readings of the record -----------------------------------------------------------------


@dataclass(frozen=True)
class EvalPoint:
    """One evaluation of a run: when it happened and the objective it measured."""

    step: int  # optimizer steps done
    train_seconds: float | None  # training seconds so far, evaluations excluded
    value: JsonFloat  # the study's metric at this evaluation
    # A classifier answered one class for every validation example (MCC 0): its value is the
    # majority's share, not learning, so it never reaches a target (hpsearch.compare.cost)
    one_class: bool = False


def ran_on(device: str | None, precision: str | None) -> str:
    """Where a run trained, as the reports say it: ``cpu, bf16``; a run recorded before
    hpsearch kept its precision names its device only."""
    if device is None:
        return NOT_RECORDED
    return device if precision is None else f"{device}, {precision}"


@dataclass(frozen=True)
class SeedRun:
    """One finished re-run of a config with one seed."""

    seed: int
    trial: int  # number of the trial in the companion study
    # The objective: best evaluation of the study's metric, as Optuna has it (at chance where
    # it answered one class; ``metrics`` keep what was measured)
    value: JsonFloat
    metrics: dict[str, JsonFloat]  # every metric of that evaluation
    evals: tuple[EvalPoint, ...] = ()  # every evaluation, in order
    cost: RunCost = NO_COST
    # A multitask run's jointly trained model at its best evaluation; ``metrics`` are its
    # per-task ensemble's when it has one. None for a single-task run.
    joint_metrics: dict[str, JsonFloat] | None = None
    # Why its classifier learned nothing: one class predicted for every validation example
    # (hpsearch.search.divergence.one_class); None: it did not, or was not checked.
    one_class: str | None = None
    # Why its validation loss looks diverged (hpsearch.search.divergence); None: it does not
    diverged: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def seed_run(trial: FrozenTrial, seed: int, metric: str) -> SeedRun:
    """The re-run that complete ``trial`` holds; ``metric``: its study's objective."""
    assert trial.value is not None
    record = read_record(trial)
    evals = []
    for e, value in evals_measuring(record, metric):
        assert e.step is not None  # every evaluation of a re-run records its step
        one_class = bool(one_class_tasks(e.metrics or {}))
        evals.append(EvalPoint(e.step, e.train_seconds, value, one_class=one_class))
    return SeedRun(
        seed,
        trial.number,
        float(trial.value),
        record.metrics or {},
        tuple(evals),
        record.cost or NO_COST,
        record.joint_metrics,
        record.one_class,
        diverged=record.diverged,
    )


def evaluated(trial: FrozenTrial, metric: str) -> tuple[tuple[int, float], ...]:
    """``metric`` at each evaluation ``trial`` recorded: (evaluation index, value), in order.

    Read from the trial's ``evals``, not from Optuna's intermediate values: those are what
    the pruner compared (``study.pruner.signal``), which need not be the metric.
    """
    points = []
    for e, value in evals_measuring(read_record(trial), metric):
        assert e.index is not None  # every evaluation the objective records has its index
        points.append((e.index, value))
    return tuple(points)


def evals_measuring(record: TrialRecord, metric: str) -> list[tuple[Evaluation, float]]:
    """The evaluations of ``record`` that measured ``metric``, in order, each with its
    value of ``metric``."""
    return [
        (e, e.metrics[metric])
        for e in record.evals or ()
        if e.metrics is not None and metric in e.metrics
    ]


def best_evaluation(trial: FrozenTrial, metric: str, maximize: bool) -> Evaluation | None:
    """``trial``'s best recorded evaluation of ``metric``, by the trainer's rule
    (:func:`hpsearch.metrics.evaluation_rank`: one whose classifier's answers varied before
    one that answered one class), or None if none measured it. For a trial that did not
    complete, which has no ``metrics`` attr of its own."""
    measured = [e for e, _ in evals_measuring(read_record(trial), metric)]
    if not measured:
        return None
    return max(measured, key=lambda e: evaluation_rank(e.metrics or {}, metric, maximize))


def top_trials(trials: Sequence[FrozenTrial], k: int, maximize: bool) -> list[FrozenTrial]:
    """The ``k`` best complete ``trials``, best first, by :func:`rank_key`."""
    complete = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
    return sorted(complete, key=lambda t: rank_key(t, maximize))[:k]


def rank_key(
    trial: FrozenTrial, maximize: bool, record: TrialRecord | None = None
) -> tuple[bool, float, bool, int]:
    """How complete ``trial`` ranks among its study's, the smallest key first: by its value,
    as Optuna ranks it (so the leaderboard, ``compare`` and ``study.best_trial`` agree);
    at equal values a trial that learned first, then the earlier trial.

    A trial whose best evaluation answered one class for every validation example (its
    ``metrics`` attr; :func:`hpsearch.metrics.one_class_tasks`) learned nothing, whatever it
    measured (F1 0.63 for "duplicate" on every Quora pair): its value is at chance
    (``value_at_chance``, :mod:`hpsearch.search.chance`). One recorded before values were
    set at chance holds what it measured: it ranks after every trial that learned, as the
    trainer ranks a trial's evaluations. ``record``: the trial's, where it was read already.
    """
    record = record or read_record(trial)
    flat = bool(one_class_tasks(record.metrics or {}))
    value = float(trial.value or 0.0)
    return *value_rank(value, flat, record.value_at_chance, maximize), trial.number


def value_rank(
    value: float, flat: bool, at_chance: float | None, maximize: bool
) -> tuple[bool, float, bool]:
    """How a trial that reached ``value`` ranks, the smallest first: by ``at_chance``, its
    value to Optuna, where its classifier answered one class (``flat``) and that was
    recorded, else by ``value``; at equal values one that learned first. A one-class
    ``value`` recorded before values were set at chance ranks after every value learned.
    """
    measured = flat and at_chance is None
    ranked = value if at_chance is None else at_chance
    return measured, -ranked if maximize else ranked, flat


def learned_nothing(trial: FrozenTrial) -> bool:
    """Whether a classifier of ``trial`` answered one class for every validation example at
    the evaluation the trial reports."""
    return bool(one_class_tasks(read_record(trial).metrics or {}))
