"""A stand-in for the objective of the re-runs: it suggests as hpsearch's does and trains
nothing, so that the seed and the config decide every number and what ran, with which
seed, is visible. The ``fake_objective`` fixture (``conftest.py``) puts it in place."""

from __future__ import annotations

from typing import ClassVar

import optuna

from hpsearch.search.objective import TrialFailed
from hpsearch.spec.suggest import suggest


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
