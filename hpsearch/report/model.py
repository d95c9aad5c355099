"""The report's data model: frozen dataclasses that :mod:`hpsearch.report.build` fills in and every
renderer (tables, report.md, the CSV and JSON files, the plots) reads by attribute.

Field names are report.json's keys and fields keep its order, so ``to_dict()`` (a plain
:func:`dataclasses.asdict`) is the JSON's shape as it is, and :meth:`Report.from_dict` reads a
report.json back into the same objects. Sequences are tuples, so a report cannot grow or
shrink once built; the dicts inside map names (metrics, params) to values.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from optuna.distributions import CategoricalChoiceType

from hpsearch.search.reseed import SeedRun

# 2: "schemes", the best config of each learning scheme; 3: "multitask"; 4: the same keys
# and shape as 3, now written from these dataclasses, which also read a report.json back
# (`Report.from_dict`, versions 3 and 4).
REPORT_VERSION = 4
READABLE_VERSIONS = (3, 4)

Role = Literal["study", "baseline"]
ParamValue = CategoricalChoiceType  # what Optuna stores as a param's value: None, bool, ...
Params = dict[str, ParamValue]


class _Data:
    """``to_dict()`` for the dataclasses below: nested dataclasses become dicts too."""

    def to_dict(self) -> dict[str, Any]:
        assert dataclasses.is_dataclass(self)
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Summary(_Data):
    """One metric over N runs (seeds) of one config."""

    n: int
    mean: float
    std: float | None  # sample standard deviation (ddof=1); None for a single run
    best: float  # best-of-N: the max, or the min for a minimized metric (loss)
    worst: float


@dataclass(frozen=True)
class Welch(_Data):
    """Welch's unequal-variance t-test of two samples (``a`` minus ``b``)."""

    t: float | None  # None when the test is undefined (see :func:`~hpsearch.report.stats.welch`)
    p: float | None  # two-sided p-value


@dataclass(frozen=True)
class ConfigResult(_Data):
    """One re-run config: a trial of the study or its baseline, with its runs over the seeds."""

    role: Role
    study: str
    metric: str  # the objective of its study
    optimizer: str  # optimizer kind of the trial's resolved spec
    trial: int  # number of the trial in the search
    params: Params  # the trial's searched params
    search_value: float | None  # the trial's value in the search
    reseed_study: str  # the companion study that holds the re-runs
    seeds: tuple[int, ...]
    runs: tuple[SeedRun, ...]  # in seed order
    summary: dict[str, Summary]  # per metric, over the runs
    best_run: SeedRun  # the run with the best objective


@dataclass(frozen=True)
class ComparisonSide(_Data):
    """A config in the model cards' comparison, with only the compared metrics' summaries."""

    role: Role
    study: str
    optimizer: str
    trial: int
    params: Params
    seeds: tuple[int, ...]
    best_run: SeedRun
    summary: dict[str, Summary]


@dataclass(frozen=True)
class Difference(_Data):
    """The study's config minus the baseline's, for one metric."""

    mean: float  # of the means over the seeds
    best_run: float  # of the metric in each side's best run


@dataclass(frozen=True)
class Comparison(_Data):
    """The model cards' comparison: the best config of the baseline against the study's."""

    metric: str  # the objective, which picked each side's best config
    metrics: tuple[str, ...]  # the compared metrics, the objective first
    baseline: ComparisonSide
    study: ComparisonSide
    difference: dict[str, Difference]  # per compared metric
    welch: dict[str, Welch]  # per compared metric: study against baseline over the seeds


@dataclass(frozen=True)
class TrialPoint(_Data):
    """A finished trial of the search as the plots need it."""

    number: int
    state: str  # complete, pruned or failed
    value: float | None
    intermediate: tuple[tuple[int, float], ...]  # (evaluation, objective), by evaluation


@dataclass(frozen=True)
class StudyTrials(_Data):
    """What the plots need of a study: its trials' values and curves, and importances."""

    name: str
    role: Role
    metric: str
    direction: str
    trials: tuple[TrialPoint, ...]
    importance: dict[str, float] | None  # fANOVA importance per param; None: see the note
    importance_note: str | None  # why there are no importances


