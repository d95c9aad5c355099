"""A suite's summary from its workloads' comparisons: the per-workload table with Holm's
correction across the workloads, the performance profiles and their scores. Pure: it reads
the :class:`~hpsearch.compare.model.Comparison` of each workload (and the wall seconds of
its tuning trials, which the comparison does not hold) and starts nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from hpsearch.compare.labels import no_verdict_label
from hpsearch.compare.model import Comparison, Cost
from hpsearch.compare.stats import holm
from hpsearch.compare.suite.model import (
    SUITE_VERSION,
    ArmLine,
    Basis,
    Profile,
    ProfileArm,
    SuiteInfo,
    SuiteSummary,
    WorkloadSummary,
)
from hpsearch.compare.suite.profile import INF, distance, ratios
from hpsearch.compare.suite.score import integrated_score
from hpsearch.compare.target import metric_range

# Each profile: its basis and what its cost is, in words.
BASES: dict[Basis, str] = {
    "seconds": "training seconds to the target (median over the seeds)",
    "steps": "optimizer steps to the target (median over the seeds)",
    "metric": "distance of the final metric to its best value (1 − m for F1, accuracy, "
    "Pearson; m for a loss)",
}


@dataclass(frozen=True)
class WorkloadResult:
    """A workload's comparison and what the summary needs beside it."""

    name: str
    comparison: Comparison
    results: str  # its compare.md, relative to the summary's folder
    tuning_seconds: Mapping[str, float | None]  # arm → wall seconds of its judged trials


def build_summary(
    info: SuiteInfo,
    results: Sequence[WorkloadResult],
    created: str,
    unfinished: Sequence[str] = (),
) -> SuiteSummary:
    """The summary of ``results``, one per workload in the suite's order; ``unfinished``:
    the lines of the workloads left out, not finished (``--no-train``)."""
    workloads = [_workload(r) for r in results]
    workloads, family = with_holm(workloads)
    notes = []
    if unfinished:
        notes.append(
            f"{len(unfinished)} of {len(results) + len(unfinished)} workloads not finished, "
            "left out of every table, the Holm family, the profiles and the score (run "
            f"`hpsearch compare {Path(info.suite_file).name}` to finish them): "
            + "; ".join(unfinished)
        )
    profiles = []
    for basis in BASES:
        made, said = profile_of(basis, results, info.tau_max)
        notes += said
        if made is not None:
            profiles.append(made)
    return SuiteSummary(
        version=SUITE_VERSION,
        created=created,
        suite=info,
        workloads=tuple(workloads),
        holm_family=family,
        profiles=tuple(profiles),
        notes=tuple(notes),
    )


def with_holm(workloads: Sequence[WorkloadSummary]) -> tuple[list[WorkloadSummary], int]:
    """``workloads`` with each verdict's p Holm-corrected over every verdict of the suite
    (each non-baseline arm of each workload that has a p), and how many there were."""
    ps = [a.p for w in workloads for a in w.arms]
    adjusted = iter(holm(ps))
    out = [
        replace(w, arms=tuple(replace(a, p_holm=next(adjusted)) for a in w.arms)) for w in workloads
    ]
    return out, sum(p is not None for p in ps)


def profile(
    basis: Basis,
    workloads: Sequence[str],
    costs: Mapping[str, Sequence[float]],
    tau_max: float,
) -> Profile:
    """The performance profile of ``costs`` (arm → its cost on each of ``workloads``, ∞
    where it never got there), with each arm's ratios and integrated score."""
    names = list(costs)
    per_workload = [ratios([costs[a][i] for a in names]) for i in range(len(workloads))]
    arms = []
    for j, arm in enumerate(names):
        r = [row[j] for row in per_workload]
        arms.append(
            ProfileArm(
                arm=arm,
                costs=tuple(_finite(c) for c in costs[arm]),
                ratios=tuple(_finite(x) for x in r),
                score=integrated_score(r, tau_max),
            )
        )
    return Profile(basis, BASES[basis], tuple(workloads), tuple(arms), tau_max)


