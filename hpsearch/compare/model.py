"""A comparison's data: frozen dataclasses that the builder fills in and every renderer
(tables, markdown, the CSV and JSON files, the plots) reads by attribute.

Arms judged on equal tuning budgets, their search spaces side by side, tuning curves, paired
re-runs over one seed list with their tests, and cost. :func:`hpsearch.compare.build_comparison`
fills it in; ``hpsearch compare`` writes it as compare.json (:class:`CompareReport`) and
``hpsearch report`` inside report.json (:mod:`hpsearch.report.model`).

Field names are the JSON files' keys and fields keep their order, so ``to_dict()``
(:func:`dataclasses.asdict`, but for :data:`ADDED` fields at their default) is the JSON's
shape as it is, and :func:`from_dict` (pydantic, by the fields' type hints) reads a file
back into the same objects. A field added since version 1 of compare.json (:data:`ADDED`)
is written only where it is not its default, so that a comparison that uses none of it
(``--budget-by trials``, no ``--p-best``) writes the file it wrote before. Sequences are tuples, so
the data cannot grow or shrink once built; the dicts inside map names (metrics, params,
arms) to values. A :data:`JsonFloat` field reads null (NaN, as the files write it) as NaN.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from optuna.distributions import CategoricalChoiceType

from hpsearch.compare.axes import TRIALS, BudgetAxis
from hpsearch.search.record import EvalPoint, JsonFloat, RunCost, SeedRun

if TYPE_CHECKING:
    from pydantic import TypeAdapter, ValidationError

__all__ = [
    "ADDED",
    "COMPARE_VERSION",
    "ArmResult",
    "BestOdds",
    "BudgetAxis",
    "CalibratedLr",
    "CompareReport",
    "Comparison",
    "ConfigResult",
    "Cost",
    "CurvePoint",
    "Data",
    "EvalPoint",
    "JsonFloat",
    "LrPoint",
    "LrSensitivity",
    "NeverLearned",
    "Paired",
    "ParamValue",
    "Params",
    "Role",
    "RunCost",
    "SeedRun",
    "SpaceCell",
    "SpaceRow",
    "StatTest",
    "Summary",
    "TimeToTarget",
    "TuningCurve",
    "check_version",
    "compare_version",
    "from_dict",
]

Role = Literal["study", "baseline"]
# What of an arm answered one class for every validation example, all of it: its judged
# trials (each at the evaluation it reports), or its best config's re-runs (each seed's)
NeverLearned = Literal["every judged trial", "every seed re-run"]
ParamValue = CategoricalChoiceType  # what Optuna stores as a param's value: None, bool, ...
Params = dict[str, ParamValue]


# The metadata of a field added to a file's data after its first version
# (`field(default=..., metadata=ADDED)`): written only where it is not its default, so data
# that does not use it is written as it was before the field existed (and reads back the same)
ADDED = MappingProxyType({"hpsearch.added": True})


class Data:
    """``to_dict()`` for the report's dataclasses: nested dataclasses become dicts too, and
    an :data:`ADDED` field at its default is left out."""

    def to_dict(self) -> dict[str, Any]:
        assert dataclasses.is_dataclass(self)
        return _plain(self)


def _plain(value: Any) -> Any:
    """``value`` as :func:`dataclasses.asdict` makes it, without :data:`ADDED` fields at
    their default."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if not (f.metadata.get("hpsearch.added") and v == f.default):
                out[f.name] = _plain(v)
        return out
    if isinstance(value, list | tuple):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Summary(Data):
    """One metric over N runs (seeds) of one config."""

    n: int
    mean: JsonFloat
    std: float | None  # sample standard deviation (ddof=1); None for a single run
    best: JsonFloat  # best-of-N: the max, or the min for a minimized metric (loss)
    worst: JsonFloat


@dataclass(frozen=True)
class StatTest(Data):
    """A two-sided test's statistic and p-value; None where the test is undefined (too few
    values, no variance) and, for ``p_holm``, where there was nothing to adjust for."""

    statistic: float | None
    p: float | None
    p_holm: float | None = None  # Holm-adjusted over the arms compared with one baseline


