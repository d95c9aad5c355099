"""The rule that reads a learning-rate range test: when to stop it, and which range it gives.

A range test (Smith 2017; fastai's ``lr_find``) trains once while the lr grows
exponentially, step by step, from ``start`` to ``end``. Its training loss is smoothed by a
bias-corrected exponential moving average, as fastai smooths it::

    a_t = β · a_(t-1) + (1 - β) · loss_t,    a_0 = 0,    smoothed_t = a_t / (1 - β^t)

with β = 0.98. The test fails, and stops, at the first of:

- **non-finite**: a loss that is NaN or infinite;
- **diverged**: a smoothed loss above 4× the least smoothed loss so far (fastai's rule);
- **one class**: an evaluation whose classifier answered one class for every example
  (MCC 0, :func:`hpsearch.metrics.one_class_tasks`) after an earlier evaluation that did
  not and had a lower validation loss: the model un-learned. One class at a lower loss than
  every evaluation with varied answers is the first stage of learning (the majority class
  of an imbalanced task, while the lr is still small), which the test must pass through.

The chosen range: lr* is the lr at the least smoothed loss before the failure, the first
tenth of the steps left out (the average is still warming up there, and fastai's
suggestions leave it out too); the range is [lr*/100, lr*], whose geometric centre lr*/10
is fastai's suggestion. A range test shows each lr for a step or two, so a whole run
wants less than lr*. A collapse is only seen at evaluations, so its range ends at the lr of
the evaluation before it at the latest. There is no range when the test failed within its
first tenth; when the loss never fell (its least smoothed value is not below its first
counted one by a hundredth of it and by three times the smoothed loss's noise, σ ·
√((1 - β) / (1 + β)) for losses of spread σ: a dip in a flat curve is noise, not a
minimum); or when it was still at its least in the last twentieth of the steps with nothing
failed (no minimum yet).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from hpsearch.search.calibration.model import Failure, LossPoint, Outcome, RangeEval

BETA = 0.98  # the smoothing of the training loss (fastai's)
DIVERGED = 4.0  # a smoothed loss this many times its least so far has diverged (fastai's)
SHRINK = 100.0  # the range spans lr*/SHRINK to lr*
SKIP = 0.1  # the share of the first steps left out of the minimum
TAIL = 0.05  # a least loss this close to the end, nothing failed: still falling
FELL = 0.01  # the least share of its first counted value that the loss must fall by
NOISE = 3.0  # ... and by this many times the noise of the smoothed loss


class RangeWatch:
    """Follows a range test step by step: smooths the loss and says when it fails.

    Feed it each step's loss (:meth:`loss`) and each evaluation (:meth:`evaluation`); each
    returns the failure once there is one (the test should stop there).
    """

    def __init__(self) -> None:
        self.points: list[LossPoint] = []
        self.evals: list[RangeEval] = []
        self.failure: Failure | None = None
        self._average = 0.0
        self._seen = 0
        self._least = math.inf

    def loss(self, step: int, lr: float, loss: float) -> Failure | None:
        """Step ``step`` (1-based) took ``lr`` and had training loss ``loss``."""
        if not math.isfinite(loss):
            self.points.append(LossPoint(step, lr, None, None))
            return self._fail(Failure("non-finite", step, lr))
        self._average = BETA * self._average + (1 - BETA) * loss
        self._seen += 1
        smoothed = self._average / (1 - BETA**self._seen)
        if not math.isfinite(smoothed):  # a finite loss so large that the average overflowed
            self.points.append(LossPoint(step, lr, loss, None))
            return self._fail(Failure("non-finite", step, lr))
        self.points.append(LossPoint(step, lr, loss, smoothed))
        self._least = min(self._least, smoothed)
        if smoothed > DIVERGED * self._least:
            return self._fail(Failure("diverged", step, lr))
        return self.failure

    def evaluation(self, e: RangeEval) -> Failure | None:
        """An evaluation after step ``e.step``."""
        learned = any(not d.one_class and d.loss < e.loss for d in self.evals)
        self.evals.append(e)
        if e.one_class and learned:
            return self._fail(Failure("one class", e.step, e.lr))
        return self.failure

    def outcome(self, planned: int) -> Outcome:
        """The range this test gives; ``planned``: the steps it was to take."""
        return read_outcome(self.points, self.evals, self.failure, planned)

    def _fail(self, failure: Failure) -> Failure:
        self.failure = self.failure or failure
        return self.failure


def read_outcome(
    points: Sequence[LossPoint],
    evals: Sequence[RangeEval],
    failure: Failure | None,
    planned: int,
) -> Outcome:
    """The chosen range of a range test that took ``points`` (of ``planned`` steps) and
    ``evals``, and stopped at ``failure`` (None: it ran to its end); see the module."""
    skip = int(planned * SKIP)
    counted = [
        p
        for p in points
        if p.step > skip and p.smoothed is not None and (failure is None or p.step < failure.step)
    ]
    if failure is not None and not counted:
        return Outcome(None, None, None, failure, f"failed at once: {_failed(failure)}")
    if not counted:
        return Outcome(None, None, None, failure, "too few steps to read a range from")
    best = min(counted, key=lambda p: (p.smoothed, p.step))
    if not _fell(counted, best):
        after = f"before it {_failed(failure)}" if failure else "to the test's last step"
        return Outcome(None, None, None, failure, f"the loss never fell, {after}")
    last = points[-1].step
    if failure is None and best.step > last - max(1, round(planned * TAIL)):
        return Outcome(
            best.lr,
            None,
            None,
            None,
            f"the loss was still falling at the test's last lr ({best.lr:.3g}): no minimum "
            "to read a range from",
        )
    high = best.lr
    if failure is not None and failure.kind == "one class":
        before = [e.lr for e in evals if e.step < failure.step]
        high = min([high, *before[-1:]])
    return Outcome(best.lr, high / SHRINK, high, failure)


def _fell(counted: Sequence[LossPoint], best: LossPoint) -> bool:
    """Whether the smoothed loss fell from the first of ``counted`` to ``best`` by more than
    :data:`FELL` of it and :data:`NOISE` × the smoothed loss's noise (see the module)."""
    first = counted[0].smoothed
    assert first is not None and best.smoothed is not None
    losses = [p.loss for p in counted if p.loss is not None and p.step <= best.step]
    noise = statistics.pstdev(losses) * math.sqrt((1 - BETA) / (1 + BETA))
    return first - best.smoothed > max(FELL * first, NOISE * noise)


def _failed(failure: Failure) -> str:
    """``diverged at lr 0.31 (step 74)``."""
    what = {"diverged": "diverged", "non-finite": "lost a finite loss", "one class": "collapsed"}
    return f"{what[failure.kind]} at lr {failure.lr:.3g} (step {failure.step})"
