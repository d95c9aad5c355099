"""The rule of a calibration: which learning rates an arm's probes try, and which range
they give.

A probe is one run of the arm's spec at one fixed lr, judged as a trial is judged
(:mod:`~hpsearch.search.calibration.probe`): **learned**, **one class**, **constant** (a
regression head's one class) or **diverged**.
The question a trial asks of its lr is whether a run of its kind, at that lr, learns; a
probe answers exactly that.

**The ladder.** The lrs lie on a half-decade grid, 10^(k/2) for k = -12 … 0 (1e-6, 3.16e-6,
… 0.316, 1). The first probe is at ``start`` (1e-3 for every optimizer). If it learned, the
ladder walks up one grid step at a time while probes learn, stopping at the first that does
not, then down from the start the same way. If it did not learn, the ladder probes the
start's neighbours outward, alternating up and down (up first), until one learns, and walks
on from that one as above; above a probe that diverged it never looks (a larger lr only
diverges sooner), and where the grid ends on both sides it gives up: no lr learned.

**The range.** The learned probes of a walk form runs of neighbouring grid points. The
chosen range is the run that holds the best-metric probe, from its lowest lr to its
highest, where each probe of it got at least halfway from the walk's worst metric to its
best (:func:`choose`); a run of one lr gives [lr / 10^(1/4), lr · 10^(1/4)], half a grid
step each side. The halfway cut is the lower edge where "not learned yet" does not show as
one class: a model whose untrained head already varies its answers (minilm at 6 layers on
SST-2) is "learned" down to 1e-6 at chance's accuracy (0.52 against 0.80 at its best lr),
and without the cut every range would reach the grid's floor.

**M-FAC's start.** The step M-FAC takes on the newest gradient is about lr · m · g / |g|²,
so the usable lr moves like 1/m: an M-FAC arm after another of the same kind starts at
the previous arm's best lr times m_prev / m, on the grid (:func:`next_start`). It is only a
start: the ladder still walks both ways, and it saves the probes between 1e-3 and there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from hpsearch.search.calibration.model import Outcome, Verdict

LOWEST = -12  # the grid's lowest point: 10^(-12/2) = 1e-6
HIGHEST = 0  # its highest: 1
START = 1e-3  # the first probe of an arm (every optimizer's)
HALF_STEP = 10 ** (1 / 4)  # half a grid step: the margin each side of a one-lr range


class Probed(Protocol):
    """What the rule reads of a probe."""

    @property
    def lr(self) -> float: ...
    @property
    def verdict(self) -> Verdict: ...
    @property
    def metric(self) -> float | None: ...


P = TypeVar("P", bound=Probed)


def grid_lr(k: int) -> float:
    """The grid's k-th point, 10^(k/2)."""
    return 10 ** (k / 2)


def grid_index(lr: float) -> int:
    """The grid point nearest ``lr`` (on a log scale), within the grid."""
    return min(HIGHEST, max(LOWEST, round(2 * math.log10(lr))))


def walk(start: float, probe: Callable[[float], P]) -> list[P]:
    """The probes of one arm's ladder from ``start`` (on the grid), in the order taken:
    ``probe(lr)`` runs one (or gives a stored one) and is called at most once per lr."""
    seen: dict[int, P] = {}

    def at(k: int) -> P:
        if k not in seen:
            seen[k] = probe(grid_lr(k))
        return seen[k]

    first = grid_index(start)
    if at(first).verdict != "learned":
        found = _first_learned(first, at)
        if found is None:
            return list(seen.values())
        first = found
    for step in (1, -1):  # up while probes learn, then down
        k = first + step
        while LOWEST <= k <= HIGHEST and at(k).verdict == "learned":
            k += step
    return list(seen.values())


def _first_learned(start: int, at: Callable[[int], Probed]) -> int | None:
    """The first grid point outward from ``start`` (which did not learn) whose probe learns,
    alternating up and down; never above a probe that diverged; None where none does."""
    up_open = at(start).verdict != "diverged"
    for d in range(1, HIGHEST - LOWEST + 1):
        up, down = start + d, start - d
        up_open = up_open and up <= HIGHEST
        if not up_open and down < LOWEST:
            return None
        if up_open:
            verdict = at(up).verdict
            if verdict == "learned":
                return up
            up_open = verdict != "diverged"
        if down >= LOWEST and at(down).verdict == "learned":
            return down
    return None


def choose(probes: Sequence[Probed], *, maximize: bool) -> Outcome:
    """The chosen range of an arm's ``probes`` (see the module); ``maximize``: whether a
    higher metric is better (the study's direction).

    With s the metric signed so that higher is better, the run around the best probe b
    keeps a neighbour p while s(p) ≥ (s(b) + s_min) / 2, s_min the lowest s of any probe
    with a metric (one class and diverged ones too).
    """
    learned = {grid_index(p.lr): p for p in probes if p.verdict == "learned"}
    if not learned:
        return Outcome(None, None, None, None, _nothing_learned(probes))
    sign = 1 if maximize else -1
    best = max(learned, key=lambda k: (_score(learned[k], sign), -k))
    top = _score(learned[best], sign)
    floor = min((s for p in probes if math.isfinite(s := _score(p, sign))), default=top)
    # Halfway from the worst to the best: -inf where the best has no metric (keeps the run)
    cut = (top + floor) / 2 if math.isfinite(top) else -math.inf
    low = high = best
    while low - 1 in learned and _score(learned[low - 1], sign) >= cut:
        low -= 1
    while high + 1 in learned and _score(learned[high + 1], sign) >= cut:
        high += 1
    lr = grid_lr(best)
    if low == high:
        return Outcome(lr / HALF_STEP, lr * HALF_STEP, lr, learned[best].metric)
    return Outcome(grid_lr(low), grid_lr(high), lr, learned[best].metric)


def next_start(previous: Outcome | None, m_previous: int | None, m: int | None) -> float:
    """Where an arm's ladder starts: :data:`START`, or for M-FAC after an arm of the same
    kind that found a range, that arm's best lr scaled by m_previous / m, on the grid."""
    if previous is None or previous.best_lr is None or not m_previous or not m:
        return START
    return grid_lr(grid_index(previous.best_lr * m_previous / m))


def _score(p: Probed, sign: int) -> float:
    """``p``'s metric, higher better; -inf where it has none."""
    return -math.inf if p.metric is None or math.isnan(p.metric) else sign * p.metric


def _nothing_learned(probes: Sequence[Probed]) -> str:
    """``no probe learned (lr 1e-6 to 1: 5 one class, 4 diverged)``."""
    lrs = sorted(p.lr for p in probes)
    counts = {v: sum(p.verdict == v for p in probes) for v in ("one class", "constant", "diverged")}
    told = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    span = f"lr {short_lr(lrs[0])} to {short_lr(lrs[-1])}: " if lrs else ""
    return f"no probe learned ({span}{told})"


def short_lr(lr: float) -> str:
    """A grid lr in one significant digit: ``1e-4``, ``3e-4``, ``1``."""
    mantissa, exponent = f"{lr:.0e}".split("e")
    power = int(exponent)
    if power == 0:
        return mantissa
    return f"{mantissa}e{power}"