@dataclass(frozen=True)
class ConfigResult(Data):
    """One re-run config: a trial of an arm's study, with its runs over the seeds."""

    arm: str  # the arm it belongs to (AdamW, M-FAC, or a study's name)
    role: Role  # "baseline" for the baseline arm's configs
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
    # The fixed settings it was tuned and re-run under that differ from its study file's
    # (``--allow-drift``), as "train.epochs 1 (study file: 2)"; empty: the file's
    drift: tuple[str, ...] = ()


T = TypeVar("T")


def check_version(data: object, readable: tuple[int, ...], file: str) -> None:
    """Raise ValueError unless ``data`` is a JSON object whose ``version`` is one of
    ``readable``: one line, before any field is read."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{file} must hold a JSON object, but holds a {type(data).__name__}")
    version = data.get("version")
    if version not in readable:
        raise ValueError(f"{file} `version` must be one of {readable}, but got {version!r}")


def from_dict(cls: type[T], data: Mapping[str, Any], file: str = "the data") -> T:
    """A dataclass ``cls`` from plain data (``json.load`` of what ``to_dict()`` wrote),
    validated and converted by pydantic by the fields' type hints.

    Lists become the tuples the hints ask for, nested dicts become dataclasses, and null
    becomes NaN where the hint is :data:`JsonFloat` (the files write NaN, a diverged run, as
    null; a ``float | None`` keeps None). A key the data lacks takes the field's default (a
    field added since the file was written); keys the class does not know are ignored.

    Raises:
        ValueError: a value does not fit its field: one line naming ``file`` and the key.
    """
    from pydantic import ValidationError

    try:
        return _adapter(cls).validate_python(data)
    except ValidationError as e:
        raise ValueError(_first_problem(e, file)) from None


@functools.cache
def _adapter(cls: type[T]) -> TypeAdapter[T]:
    # Building an adapter walks every nested dataclass (0.3 s for Report): once per class.
    from pydantic import TypeAdapter

    return TypeAdapter(cls)


def _first_problem(error: ValidationError, file: str) -> str:
    """The first problem as one line, and how many more there are: ``compare.json
    `comparison.arms.0.finished`: Input should be a valid integer, ..., but got 'many'``."""
    first, *rest = error.errors(include_url=False)
    key = ".".join(map(str, first["loc"]))
    where = f"{file} `{key}`" if key else file
    if first["type"] == "missing":
        line = f"{where} is missing"
    else:
        got = repr(first["input"])
        got = got if len(got) <= 60 else got[:57] + "..."  # a whole object would be pages
        line = f"{where}: {first['msg']}, but got {got}"
    more = len(rest)
    return line + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


# 1: the first compare.json; 2: the budget on a compute axis (`budget_by` seconds or steps:
# the curves' points are at budgets, their `k` the trials that fit). Each file is written
# with the oldest version that reads it right (compare_version): a file on the trials axis
# is still 1, whatever it adds (`best_odds`), which a reader of 1 leaves out.
COMPARE_VERSION = 2
READABLE_COMPARE = (1, 2)


@dataclass(frozen=True)
class ArmResult(Data):
    """An arm: the trials of one optimizer (a study file, or one kind of a study that
    searches ``optimizer.kind``), judged on its first ``budget`` finished trials."""

    name: str  # AdamW, M-FAC, or the study's name when two arms share an optimizer
    study: str
    study_file: str
    optimizer: str
    baseline: bool
    finished: int  # finished trials (complete + pruned) of this arm in its study
    judged: tuple[int, ...]  # the numbers of the first `budget` of them
    cut: tuple[int, ...]  # the numbers of the finished trials the budget left out
    best_trial: int  # its config with the best mean objective over the seeds
    summary: dict[str, Summary]  # that config's compared metrics over the seeds
    best_run: SeedRun  # that config's run with the best objective
    # Where it never learned within its space (every classifier of every one answered one
    # class): then it gets no verdict, no paired test against the baseline nor, as the
    # baseline, any arm against it. Empty: it learned.
    never_learned: tuple[NeverLearned, ...] = ()
    # On a compute axis (the comparison's budget_by): what its judged and its finished
    # trials spent, in seconds or steps; None on the trials axis
    judged_compute: float | None = field(default=None, metadata=ADDED)
    finished_compute: float | None = field(default=None, metadata=ADDED)


@dataclass(frozen=True)
class CalibratedLr(Data):
    """An arm's learning-rate range as ``hpsearch calibrate`` measured it: for one choice
    of ``num_grads`` where M-FAC searches it, and of ``mode`` where the study searches
    ``finetune.mode`` (None otherwise)."""

    arm: str
    num_grads: int | None
    low: float | None  # None: no probe of the arm learned, ``problem`` says why
    high: float | None
    problem: str | None = None
    mode: str | None = None


@dataclass(frozen=True)
class LrPoint(Data):
    """A judged trial of an arm at its learning rate (``lr_sensitivity.png``)."""

    trial: int
    lr: float  # its train.lr (whatever entry of the space suggested it), or the fixed one
    # A complete trial's value; a pruned one's last reported value of the metric; at chance
    # where its classifier answered one class there, as Optuna has it
    value: JsonFloat
    pruned: bool
    one_class: bool  # answered one class for every validation example at that evaluation
    num_grads: int | None = None  # M-FAC's optimizer.num_grads, where the trial searched it


@dataclass(frozen=True)
class LrSensitivity(Data):
    """How an arm's metric moves with the learning rate over its judged trials, and the lr
    span of its complete trials within ``tolerance`` of its best (DeepOBS-style)."""

    arm: str
    # The lr every trial trained with where the arm does not search it (nothing to plot);
    # None: searched
    fixed_lr: float | None
    points: tuple[LrPoint, ...]  # by trial number; empty where the lr is fixed
    tolerance: float  # of the metric: a trial within it of the best counts as near
    counted: int  # complete trials that learned (a finite value): those the width reads
    best: float | None  # the best of them; None: there is none
    near: int  # those within ``tolerance`` of ``best``
    low: float | None  # the smallest and largest lr among them
    high: float | None
    decades: float | None  # log10(high / low): the sensitivity width


@dataclass(frozen=True)
class SpaceCell(Data):
    """How an arm sets a field: searched (a range or choices), fixed, or its calibrated
    learning rate (the row ``train.lr calibrated``), as text."""

    # n/a: the field does not apply to the arm (or, calibrated, the arm has no calibration)
    state: Literal["searched", "fixed", "n/a", "calibrated"]
    text: str  # "3e-05 … 0.003 (log)", "16, 32, 64", "32"


@dataclass(frozen=True)
class SpaceRow(Data):
    """A field of the arms' search spaces, side by side."""

    field: str  # "train.lr"
    shared: bool  # one of the dimensions every comparison shows (lr, batch size, ...)
    cells: dict[str, SpaceCell]  # arm name → how it sets the field


