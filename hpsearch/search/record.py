"""A finished re-run as typed data: its value and metrics, its evaluations, what it cost;
and which finished trials are best.

Read from the user attrs that :class:`~hpsearch.search.objective.Objective` writes into a
trial. Re-runs made before hpsearch recorded a measurement read it as None.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Annotated, Any

from optuna.trial import FrozenTrial, TrialState

from hpsearch.metrics import evaluation_rank, one_class_tasks


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
class EvalPoint:
    """One evaluation of a run: when it happened and the objective it measured."""

    step: int  # optimizer steps done
    train_seconds: float | None  # training seconds so far, evaluations excluded
    value: JsonFloat  # the study's metric at this evaluation
    # A classifier answered one class for every validation example (MCC 0): its value is the
    # majority's share, not learning, so it never reaches a target (hpsearch.compare.cost)
    one_class: bool = False


@dataclass(frozen=True)
class RunCost:
    """What a run cost; None where the run did not record it."""

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
    value: JsonFloat  # the objective: best evaluation of the study's metric
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
    attrs = trial.user_attrs
    evals = tuple(
        EvalPoint(
            step=int(e["step"]),
            train_seconds=_float(e.get("train_seconds")),
            value=float(e["metrics"][metric]),
            one_class=bool(one_class_tasks(e["metrics"])),
        )
        for e in evals_measuring(trial, metric)
    )
    cost = RunCost(
        steps=_int(attrs.get("steps")),
        train_seconds=_float(attrs.get("train_seconds")),
        seconds_per_step=_float(attrs.get("seconds_per_step")),
        samples_per_s=_float(attrs.get("samples_per_s")),
        wall_time=_float(attrs.get("wall_time")),
        optimizer_state_bytes=_int(attrs.get("optimizer_state_bytes")),
        peak_memory_bytes=_int(attrs.get("peak_memory_bytes")),
        peak_memory=attrs.get("peak_memory"),
        device=attrs.get("device"),
        precision=attrs.get("precision"),
        threads=_int(attrs.get("threads")),
    )
    metrics = {k: float(v) for k, v in attrs.get("metrics", {}).items()}
    joint = attrs.get("joint_metrics")
    return SeedRun(
        seed,
        trial.number,
        float(trial.value),
        metrics,
        evals,
        cost,
        None if joint is None else {k: float(v) for k, v in joint.items()},
        attrs.get("one_class"),
        diverged=attrs.get("diverged"),
    )


def evaluated(trial: FrozenTrial, metric: str) -> tuple[tuple[int, float], ...]:
    """``metric`` at each evaluation ``trial`` recorded: (evaluation index, value), in order.

    Read from the trial's ``evals``, not from Optuna's intermediate values: those are what
    the pruner compared (``study.pruner.signal``), which need not be the metric.
    """
    return tuple(
        (int(e["index"]), float(e["metrics"][metric])) for e in evals_measuring(trial, metric)
    )


def evals_measuring(trial: FrozenTrial, metric: str) -> list[dict[str, Any]]:
    """The evaluations ``trial`` recorded (its ``evals`` attr) that measured ``metric``, in
    order."""
    return [e for e in trial.user_attrs.get("evals", []) if metric in e.get("metrics", {})]


def best_evaluation(trial: FrozenTrial, metric: str, maximize: bool) -> dict[str, float] | None:
    """The metrics of ``trial``'s best recorded evaluation of ``metric``, by the trainer's
    rule (:func:`hpsearch.metrics.evaluation_rank`: one whose classifier's answers varied
    before one that answered one class), or None if none measured it. For a trial that did
    not complete, which has no ``metrics`` attr of its own."""
    measured = [e["metrics"] for e in evals_measuring(trial, metric)]
    if not measured:
        return None
    return max(measured, key=lambda m: evaluation_rank(m, metric, maximize))


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def top_trials(trials: Sequence[FrozenTrial], k: int, maximize: bool) -> list[FrozenTrial]:
    """The ``k`` best complete ``trials``, best first; ties go to the earlier trial.

    A trial whose best evaluation answered one class for every validation example (its
    ``metrics`` attr; see :func:`hpsearch.metrics.one_class_tasks`) learned nothing, whatever
    its value (F1 0.63 for "duplicate" on every Quora pair): it ranks after every trial that
    learned, as the trainer ranks a trial's evaluations.
    """
    complete = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
    sign = -1.0 if maximize else 1.0
    return sorted(
        complete, key=lambda t: (learned_nothing(t), sign * float(t.value or 0.0), t.number)
    )[:k]


def learned_nothing(trial: FrozenTrial) -> bool:
    """Whether a classifier of ``trial`` answered one class for every validation example at
    the evaluation the trial reports."""
    return bool(one_class_tasks(trial.user_attrs.get("metrics") or {}))
