"""One learning-rate range test: an arm's spec trained once with the lr growing each step,
watched step by step by the rule (:mod:`~hpsearch.search.calibration.rule`) and stopped at
its first failure.

The test trains the study's own model on the study's own task: the batches are the first
``steps × batch_size`` rows of a seeded shuffle of its training split (so it is at most one
epoch), the evaluations score the first ``eval_examples`` rows of a seeded shuffle of its
validation split. The trainer runs it as it runs a trial; the ramp is a schedule of the
registry (``exponential``), each step's loss reaches the rule through ``train(...,
on_loss=...)``, and raising from a hook stops training.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Mapping

import torch

from hpsearch.data.encode import DataCache, EncodedTask
from hpsearch.metrics import one_class_tasks
from hpsearch.optim import get_optimizer
from hpsearch.schedules import lr_multiplier
from hpsearch.search.calibration.arms import (
    LR,
    RAMP,
    centre_values,
    range_test_id,
    range_test_spec,
)
from hpsearch.search.calibration.model import (
    CalibrationArm,
    RangeEval,
    RangeTest,
    RangeTestSettings,
)
from hpsearch.search.calibration.rule import RangeWatch
from hpsearch.search.drift import trial_settings
from hpsearch.spec.schema import Spec
from hpsearch.train.trainer import EvalRecord, train


class _Stop(Exception):
    """The rule saw a failure: training stops here."""


def run_range_test(
    spec: Spec, arm: CalibrationArm, settings: RangeTestSettings, cache: DataCache
) -> RangeTest:
    """Run ``arm``'s range test of study ``spec`` (its data from ``cache``)."""
    ranged = range_test_spec(spec, arm, settings)
    data = _range_data(cache.encoded_tasks(ranged), ranged, settings)
    planned = max(-(-len(t.train) // ranged.train.batch_size) for t in data.values())
    lr_at = _Lrs(settings)
    watch = RangeWatch()

    def on_loss(step: int, total: int, loss: float) -> None:
        if watch.loss(step, lr_at(step, total), loss) is not None:
            raise _Stop

    def on_eval(record: EvalRecord) -> None:
        metrics = record.metrics
        one = RangeEval(
            step=record.step,
            lr=lr_at(record.step, planned),
            metric=metrics[ranged.metric],
            loss=_validation_loss(metrics),
            one_class=bool(one_class_tasks(metrics)),
        )
        if watch.evaluation(one) is not None:
            raise _Stop

    tick = time.perf_counter()
    with contextlib.suppress(_Stop):  # the rule stopped it at its first failure
        train(ranged, data, on_loss=on_loss, on_eval=on_eval)
    seconds = time.perf_counter() - tick
    return RangeTest(
        arm=arm,
        settings=settings,
        metric=ranged.metric,
        num_grads=_num_grads(ranged),
        values={k: v for k, v in centre_values(spec, arm).items() if k != LR},
        curve=tuple(watch.points),
        evals=tuple(watch.evals),
        outcome=watch.outcome(planned),
        planned=planned,
        steps=len(watch.points),
        seconds=seconds,
        spec_id=range_test_id(ranged, settings),
        ran_with=trial_settings(ranged),
    )


class _Lrs:
    """The lr of step ``step`` (1-based) of a ramp over ``total`` steps."""

    def __init__(self, settings: RangeTestSettings) -> None:
        self.settings = settings
        self._ramps: dict[int, Callable[[int], float]] = {}

    def __call__(self, step: int, total: int) -> float:
        if total not in self._ramps:
            ratio = self.settings.end / self.settings.start
            self._ramps[total] = lr_multiplier(RAMP, total, ratio=ratio)
        return self.settings.end * self._ramps[total](step - 1)


def _range_data(
    tasks: Mapping[str, EncodedTask], ranged: Spec, settings: RangeTestSettings
) -> dict[str, EncodedTask]:
    """Each task's rows the range test takes (see the module), seeded by ``train.seed``."""
    generator = torch.Generator().manual_seed(ranged.train.seed)
    rows = settings.steps * ranged.train.batch_size
    out = {}
    for key, task in tasks.items():
        train_rows = torch.randperm(len(task.train), generator=generator)[:rows]
        eval_rows = torch.randperm(len(task.validation), generator=generator)
        out[key] = dataclasses.replace(
            task,
            train=task.train.take(train_rows),
            validation=task.validation.take(eval_rows[: settings.eval_examples]),
        )
    return out


def _validation_loss(metrics: Mapping[str, float]) -> float:
    """The validation loss of an evaluation: a multitask study's task losses summed."""
    if "loss" in metrics:
        return metrics["loss"]
    return sum(v for name, v in metrics.items() if name.rpartition("/")[2] == "loss")


def _num_grads(ranged: Spec) -> int | None:
    """The gradients M-FAC keeps in the range test; None for an optimizer without them."""
    default = get_optimizer(ranged.optimizer.kind).hparams.get("num_grads")
    return None if default is None else int(ranged.optimizer.hparams.get("num_grads", default))