@dataclass(frozen=True)
class CurvePoint(Data):
    """The tuning curve after k trials, or on a compute axis after a budget of seconds or
    steps (``budget``)."""

    # On a compute axis: how many of the arm's first trials fit within the budget
    k: int
    expected: JsonFloat  # expected best of k trials (Dodge et al. 2019), or within budget
    low: JsonFloat  # the band: 5th percentile of the estimate over bootstrap resamples
    high: JsonFloat  # 95th percentile
    observed: JsonFloat  # the best of the arm's first k trials, by trial number
    # On a compute axis: the seconds or steps; None on the trials axis (the budget is k). Its
    # expected, low and high are NaN below the arm's costliest trial (no estimate there).
    budget: float | None = field(default=None, metadata=ADDED)


@dataclass(frozen=True)
class TuningCurve(Data):
    """An arm's expected best validation metric as a function of its tuning budget."""

    arm: str
    # Its judged trials' values by trial number (a pruned trial's: its best reported). On a
    # compute axis a trial that measured none is NaN here, and spends its `costs`.
    values: tuple[JsonFloat, ...]
    # k = 1 ... len(values); on a compute axis at the comparison's curve budgets
    points: tuple[CurvePoint, ...]
    # On a compute axis: each judged trial's seconds or steps, as `values`; empty on trials
    costs: tuple[float, ...] = field(default=(), metadata=ADDED)


