"""A suite's summary: frozen dataclasses that :func:`~hpsearch.compare.suite.summary.build_summary`
fills in from the workloads' comparisons, and the renderers (tables, summary.md, summary.json,
the profiles' plot) read by attribute.

Field names are summary.json's keys. Infinite costs and ratios (a target never reached) are
None in the data, as JSON has no ∞; NaN (a diverged run) is null too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hpsearch.compare.model import Cost, Data, JsonFloat, Summary

__all__ = [
    "SUITE_VERSION",
    "ArmLine",
    "Basis",
    "Profile",
    "ProfileArm",
    "SuiteInfo",
    "SuiteSummary",
    "WorkloadSummary",
]

# 1: the first summary.json; 2: suite.top_up
SUITE_VERSION = 2

# What a performance profile compares: training seconds or optimizer steps to the target,
# or the distance of the final metric to its best value.
Basis = Literal["seconds", "steps", "metric"]


@dataclass(frozen=True)
class ArmLine(Data):
    """An arm of a workload, as its comparison judged it: its best config's objective over
    the seeds, its verdict against the baseline, and its cost."""

    arm: str
    baseline: bool
    summary: Summary  # the objective of its best config over the seeds
    # Against the baseline over the same seeds (the comparison's paired t): the mean
    # difference and its CI, the raw p and the p Holm-corrected over every verdict of the
    # suite. None for the baseline, and where there is no verdict (``no_verdict``).
    delta: float | None
    ci_low: float | None
    ci_high: float | None
    p: float | None
    p_holm: float | None
    # Why there is no verdict: "never learned: no verdict", "no verdict: AdamW never
    # learned" (the arm, or the baseline, never learned within its space); None otherwise.
    no_verdict: str | None
    cost: Cost  # its best config's, as the comparison measured it (time-to-target included)
    # Its compute, wall seconds: the judged tuning trials, the lr calibration's probes
    # (cost.calibration_seconds) and every re-run of its configs; None where none was
    # timed. compute_seconds is their sum.
    tuning_seconds: float | None
    rerun_seconds: float | None
    compute_seconds: float | None


@dataclass(frozen=True)
class WorkloadSummary(Data):
    """A workload's comparison, as the summary reports it."""

    name: str
    metric: str  # the objective
    direction: str
    baseline: str  # the baseline arm's name
    seeds: int  # paired seeds
    budget: int  # finished trials each arm was judged on
    target: JsonFloat  # time-to-target's target
    target_source: str
    results: str  # its compare.md, relative to the summary's folder
    arms: tuple[ArmLine, ...]  # the baseline first


@dataclass(frozen=True)
class ProfileArm(Data):
    """An arm's costs, ratios and score on one basis, over the profile's workloads."""

    arm: str
    # Per workload, in the profile's order: the cost (seconds or steps to the target, or
    # the metric's distance to its best value) and the ratio to the best arm's, r ≥ 1.
    # None: ∞ (never reached, never learned, or not an arm of that workload).
    costs: tuple[float | None, ...]
    ratios: tuple[float | None, ...]
    score: float  # the area under ρ(τ) for τ in [1, τ_max], over τ_max − 1: in [0, 1]


@dataclass(frozen=True)
class Profile(Data):
    """A Dolan-Moré performance profile over the workloads: ρ_a(τ), the share of workloads
    on which arm a's cost is within τ × the best arm's (docs/report.md)."""

    basis: Basis
    cost: str  # what the cost is, in words
    workloads: tuple[str, ...]  # those it covers, in the suite's order
    arms: tuple[ProfileArm, ...]
    tau_max: float


@dataclass(frozen=True)
class SuiteInfo(Data):
    """The suite's own settings, as the summary states them."""

    name: str
    suite_file: str
    storage: str  # as shown: any password hidden
    seeds: int
    top: int
    budget_by: str  # the axis of equal budgets the suite file asks for
    tau_max: float  # the profiles' and the score's upper τ
    # Whether the cheaper arms ran more trials until each spent the costliest arm's compute
    top_up: bool = False


@dataclass(frozen=True)
class SuiteSummary(Data):
    """Everything summary.json holds."""

    version: int
    created: str  # ISO 8601, UTC
    suite: SuiteInfo
    workloads: tuple[WorkloadSummary, ...]
    holm_family: int  # the verdicts Holm's correction was taken over
    profiles: tuple[Profile, ...]
    notes: tuple[str, ...]
