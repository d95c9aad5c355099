"""The data of ``hpsearch report``: a study's comparison with its baseline (the comparison
layer's :class:`~hpsearch.compare.model.Comparison`), and what only a report shows: the
learning schemes, a multitask study's per-task table, and the search's trials for the plots.
Frozen dataclasses, written as report.json and read back as the comparison's are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from hpsearch.compare.model import (
    Comparison,
    Data,
    JsonFloat,
    Params,
    Role,
    Summary,
    check_version,
    from_dict,
)

# 2: "schemes", the best config of each learning scheme; 3: "multitask"; 4: the same keys
# and shape as 3, now written from these dataclasses; 5: "comparison" is hpsearch compare's
# (equal budgets, tuning curves, paired seeds, cost) and holds the configs; 6: the schemes'
# and the multitask rows' configs re-run over the seeds ("seeded"; absent in 5: None).
REPORT_VERSION = 6
READABLE_VERSIONS = (5, 6)


@dataclass(frozen=True)
class TrialPoint(Data):
    """A finished trial of the search as the plots need it."""

    number: int
    state: str  # complete, pruned or failed
    value: float | None
    intermediate: tuple[tuple[int, JsonFloat], ...]  # (evaluation, objective), by evaluation


@dataclass(frozen=True)
class StudyTrials(Data):
    """What the plots need of a study: its trials' values and curves, and importances."""

    name: str
    role: Role
    metric: str
    direction: str
    trials: tuple[TrialPoint, ...]
    importance: dict[str, JsonFloat] | None  # fANOVA importance per param; None: see the note
    importance_note: str | None  # why there are no importances


@dataclass(frozen=True)
class Scheme(Data):
    """A learning scheme: what trains, discriminative rates, gradual unfreezing, optimizer."""

    mode: str
    discriminative: bool
    gradual_unfreezing: bool
    optimizer: str
    nesterov: bool | None  # SGD only; None for the other optimizers


@dataclass(frozen=True)
class FinetuneSettings(Data):
    """The ``finetune`` fields of a scheme's best config; None where a field does not apply."""

    mode: str
    adapter_size: int | None
    lora_r: int | None
    lora_alpha: float | None
    layer_lr_decay: float | None
    unfreeze_every: int | None
    unfreeze_unit: str | None


@dataclass(frozen=True)
class ScheduleSettings(Data):
    """The lr schedule of a scheme's best config; None where a field does not apply."""

    schedule: str
    warmup_ratio: float | None
    cut_frac: float | None
    ratio: float | None


@dataclass(frozen=True)
class Seeded(Data):
    """A row's config re-run without pruning with each of the report's seeds."""

    seeds: tuple[int, ...]
    values: dict[str, tuple[JsonFloat, ...]]  # per metric: one value per seed, in seed order
    summary: dict[str, Summary]  # per metric: over the seeds


@dataclass(frozen=True)
class SchemeRow(Data):
    """A learning scheme with its best complete trial of the search and, when re-run, that
    trial's config over the report's seeds."""

    scheme: Scheme
    finetune: FinetuneSettings
    schedule: ScheduleSettings
    metrics: dict[str, JsonFloat]  # the trial's best evaluation
    value: JsonFloat
    trial: int
    params: Params
    trainable_params: int | None
    seconds_per_step: float | None
    n_trials: int  # complete trials of this scheme
    seeded: Seeded | None = None  # None: not re-run


@dataclass(frozen=True)
class MultitaskRow(Data):
    """Summed loss, PCGrad or the per-task ensemble, with its best complete trial."""

    row: Literal["sum", "pcgrad", "ensemble"]
    trial: int | None  # None when the search has no complete trial of this kind
    n_trials: int  # complete trials it was chosen from
    combine: str | None  # the trial's multitask.combine
    params: Params
    metrics: dict[str, JsonFloat]  # the table's columns
    seeded: Seeded | None = None  # the table's columns; None: not re-run


@dataclass(frozen=True)
class MultitaskTable(Data):
    """The per-task table of a multitask study: one row each for sum, pcgrad and ensemble."""

    metric: str
    columns: tuple[str, ...]  # each task's report_metrics, then the mean
    rows: tuple[MultitaskRow, ...]


@dataclass(frozen=True)
class Report(Data):
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
    comparison: Comparison  # of the study's arms and its baseline's (one arm alone: no tests)
    schemes: tuple[SchemeRow, ...]
    multitask: MultitaskTable | None  # None for a single-task study
    studies: tuple[StudyTrials, ...]
    notes: tuple[str, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        """The report of a report.json's data (``json.load``); null floats become NaN.

        Raises:
            ValueError: the data is of a version this code cannot read, or a value does
                not fit its field (one line naming the key).
        """
        check_version(data, READABLE_VERSIONS, "report.json")
        return from_dict(cls, data, "report.json")
