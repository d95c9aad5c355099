"""A suite summary's tables as :class:`~hpsearch.compare.tables.Rows` of strings: the
per-workload verdicts and costs, and each performance profile's ratios and score. Drawn as
markdown (summary.md) and as rich tables on the terminal, so the two agree."""

from __future__ import annotations

from hpsearch.compare.labels import bytes_label, metric_name
from hpsearch.compare.suite.model import ArmLine, Profile, SuiteSummary, WorkloadSummary
from hpsearch.compare.tables import (
    KEEP,
    Rows,
    digits,
    number_cell,
    p_cell,
    pm_cell,
    scale,
    target_cell,
)
from hpsearch.wording import plural

INFINITE = "∞"


def verdict_rows(summary: SuiteSummary) -> Rows:
    """A row per arm of each workload: the objective over the seeds, Δ to the baseline with
    its CI, the raw p and Holm's over the suite, then the cost."""
    header = ["workload", "metric", "arm", "mean ± std", "Δ [95% CI]", "p", "p (Holm)"]
    header += ["s/step", "peak memory", "to target", "compute"]
    body = [_verdict_row(w, a) for w in summary.workloads for a in w.arms]
    return Rows(header, body, drop=(KEEP, 3, KEEP, 2, KEEP, 5, KEEP, 6, 7, 4, 8), wrap=frozenset())


def _verdict_row(w: WorkloadSummary, a: ArmLine) -> list[str]:
    s, d = scale(w.metric), digits(w.metric)
    if a.no_verdict is not None:
        delta, p, holm = a.no_verdict, "–", "–"
    elif a.baseline:
        delta, p, holm = "baseline", "", ""
    else:
        delta, p, holm = delta_cell(a, s, d), p_cell(a.p), p_cell(a.p_holm)
    return [
        w.name,
        metric_name(w.metric),
        a.arm,
        pm_cell(a.summary, d, s),
        delta,
        p,
        holm,
        number_cell(a.cost.seconds_per_step, 3),
        bytes_label(a.cost.peak_memory_bytes),
        target_cell(a.cost),
        seconds_label(a.compute_seconds),
    ]


def delta_cell(a: ArmLine, s: float, d: int) -> str:
    """``+1.23 [−0.40, +2.81]``: the mean difference and its CI, in the metric's scale."""
    mean = number_cell(a.delta, d, s, sign=True)
    if a.ci_low is None or a.ci_high is None:
        return mean
    low, high = (number_cell(x, d, s, sign=True) for x in (a.ci_low, a.ci_high))
    return f"{mean} [{low}, {high}]"


def seconds_label(seconds: float | None) -> str:
    """``42 s``, ``12.5 min``, ``3.2 h``; ``–`` for None."""
    if seconds is None:
        return "–"
    if seconds < 600:
        return f"{seconds:.0f} s"
    if seconds < 3 * 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def profile_rows(profile: Profile) -> Rows:
    """A row per arm: its ratio to the best arm on each workload, then its score."""
    header = ["arm", *profile.workloads, f"score (τ ≤ {profile.tau_max:g})"]
    body = [[a.arm, *(ratio_cell(r) for r in a.ratios), f"{a.score:.3f}"] for a in profile.arms]
    return Rows(header, body, wrap=frozenset())


def ratio_cell(ratio: float | None) -> str:
    return INFINITE if ratio is None else f"{ratio:.2f}"


def profile_title(profile: Profile) -> str:
    return f"performance profile on {profile.basis}: the ratio r to the best arm's {profile.cost}"


def score_rows(summary: SuiteSummary) -> Rows:
    """A row per arm: its integrated score on each profile."""
    arms = list(dict.fromkeys(a.arm for p in summary.profiles for a in p.arms))
    header = ["arm", *(f"score: {p.basis}" for p in summary.profiles)]
    body = []
    for arm in arms:
        cells = []
        for p in summary.profiles:
            mine = next((a for a in p.arms if a.arm == arm), None)
            cells.append("–" if mine is None else f"{mine.score:.3f}")
        body.append([arm, *cells])
    return Rows(header, body, wrap=frozenset())


def score_title(summary: SuiteSummary) -> str:
    n = len(summary.workloads)
    return (
        f"{summary.suite.name}: AlgoPerf-style scores over {plural(n, 'workload')} "
        f"(area under ρ(τ) for τ in [1, {summary.suite.tau_max:g}], normalised; 1: best everywhere)"
    )
