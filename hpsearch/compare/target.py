"""Time-to-target's target: a number the metric can take, never a score that learning nothing
reaches.

A classifier that answers one class for every validation example scores the majority's
share (accuracy), or 0.63 F1 for "duplicate" on every Quora pair: such an evaluation never
reaches a target (:func:`hpsearch.compare.cost.time_to_target`), and a target equal to such
a score is no target (COMPARISON.md: "a target equal to a degenerate score (one class) is no
target"): ``--target`` is refused there, and the default target is taken over the baseline's
seeds that learned.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from optuna.trial import FrozenTrial

from hpsearch.compare.arms import Arm, CompareError
from hpsearch.compare.model import ConfigResult, SeedRun
from hpsearch.metrics import SEPARATOR, one_class_tasks
from hpsearch.search.record import evals_measuring, read_record
from hpsearch.wording import plural

# The values each metric can take, by its own name ("sst/accuracy" by "accuracy"). MEAN, a
# multitask study's mean of its tasks' metrics, lies within theirs: [-1, 1] at the widest.
RANGES: dict[str, tuple[float, float]] = {
    "accuracy": (0.0, 1.0),
    "f1": (0.0, 1.0),
    "mcc": (-1.0, 1.0),
    "pearson": (-1.0, 1.0),
    "spearman": (-1.0, 1.0),
    "mean": (-1.0, 1.0),
    "mse": (0.0, math.inf),
    "loss": (0.0, math.inf),
}
# How close a target may come to a one-class score before it counts as that score: scores of
# one validation set are fractions of its size, far coarser than this.
SAME = 1e-9


def metric_range(metric: str) -> tuple[float, float]:
    """The values ``metric`` can take; any finite value for a metric not listed."""
    return RANGES.get(metric.rsplit(SEPARATOR, 1)[-1], (-math.inf, math.inf))


def check_target(target: float | None, metric: str) -> None:
    """Refuse a ``--target`` that ``metric`` cannot take: NaN, ±inf, or outside its range.

    Raises:
        CompareError: one line with the rule and the value.
    """
    if target is None:
        return
    if not math.isfinite(target):
        raise CompareError(f"--target must be a finite number, but got {target}")
    low, high = metric_range(metric)
    if not low <= target <= high:
        raise CompareError(
            f"--target must lie within the values {metric} can take, [{low:g}, {high:g}], "
            f"but got {target:g}"
        )


@dataclass(frozen=True)
class OneClassScore:
    """The metric of an evaluation that answered one class, and where it was seen."""

    value: float
    where: str  # "AdamW trial 3", "AdamW trial 1, seed 2"


def trial_scores(arms: Sequence[Arm], metric: str) -> list[OneClassScore]:
    """The one-class scores of the arms' judged trials (their recorded evaluations)."""
    return [
        OneClassScore(value, f"{arm.name} trial {t.number}")
        for arm in arms
        for t in arm.judged
        for value in _one_class_values(t, metric)
    ]


def _one_class_values(trial: FrozenTrial, metric: str) -> list[float]:
    return [
        value
        for e, value in evals_measuring(read_record(trial), metric)
        if one_class_tasks(e.metrics or {})
    ]


def run_scores(configs: Iterable[ConfigResult]) -> list[OneClassScore]:
    """The one-class scores of the configs' re-runs (their evaluations)."""
    return [
        OneClassScore(e.value, f"{c.arm} trial {c.trial}, seed {r.seed}")
        for c in configs
        for r in c.runs
        for e in r.evals
        if e.one_class
    ]


def refuse_one_class_target(
    target: float | None, scores: Sequence[OneClassScore], metric: str, maximize: bool
) -> None:
    """Refuse a ``--target`` equal to a score that answering one class gets.

    Raises:
        CompareError: one line naming the evaluation that scored it.
    """
    if target is None:
        return
    same = next((s for s in scores if abs(s.value - target) <= SAME), None)
    if same is None:
        return
    side = "above" if maximize else "below"
    raise CompareError(
        f"--target {target:g} is the {metric} of answering one class for every validation "
        f"example ({same.where} scored it so, MCC 0): a run would reach it by learning "
        f"nothing; give a target {side} it"
    )


def default_target(
    baseline: str, runs: Sequence[SeedRun], maximize: bool = True
) -> tuple[float, str]:
    """The median best over the baseline arm's seeds that learned (whose best evaluation did
    not answer one class), and where it comes from; NaN, and why, when none learned.

    Of an even count, the worse of the middle two: the mean of them is reached by exactly
    half the seeds, so the baseline's median time to its own target would be "never"."""
    learned = sorted((r.value for r in runs if r.one_class is None), reverse=maximize)
    source = f"the median best over the seeds of the baseline arm, {baseline}"
    if not learned:
        return math.nan, (
            f"none: every re-run of the baseline arm {baseline} answered one class at its "
            "best evaluation, so nothing it reached was learned; give --target"
        )
    if len(learned) % 2 == 0:
        source += " (the worse of the middle two, which most of them reach)"
    flat = len(runs) - len(learned)
    if flat:
        source += (
            f" ({plural(len(learned), 'seed')} that learned; "
            f"{plural(flat, 'seed')} that answered one class left out)"
        )
    return float(learned[len(learned) // 2]), source