@dataclass(frozen=True)
class BestOdds(Data):
    """Each arm's probability of being the best arm at one budget, bootstrapped
    (Sivaprasad et al. 2020): each arm's trials drawn with replacement until the budget is
    spent, the best of each arm's draws compared, ties shared."""

    budget: float  # on the comparison's axis: k trials, or seconds, or steps
    p_best: dict[str, JsonFloat]  # arm name → P(it is the best arm at this budget)


@dataclass(frozen=True)
class Paired(Data):
    """An arm against the baseline arm over the same seeds, for one metric."""

    arm: str
    metric: str
    seeds: tuple[int, ...]  # the seeds both arms ran, in order
    differences: tuple[JsonFloat, ...]  # arm minus baseline, per seed
    mean: JsonFloat  # of the differences
    std: float | None  # sample std of the differences; None with one seed
    # The CI of the mean difference, made as the comparison's ci_method says; None with one
    # seed or a NaN difference.
    ci_low: float | None
    ci_high: float | None
    effect_size: float | None  # mean / std of the differences
    t_test: StatTest  # paired t-test (scipy.stats.ttest_rel)
    wilcoxon: StatTest  # Wilcoxon signed-rank (scipy.stats.wilcoxon)
    # The smallest two-sided p Wilcoxon can reach with these pairs, counting only those it
    # ranks (a zero difference is dropped).
    wilcoxon_floor: JsonFloat
    welch: StatTest  # unpaired view: Welch's t-test


@dataclass(frozen=True)
class TimeToTarget(Data):
    """When one run's evaluation first reached the target."""

    seed: int
    seconds: float | None  # training seconds, evaluations excluded; None: never reached
    steps: int | None  # optimizer steps; None: never reached


@dataclass(frozen=True)
class Cost(Data):
    """What an arm's best config cost per run: medians over its seeds."""

    arm: str
    runs: int
    seconds_per_step: float | None
    samples_per_s: float | None
    train_seconds: float | None  # evaluations excluded
    wall_time: float | None
    optimizer_state_bytes: int | None  # what the optimizer keeps between steps
    peak_memory_bytes: int | None
    peak_memory: str  # what peak_memory_bytes measures
    # Median time-to-target over the seeds, a run that never reached it counted as
    # infinitely slow (AlgoPerf); None: the median run did not reach it.
    target_seconds: float | None
    target_steps: float | None
    reached: int  # runs that reached the target
    to_target: tuple[TimeToTarget, ...]  # per seed
    # Where the runs trained, one entry per device and precision ("cpu, bf16"), sorted; a
    # file written before hpsearch kept them has none.
    ran_on: tuple[str, ...] = ()
    # The arm's calibration (hpsearch calibrate: its probes' wall seconds) and the wall
    # seconds of its study's trials of the arm; None: no calibration, no trial timed
    calibration_seconds: float | None = None
    search_seconds: float | None = None


