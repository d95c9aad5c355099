"""What an arm costs, from its re-runs: time per step, throughput, memory, and time-to-target.

Time-to-target follows MLCommons AlgoPerf: the training time (evaluations excluded) and the
steps until a run's evaluation first reaches the target; over the seeds, the median, with a
run that never reached it counted as infinitely slow (so the median is "not reached" when
half the runs or more never got there). An evaluation whose classifier answered one class
for every example never reaches it: its score is the majority's share, which a model that
learned nothing gets (an arm that learned nothing would otherwise "reach" a low target
first).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from hpsearch.compare.axes import AXES
from hpsearch.compare.labels import run_place
from hpsearch.compare.model import Cost, EvalPoint, SeedRun, TimeToTarget

NOT_MEASURED = "not measured"


def reaches(value: float, target: float, maximize: bool) -> bool:
    return value >= target if maximize else value <= target


def time_to_target(
    seed: int, evals: Sequence[EvalPoint], target: float, *, maximize: bool = True
) -> TimeToTarget:
    """When the first of ``evals`` (in order) reached ``target``: what the run had spent by
    then on each compute axis (:mod:`hpsearch.compare.axes`, as a trial's compute on a budget
    axis is read); None, None if none did. An evaluation that answered one class
    (``one_class``) is passed over, whatever its value.

    A run recorded before hpsearch kept training seconds has steps but no seconds.
    """
    for e in evals:
        if not e.one_class and reaches(e.value, target, maximize):
            seconds, steps = (AXES[axis].spent(e) for axis in ("seconds", "steps"))
            return TimeToTarget(
                seed=seed, seconds=seconds, steps=None if steps is None else int(steps)
            )
    return TimeToTarget(seed=seed, seconds=None, steps=None)


def _median(values: Sequence[float | int | None]) -> float | None:
    """Median of the recorded values; None when no run recorded it."""
    present = [float(v) for v in values if v is not None]
    return statistics.median(present) if present else None


def _median_to_target(values: Sequence[float | int | None]) -> float | None:
    """Median with None (never reached) counted as infinite; None if the median is."""
    median = statistics.median([math.inf if v is None else float(v) for v in values])
    return None if math.isinf(median) else median


def arm_cost(
    arm: str,
    runs: Sequence[SeedRun],
    target: float,
    *,
    maximize: bool = True,
    calibration_seconds: float | None = None,
    search_seconds: float | None = None,
) -> Cost:
    """The cost of an arm's best config over its ``runs`` (one per seed); what its
    calibration and its search took are carried along (:class:`Cost`)."""
    costs = [r.cost for r in runs]
    to_target = tuple(time_to_target(r.seed, r.evals, target, maximize=maximize) for r in runs)
    measures = {c.peak_memory for c in costs if c.peak_memory}
    state = _median([c.optimizer_state_bytes for c in costs])
    peak = [c.peak_memory_bytes for c in costs if c.peak_memory_bytes is not None]
    return Cost(
        arm=arm,
        runs=len(runs),
        seconds_per_step=_median([c.seconds_per_step for c in costs]),
        samples_per_s=_median([c.samples_per_s for c in costs]),
        train_seconds=_median([c.train_seconds for c in costs]),
        wall_time=_median([c.wall_time for c in costs]),
        # The same config keeps the same state every seed; the median guards odd runs.
        optimizer_state_bytes=None if state is None else int(state),
        peak_memory_bytes=max(peak) if peak else None,
        peak_memory=" / ".join(sorted(measures)) or NOT_MEASURED,
        ran_on=tuple(sorted({run_place(c) for c in costs})),
        target_seconds=_median_to_target(
            [t.seconds if t.steps is not None else None for t in to_target]
        ),
        target_steps=_median_to_target([t.steps for t in to_target]),
        reached=sum(t.steps is not None for t in to_target),
        to_target=to_target,
        calibration_seconds=calibration_seconds,
        search_seconds=search_seconds,
    )
