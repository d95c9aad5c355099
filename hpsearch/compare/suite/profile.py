"""Performance profiles (Dolan & Moré 2002, as MLCommons AlgoPerf scores submissions): pure
functions of numbers, nothing read or written.

For arms a over workloads w, with a cost t_{a,w} > 0 where lower is better (∞: the arm
never got there):

    r_{a,w} = t_{a,w} / min_b t_{b,w}          the performance ratio, in [1, ∞]
    ρ_a(τ)  = |{w : r_{a,w} ≤ τ}| / n           the share of the n workloads within τ of the best

A workload where every arm's cost is ∞ gives every arm r = ∞ (∞ / ∞ counts as never within
any τ). A best cost of 0 gives r = 1 to the arms at 0 and ∞ to the others.

The costs: time-to-target as the comparison measured it (training seconds, or optimizer
steps), and for the final metric its distance to the metric's best value
(:func:`distance`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

INF = math.inf


def ratios(costs: Sequence[float]) -> list[float]:
    """The performance ratios of one workload's ``costs`` (one per arm; ∞ allowed): each
    over the smallest, ∞ where the cost is ∞ or NaN.

    >>> ratios([10.0, 20.0, math.inf])
    [1.0, 2.0, inf]
    """
    clean = [INF if math.isnan(c) else c for c in costs]
    best = min(clean, default=INF)
    if math.isinf(best):
        return [INF] * len(clean)
    if best == 0:
        return [1.0 if c == 0 else INF for c in clean]
    return [c / best for c in clean]


def rho(arm_ratios: Sequence[float], tau: float) -> float:
    """ρ(τ): the share of the workloads (``arm_ratios``, one arm's ratio on each) on which
    the ratio is at most ``tau``; 0 for no workload.

    >>> rho([1.0, 2.0, math.inf], 2.0)
    0.6666666666666666
    """
    if not arm_ratios:
        return 0.0
    return sum(r <= tau for r in arm_ratios) / len(arm_ratios)


def steps_of(arm_ratios: Sequence[float], tau_max: float) -> list[tuple[float, float]]:
    """ρ as the corners of its step function on [1, ``tau_max``]: (τ, ρ(τ)) at τ = 1 and at
    each finite ratio inside, then at ``tau_max``; what a plot draws with ``where="post"``."""
    inside = sorted({r for r in arm_ratios if 1.0 < r <= tau_max})
    return [(tau, rho(arm_ratios, tau)) for tau in [1.0, *inside, tau_max]]


def distance(value: float, bound: float, maximize: bool) -> float:
    """The final metric's cost: its distance to ``bound``, the best value the metric can
    take, ``bound − m`` for a maximized metric (F1, accuracy, Pearson: 1 − m) and
    ``m − bound`` for a minimized one (loss, MSE: m − 0); ∞ for NaN. The ratio of two
    distances is then (1 − m_a) / (1 − m_best): how many times further from perfect the
    arm ends than the best arm.

    >>> distance(0.75, 1.0, maximize=True)
    0.25
    """
    if math.isnan(value):
        return INF
    return max(0.0, bound - value if maximize else value - bound)
