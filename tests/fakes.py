"""Stand-ins for the objective of the re-runs: they suggest as hpsearch's does and train
nothing, so that the seed and the config decide every number and what ran, with which
seed, is visible. :class:`FakeObjective` (the ``fake_objective`` fixture, ``conftest.py``)
records a fixed run of two evaluations; :class:`StandIn` (the ``stand_in`` fixture,
``tests/compare/conftest.py``) follows the settings it is given (epochs, optimizer) and can
answer one class, diverge, resolve another precision or be interrupted."""

from __future__ import annotations

import signal
from typing import ClassVar

import optuna

from hpsearch.search.divergence import one_class
from hpsearch.search.interrupts import Interrupted
from hpsearch.search.objective import TrialFailed
from hpsearch.spec.suggest import suggest
from tests.trials import CHANCE_F1, ONE_CLASS_F1


class FakeObjective:
    """Stands in for hpsearch.search.objective.Objective in the re-runs: suggests as it does,
    trains nothing. F1 = 0.5 + 100 × lr + seed / 100 (+ 0.02 for M-FAC) at the second of
    two evaluations (0.015 less at the first); M-FAC takes twice the time per step and keeps
    more state. A seed in ``fail_seeds`` fails its run as a training error does."""

    calls: ClassVar[list[tuple[str, float, int]]] = []  # (kind, lr, seed) of each run, in order
    fail_seeds: ClassVar[set[int]] = set()

    def __init__(self, spec, cache, progress=None):
        self.spec = spec

    def __call__(self, trial: optuna.Trial) -> float:
        (seed,) = suggest(trial, self.spec).values()
        kind, lr = self.spec.optimizer.kind, self.spec.train.lr
        FakeObjective.calls.append((kind, lr, seed))
        if seed in FakeObjective.fail_seeds:
            trial.set_user_attr("fail_reason", "RuntimeError: out of luck")
            raise TrialFailed("RuntimeError: out of luck")
        mfac = kind == "mfac"
        f1 = 0.5 + 100 * lr + seed / 100 + (0.02 if mfac else 0.0)
        per_step = 0.2 if mfac else 0.1
        evals = [
            {"step": step, "train_seconds": step * per_step, "metrics": {"f1": v}}
            for step, v in ((10, f1 - 0.015), (20, f1))
        ]
        attrs = {
            "metrics": {"f1": f1, "accuracy": f1 + 0.1, "loss": 1 - f1},
            "evals": evals,
            "steps": 20,
            "train_seconds": 20 * per_step,
            "seconds_per_step": per_step,
            "samples_per_s": 32 / per_step,
            "wall_time": 30 * per_step,
            "optimizer_state_bytes": 4000 if mfac else 800,
            "peak_memory_bytes": 10**9,
            "peak_memory": "process peak RSS (CPU; the whole process so far)",
        }
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        return f1


class NoData:
    def encoded_tasks(self, spec):  # the stand-in trains nothing: no data to load
        return None


