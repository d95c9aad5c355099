"""The AlgoPerf benchmark score of a performance profile: a pure function of the ratios.

AlgoPerf (MLCommons, docs/DOCUMENTATION.md, "Integrating performance profiles for the
benchmark score") integrates a submission's profile on a linear τ axis and normalises it:

    B_a = 1 / (τ_max − 1) · ∫_1^τ_max ρ_a(τ) dτ        ∈ [0, 1],   τ_max = 4 (their r_max)

ρ_a is a step function, so the integral is exact: a workload on which the arm's ratio is r
adds 1 from τ = max(r, 1) on, i.e. an area of max(0, τ_max − r), and

    B_a = 1 / n · Σ_w max(0, τ_max − r_{a,w}) / (τ_max − 1).

An arm best on every workload scores 1; one never within τ_max of the best (or never
reaching the target) scores 0 on that workload. AlgoPerf samples ρ at 100 points and
integrates with the trapezoid rule; this is the value that approximates.
"""

from __future__ import annotations

from collections.abc import Sequence

TAU_MAX = 4.0  # AlgoPerf's r_max: beyond 4 × the best, a workload earns nothing


def integrated_score(arm_ratios: Sequence[float], tau_max: float = TAU_MAX) -> float:
    """B: the area under ρ(τ) for τ in [1, ``tau_max``], over ``tau_max − 1``, for one
    arm's ratios on each workload (∞: never reached); 0 for no workload.

    >>> integrated_score([1.0, 2.0, float("inf")])  # (3 + 2 + 0) / 3 / 3
    0.5555555555555556
    """
    if tau_max <= 1:
        raise ValueError(f"`tau_max > 1` must hold, but got {tau_max=}")
    if not arm_ratios:
        return 0.0
    area = sum(max(0.0, tau_max - max(r, 1.0)) for r in arm_ratios)
    return area / len(arm_ratios) / (tau_max - 1)
