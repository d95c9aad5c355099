"""Learning-rate sensitivity (DeepOBS-style): each arm's judged trials by their learning
rate, and how wide an lr span came near the arm's best.

An optimizer that reaches its best only in a narrow band of learning rates costs more
tuning than one that is as good over a decade; the tuning curves
(:mod:`hpsearch.compare.curves`) show how fast a search found the best, this shows where.
Each judged trial (the equal budget :mod:`hpsearch.compare.arms` cut) becomes an
:class:`~hpsearch.compare.model.LrPoint`: its lr, and its value as the tuning curve counts
it, but a pruned trial at its last reported value (what it had reached when it was
stopped), each with whether its classifier answered one class there.

The width: the lr span, in decades, of the complete trials that learned and came within
:data:`TOLERANCE` of the best of them. It is an envelope: a trial between the two ends
need not be near the best. Pruned trials are drawn but not counted, since their values come
from shorter training than the best's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from optuna.trial import FrozenTrial, TrialState

from hpsearch.compare.model import LrPoint, LrSensitivity
from hpsearch.metrics import one_class_tasks
from hpsearch.search.calibration.arms import LR, NUM_GRADS
from hpsearch.search.record import evals_measuring, read_record
from hpsearch.spec.space import field_params

if TYPE_CHECKING:
    from hpsearch.compare.arms import Arm

# Near the best: within 0.01 of the metric (one point of F1 or accuracy). An absolute
# distance needs no chance level, which compare knows only where a trial answered one
# class, and is the same yardstick in every arm, so their widths compare.
TOLERANCE = 0.01


def lr_sensitivity(arm: Arm, metric: str, maximize: bool) -> LrSensitivity:
    """``arm``'s judged trials by learning rate, with its width (see the module); where no
    trial searched ``train.lr``, the fixed lr and no points."""
    params = [field_params(t.params) for t in arm.judged]
    fixed = float(arm.spec.value(LR))
    if not any(LR in p for p in params):
        return sensitivity(arm.name, (), maximize, fixed_lr=fixed)
    points = []
    for t, p in zip(arm.judged, params, strict=True):
        reported = _reported(t, metric)
        if reported is not None:
            value, one_class = reported
            grads = p.get(NUM_GRADS)
            points.append(
                LrPoint(
                    trial=t.number,
                    lr=float(p.get(LR, fixed)),
                    value=value,
                    pruned=t.state == TrialState.PRUNED,
                    one_class=one_class,
                    num_grads=None if grads is None else int(grads),
                )
            )
    return sensitivity(arm.name, points, maximize)


def _reported(trial: FrozenTrial, metric: str) -> tuple[float, bool] | None:
    """A finished trial's value of ``metric`` and whether it answered one class there: a
    complete trial's value and its ``metrics``; a pruned trial's last evaluation of
    ``metric``. None: a pruned trial that recorded none."""
    record = read_record(trial)
    if trial.state == TrialState.COMPLETE:
        assert trial.value is not None
        return float(trial.value), bool(one_class_tasks(record.metrics or {}))
    measured = evals_measuring(record, metric)
    if not measured:
        return None
    last, _ = measured[-1]
    return last.value(metric), bool(one_class_tasks(last.metrics or {}))


def sensitivity(
    arm: str,
    points: Sequence[LrPoint],
    maximize: bool,
    *,
    fixed_lr: float | None = None,
    tolerance: float = TOLERANCE,
) -> LrSensitivity:
    """``points`` of ``arm`` with their width: the best value of the complete ones that
    learned, and the lr span of those within ``tolerance`` of it (NaN values are never
    near)."""
    counted = [p for p in points if not p.pruned and not p.one_class and math.isfinite(p.value)]
    if not counted:
        return LrSensitivity(arm, fixed_lr, tuple(points), tolerance, 0, None, 0, None, None, None)
    best = (max if maximize else min)(p.value for p in counted)
    # A hair over the tolerance still counts: 0.71 - 0.70 is 0.010000000000000009 in floats.
    near = [p.lr for p in counted if abs(p.value - best) <= tolerance * (1 + 1e-9)]
    low, high = min(near), max(near)
    return LrSensitivity(
        arm=arm,
        fixed_lr=fixed_lr,
        points=tuple(points),
        tolerance=tolerance,
        counted=len(counted),
        best=best,
        near=len(near),
        low=low,
        high=high,
        decades=math.log10(high / low),
    )