class StandIn:
    """Trains nothing. Evaluates twice an epoch, 8 steps an epoch: F1 = 0.5 + 100 × lr +
    seed / 100 (+ 0.02 for M-FAC) at the last evaluation, 0.01 less at each earlier one.
    ``one_class_first``: optimizer kinds whose first evaluation answers one class (F1 0.63,
    MCC 0); ``collapsed``: optimizer kinds and seeds whose run answers one class at every
    evaluation, its value at chance (:data:`tests.trials.CHANCE_F1`), as the objective gives
    it; ``diverged``: seeds whose run is flagged so; ``precision``: seed → the precision
    "auto" resolved to (fp32 otherwise); ``stop_at``: the call that is interrupted."""

    calls: ClassVar[list[dict]] = []
    one_class_first: ClassVar[set[str]] = set()
    collapsed: ClassVar[set[str | int]] = set()
    diverged: ClassVar[set[int]] = set()
    precision: ClassVar[dict[int, str]] = {}
    stop_at: ClassVar[int | None] = None

    def __init__(self, spec, cache, progress=None):
        self.spec = spec

    def __call__(self, trial: optuna.Trial) -> float:
        if StandIn.stop_at is not None and len(StandIn.calls) == StandIn.stop_at:
            raise Interrupted(signal.SIGINT)  # as the guard raises it on Ctrl-C
        (seed,) = suggest(trial, self.spec).values()
        kind, lr, epochs = self.spec.optimizer.kind, self.spec.train.lr, self.spec.train.epochs
        StandIn.calls.append({"kind": kind, "lr": lr, "seed": seed, "epochs": epochs})
        f1 = 0.5 + 100 * lr + seed / 100 + (0.02 if kind == "mfac" else 0.0)
        n = 2 * epochs
        evals = [
            {
                "index": i,
                "step": 4 * (i + 1),
                "train_seconds": 0.1 * 4 * (i + 1),
                "metrics": {"f1": f1 - 0.01 * (n - 1 - i), "mcc": 0.3},
            }
            for i in range(n)
        ]
        if kind in StandIn.one_class_first:
            evals[0]["metrics"] = {"f1": ONE_CLASS_F1, "mcc": 0.0}
        collapsed = kind in StandIn.collapsed or seed in StandIn.collapsed
        if collapsed:
            f1 = ONE_CLASS_F1
            for e in evals:
                e["metrics"] = {"f1": ONE_CLASS_F1, "mcc": 0.0}
        attrs = {
            "metrics": {"f1": f1, "mcc": 0.0 if collapsed else 0.3, "loss": 1 - f1},
            "evals": evals,
            "steps": 4 * n,
            "train_seconds": 0.4 * n,
            "seconds_per_step": 0.1,
            "device": "cpu",
            "precision": StandIn.precision.get(seed, "fp32"),
            "threads": 2,
        }
        if seed in StandIn.diverged:
            attrs["diverged"] = "diverged: validation loss 70.1 at the last evaluation"
        if collapsed:
            attrs["one_class"] = one_class(attrs["metrics"])
            attrs["value_at_chance"] = CHANCE_F1
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        return CHANCE_F1 if collapsed else f1


class StandInRangeTest:
    """Stands in for :func:`hpsearch.search.calibration.range_test.run_range_test`: trains
    nothing. The loss falls from 0.7 at ``start`` to 0.4 at lr 1e-3 × num_grads (1 without;
    M-FAC's usable lr moves with m), then grows with the lr until the rule calls it diverged;
    the real rule reads it, and the test records the real settings' fingerprint. ``stop_at``:
    the call that is interrupted (as Ctrl-C), before it runs."""

    calls: ClassVar[list] = []  # the arm of each test run, in order
    stop_at: ClassVar[int | None] = None

    @staticmethod
    def run(spec, arm, settings, cache):
        import math

        from hpsearch.search.calibration.arms import range_test_id, range_test_spec
        from hpsearch.search.calibration.model import RangeTest
        from hpsearch.search.calibration.rule import RangeWatch
        from hpsearch.search.drift import trial_settings

        if StandInRangeTest.stop_at is not None and len(StandInRangeTest.calls) == (
            StandInRangeTest.stop_at
        ):
            raise Interrupted(signal.SIGINT)
        StandInRangeTest.calls.append(arm)
        best = 1e-3 * (arm.num_grads or 1)
        watch = RangeWatch()
        for step in range(1, settings.steps + 1):
            lr = settings.start * (settings.end / settings.start) ** (
                (step - 1) / (settings.steps - 1)
            )
            climbed = math.log(lr / settings.start) / math.log(best / settings.start)
            loss = 0.7 - 0.3 * climbed if lr <= best else 0.4 * lr / best
            if watch.loss(step, lr, loss) is not None:
                break
        ranged = range_test_spec(spec, arm, settings)
        return RangeTest(
            arm=arm,
            settings=settings,
            metric=ranged.metric,
            num_grads=arm.num_grads,
            values={},
            curve=tuple(watch.points),
            evals=(),
            outcome=watch.outcome(settings.steps),
            planned=settings.steps,
            steps=len(watch.points),
            seconds=1.5,
            spec_id=range_test_id(ranged, settings),
            ran_with=trial_settings(ranged),
        )
