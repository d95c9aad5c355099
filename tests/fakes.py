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


class StudyStandIn:
    """Stands in for hpsearch.search.objective.Objective in a study's own trials (what
    ``hpsearch run`` runs): suggests as it does, trains nothing. F1 = 0.5 + 100 × lr
    (+ 0.02 for M-FAC) at its one evaluation, recorded with the settings' fingerprint as
    the objective records it. ``calls``: the (kind, lr) of each trial, in order."""

    calls: ClassVar[list[tuple[str, float]]] = []

    def __init__(self, spec, cache, progress=None, *, spec_id=None):
        self.spec = spec
        self.spec_id = spec_id

    def __call__(self, trial: optuna.Trial) -> float:
        spec = self.spec.with_params(suggest(trial, self.spec))
        kind, lr = spec.optimizer.kind, spec.train.lr
        StudyStandIn.calls.append((kind, lr))
        f1 = 0.5 + 100 * lr + (0.02 if kind == "mfac" else 0.0)
        attrs = {
            "spec_id": self.spec_id,
            "metrics": {"f1": f1, "mcc": 0.3, "loss": 1 - f1},
            "evals": [{"index": 0, "step": 8, "train_seconds": 0.8, "metrics": {"f1": f1}}],
            "steps": 8,
            "train_seconds": 0.8,
            "seconds_per_step": 0.1,
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


def scripted_verdict(lr: float, best: float) -> tuple[str, float | None]:
    """What a scripted probe at ``lr`` does, for an arm that learns best at ``best``: it
    learns within [best / 10, best × 3.2] (metric 0.8 at ``best``, 0.1 less a decade off),
    answers one class below that and up to best × 32 (where a run collapses), and diverges
    above (no metric)."""
    import math

    if lr < best / 10.5 or best * 3.2 < lr <= best * 32:
        return "one class", 0.5
    if lr > best * 32:
        return "diverged", None
    return "learned", 0.8 - 0.1 * abs(math.log10(lr / best))


class StandInProbe:
    """Stands in for :func:`hpsearch.search.calibration.probe.run_probe`: trains nothing.
    An arm learns best at lr 1e-3, M-FAC at 4e-3 × 4 / m (its usable lr moves like 1/m),
    and an arm of a finetune mode other than full at 10 times that (what trains is
    smaller), as :func:`scripted_verdict` says; each probe takes 1.5 s and 10 steps, and
    records the real settings' fingerprint. ``stop_at``: the call that is interrupted (as
    Ctrl-C), before it runs."""

    calls: ClassVar[list] = []  # (arm, lr) of each probe run, in order
    stop_at: ClassVar[int | None] = None

    @staticmethod
    def best(arm) -> float:
        lr = 1e-3 if arm.num_grads is None else 4e-3 * 4 / arm.num_grads
        return lr if arm.mode in (None, "full") else 10 * lr

    @staticmethod
    def run(spec, arm, lr, settings, cache):
        from hpsearch.search.calibration.arms import probe_id, probe_spec
        from hpsearch.search.calibration.model import Probe
        from hpsearch.search.drift import trial_settings

        if StandInProbe.stop_at is not None and len(StandInProbe.calls) == StandInProbe.stop_at:
            raise Interrupted(signal.SIGINT)
        StandInProbe.calls.append((arm, lr))
        verdict, metric = scripted_verdict(lr, StandInProbe.best(arm))
        probed = probe_spec(spec, arm, settings, lr)
        return Probe(
            arm=arm,
            lr=lr,
            settings=settings,
            verdict=verdict,
            metric_name=probed.metric,
            metric=metric,
            loss=None if metric is None else 1 - metric,
            why=None if verdict == "learned" else verdict,
            num_grads=arm.num_grads,
            values={},
            steps=10,
            seconds=1.5,
            spec_id=probe_id(probed, settings),
            ran_with=trial_settings(probed),
        )