@dataclass(frozen=True)
class Comparison(Data):
    """Arms of one task and metric, compared as ``hpsearch compare`` and ``report`` do."""

    metric: str  # the objective
    direction: str
    metrics: tuple[str, ...]  # the compared metrics, the objective first
    baseline: str  # the baseline arm's name
    seeds: tuple[int, ...]  # the one seed list every arm's configs were re-run with
    top: int  # configs re-run per arm
    # Finished trials each arm is judged on; on a compute axis (budget_by), the fewest that
    # an arm is judged on, its budget then being `axis_budget`
    budget: int
    budget_requested: float | None  # --budget, in budget_by's unit
    arms: tuple[ArmResult, ...]  # the baseline first
    space: tuple[SpaceRow, ...]
    warnings: tuple[str, ...]  # where the arms' spaces or fixed settings differ
    curves: tuple[TuningCurve, ...]
    curve_resamples: int  # bootstrap resamples of the curves' bands
    curve_band: tuple[JsonFloat, JsonFloat]  # the band's quantiles: (0.05, 0.95), a 90% band
    resamples: int  # bootstrap resamples of the paired CIs; 0 where ci_method is "paired t"
    ci_level: JsonFloat  # of the CIs of the paired differences: 0.95
    paired: tuple[Paired, ...]  # each other arm against the baseline, per compared metric
    target: JsonFloat  # time-to-target's target value of the objective
    target_source: str  # where the target comes from
    costs: tuple[Cost, ...]
    configs: tuple[ConfigResult, ...]  # every re-run config, arm by arm
    notes: tuple[str, ...]
    # How the paired CIs are made: "paired t" (the t-interval), or "bootstrap" (percentile,
    # `resamples` of them: what a file written before this field holds).
    ci_method: str = "bootstrap"
    # Each arm's calibrated lr ranges (hpsearch calibrate), shown beside its space (the row
    # train.lr calibrated); an arm without a calibration has none
    calibrated: tuple[CalibratedLr, ...] = ()
    # Each arm's metric against its learning rate and the lr span near its best
    # (hpsearch.compare.sensitivity); a file written before this field has none
    sensitivity: tuple[LrSensitivity, ...] = ()
    # What the budget counts (--budget-by): trials, or a compute axis, seconds or steps, on
    # which every arm is judged on its first trials that fit within `axis_budget`, and the
    # curves are at budgets (hpsearch.compare.axes, hpsearch.compare.budget)
    budget_by: BudgetAxis = field(default="trials", metadata=ADDED)
    # On a compute axis: the seconds or steps every arm is judged within; None on trials
    axis_budget: float | None = field(default=None, metadata=ADDED)
    # On a compute axis: draw sequences behind each curve's expected best, and behind each
    # bootstrap resample of its band (hpsearch.compare.curves)
    curve_draws: int | None = field(default=None, metadata=ADDED)
    curve_band_draws: int | None = field(default=None, metadata=ADDED)
    # --p-best: each arm's probability of being best at a few budgets on budget_by's axis,
    # and the draws behind each (hpsearch.compare.best_odds); empty: not asked for
    best_odds: tuple[BestOdds, ...] = field(default=(), metadata=ADDED)
    best_odds_draws: int | None = field(default=None, metadata=ADDED)

    def arm(self, name: str) -> ArmResult:
        return next(a for a in self.arms if a.name == name)

    def cost(self, name: str) -> Cost:
        return next(c for c in self.costs if c.arm == name)

    def paired_test(self, name: str, metric: str) -> Paired | None:
        """The arm against the baseline for ``metric``; None for the baseline itself, and
        where :meth:`no_verdict` says why there is none."""
        return next((p for p in self.paired if p.arm == name and p.metric == metric), None)

    def no_verdict(self, name: str) -> ArmResult | None:
        """Why the arm ``name`` gets no verdict: the arm that never learned within its space
        (the arm itself first, else the baseline); None when both learned."""
        arm, baseline = self.arm(name), self.arm(self.baseline)
        return next((a for a in (arm, baseline) if a.never_learned), None)


@dataclass(frozen=True)
class CompareReport(Data):
    """Everything ``hpsearch compare`` writes, as compare.json holds it."""

    version: int
    created: str  # ISO 8601, UTC
    name: str  # the results folder's name
    study_files: tuple[str, ...]  # relative to the working directory where under it
    comparison: Comparison

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CompareReport:
        """The comparison of a compare.json's data (``json.load``).

        Raises:
            ValueError: the data is of a version this code cannot read, or a value does
                not fit its field (one line naming the key).
        """
        check_version(data, READABLE_COMPARE, "compare.json")
        return from_dict(cls, data, "compare.json")


def compare_version(comparison: Comparison) -> int:
    """The version compare.json is written with: the oldest that reads ``comparison`` right
    (:data:`COMPARE_VERSION`'s comment)."""
    return 1 if comparison.budget_by == TRIALS else COMPARE_VERSION