def profile_of(
    basis: Basis, results: Sequence[WorkloadResult], tau_max: float
) -> tuple[Profile | None, list[str]]:
    """The profile of the workloads' comparisons on ``basis``, and notes on what it left
    out or counted as ∞; None where no workload can be profiled on it."""
    arms = list(dict.fromkeys(a.name for r in results for a in r.comparison.arms))
    notes = []
    kept: list[WorkloadResult] = []
    for r in results:
        comp = r.comparison
        if basis == "metric" and _bound(comp) is None:
            notes.append(
                f"{r.name}: {comp.metric} has no bound on its good side, so no distance to "
                "the best value: not in the metric's profile"
            )
            continue
        kept.append(r)
        absent = [a for a in arms if a not in {x.name for x in comp.arms}]
        if absent and basis == "seconds":  # said once, for the first profile
            notes.append(f"{r.name}: {', '.join(absent)} not an arm of it: ∞ in the profiles")
    if not kept:
        return None, notes
    costs = {a: [_cost(basis, r.comparison, a) for r in kept] for a in arms}
    return profile(basis, [r.name for r in kept], costs, tau_max), notes


def _bound(comp: Comparison) -> float | None:
    """The best value the objective can take (its upper bound if maximized, lower if not);
    None where it has none."""
    low, high = metric_range(comp.metric)
    bound = high if comp.direction == "maximize" else low
    return None if math.isinf(bound) else bound


def _cost(basis: Basis, comp: Comparison, arm: str) -> float:
    """The arm's cost on ``basis`` in ``comp``; ∞ where it is not an arm of it, never
    reached the target, or (the metric) never learned."""
    if arm not in {a.name for a in comp.arms}:
        return INF
    if basis == "metric":
        result = comp.arm(arm)
        bound = _bound(comp)
        if result.never_learned or bound is None:
            return INF
        maximize = comp.direction == "maximize"
        return distance(result.summary[comp.metric].mean, bound, maximize)
    cost = comp.cost(arm)
    value = cost.target_seconds if basis == "seconds" else cost.target_steps
    return INF if value is None else float(value)


def _finite(x: float) -> float | None:
    return None if math.isinf(x) or math.isnan(x) else x


def _workload(r: WorkloadResult) -> WorkloadSummary:
    comp = r.comparison
    return WorkloadSummary(
        name=r.name,
        metric=comp.metric,
        direction=comp.direction,
        baseline=comp.baseline,
        seeds=len(comp.seeds),
        budget=comp.budget,
        target=comp.target,
        target_source=comp.target_source,
        results=r.results,
        arms=tuple(_line(comp, a.name, r.tuning_seconds.get(a.name)) for a in comp.arms),
    )


def _line(comp: Comparison, name: str, tuning: float | None) -> ArmLine:
    arm, cost = comp.arm(name), comp.cost(name)
    paired = comp.paired_test(name, comp.metric)
    why = comp.no_verdict(name)
    reruns = [
        r.cost.wall_time for c in comp.configs if c.arm == name for r in c.runs if r.cost.wall_time
    ]
    rerun_seconds = math.fsum(reruns) if reruns else None
    return ArmLine(
        arm=name,
        baseline=arm.baseline,
        summary=arm.summary[comp.metric],
        delta=None if paired is None else paired.mean,
        ci_low=None if paired is None else paired.ci_low,
        ci_high=None if paired is None else paired.ci_high,
        p=None if paired is None else paired.t_test.p,
        p_holm=None,
        no_verdict=None if why is None else no_verdict_label(arm, why),
        cost=cost,
        tuning_seconds=tuning,
        rerun_seconds=rerun_seconds,
        compute_seconds=_total(tuning, cost, rerun_seconds),
    )


def _total(tuning: float | None, cost: Cost, reruns: float | None) -> float | None:
    parts = [p for p in (tuning, cost.calibration_seconds, reruns) if p is not None]
    return math.fsum(parts) if parts else None