@dataclass(frozen=True)
class Scheme(_Data):
    """A learning scheme: what trains, discriminative rates, gradual unfreezing, optimizer."""

    mode: str
    discriminative: bool
    gradual_unfreezing: bool
    optimizer: str
    nesterov: bool | None  # SGD only; None for the other optimizers


@dataclass(frozen=True)
class FinetuneSettings(_Data):
    """The ``finetune`` fields of a scheme's best config; None where a field does not apply."""

    mode: str
    adapter_size: int | None
    lora_r: int | None
    lora_alpha: float | None
    layer_lr_decay: float | None
    unfreeze_every: int | None
    unfreeze_unit: str | None


@dataclass(frozen=True)
class ScheduleSettings(_Data):
    """The lr schedule of a scheme's best config; None where a field does not apply."""

    schedule: str
    warmup_ratio: float | None
    cut_frac: float | None
    ratio: float | None


@dataclass(frozen=True)
class SchemeRow(_Data):
    """A learning scheme with its best complete trial of the search (no re-runs)."""

    scheme: Scheme
    finetune: FinetuneSettings
    schedule: ScheduleSettings
    metrics: dict[str, float]  # the trial's best evaluation
    value: float
    trial: int
    params: Params
    trainable_params: int | None
    seconds_per_step: float | None
    n_trials: int  # complete trials of this scheme


@dataclass(frozen=True)
class MultitaskRow(_Data):
    """Summed loss, PCGrad or the per-task ensemble, with its best complete trial."""

    row: Literal["sum", "pcgrad", "ensemble"]
    trial: int | None  # None when the search has no complete trial of this kind
    n_trials: int  # complete trials it was chosen from
    combine: str | None  # the trial's multitask.combine
    params: Params
    metrics: dict[str, float]  # the table's columns


@dataclass(frozen=True)
class MultitaskTable(_Data):
    """The per-task table of a multitask study: one row each for sum, pcgrad and ensemble."""

    metric: str
    columns: tuple[str, ...]  # each task's report_metrics, then the mean
    rows: tuple[MultitaskRow, ...]


@dataclass(frozen=True)
class Report(_Data):
    """Everything ``hpsearch report`` writes, as report.json holds it."""

    version: int
    created: str  # ISO 8601, UTC
    study: str
    study_file: str
    baseline: str | None
    baseline_file: str | None
    metric: str
    direction: str
    seeds: int
    top: int
    metrics: tuple[str, ...]  # the metrics of the configs' tables, the objective first
    configs: tuple[ConfigResult, ...]
    comparison: Comparison | None  # None without a baseline
    schemes: tuple[SchemeRow, ...]
    multitask: MultitaskTable | None  # None for a single-task study
    studies: tuple[StudyTrials, ...]
    notes: tuple[str, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        """The report of a report.json's data (``json.load``); null floats become NaN.

        Raises:
            ValueError: the data is of a version this code cannot read.
        """
        version = data.get("version")
        if version not in READABLE_VERSIONS:
            raise ValueError(
                f"report.json `version` must be one of {READABLE_VERSIONS}, but got {version!r}"
            )
        return _from_dict(cls, data)


T = TypeVar("T")


def _from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
    """A dataclass ``cls`` from plain data, converting each field by its type hint.

    The inverse of ``to_dict()`` followed by JSON: lists become the tuples the hints ask for,
    nested dicts become dataclasses, and null becomes NaN where the hint is a plain float
    (report.json writes NaN, a diverged run, as null).
    """
    hints = typing.get_type_hints(cls)
    assert dataclasses.is_dataclass(cls)
    return cls(**{f.name: _decode(hints[f.name], data[f.name]) for f in dataclasses.fields(cls)})


def _decode(hint: Any, value: Any) -> Any:
    if value is None:
        return math.nan if hint is float else None
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _from_dict(hint, value)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        arms = [a for a in args if a is not type(None)]
        # One arm (X | None) is decoded as X; a union of plain values is taken as it is.
        return _decode(arms[0], value) if len(arms) == 1 else value
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in value)
        return tuple(_decode(a, v) for a, v in zip(args, value, strict=True))
    if origin is dict:
        return {k: _decode(args[1], v) for k, v in value.items()}
    return value
