"""The Optuna objective: suggest → spec with the trial's values → train → the trial's value.

Every evaluation is reported to Optuna (for pruning: the metric, or the validation loss with
``study.pruner.signal = "loss"``) and stored in the trial's user attrs as
it happens, so a trial that is pruned, fails or is killed keeps what it had measured. The
trial's value is the study's metric of what the trial made: the best evaluation, or for a
multitask trial with ``multitask.ensemble``, its per-task ensemble (whose per-task finetuning
is not pruned: only joint training's evaluations are reported). Where a classifier answered
one class for every validation example, Optuna gets that metric at chance, both as the value
and as the pruner's metric (:mod:`hpsearch.search.chance`); the user attrs keep what was
measured.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

import optuna
import torch

from hpsearch.data.encode import DataCache
from hpsearch.data.pretrained import ModelLoadError
from hpsearch.errors import DataError, SpecError, TrialFailed
from hpsearch.metrics import task_metric
from hpsearch.search.chance import LabelShares, label_shares, value_at_chance
from hpsearch.search.divergence import divergence, one_class
from hpsearch.search.record import Evaluation, RunCost, TrialRecord, write_record
from hpsearch.spec.schema import Spec
from hpsearch.spec.suggest import suggest
from hpsearch.train.trainer import EvalRecord, train

if TYPE_CHECKING:
    from hpsearch.search.progress import Progress

log = logging.getLogger(__name__)

# Errors that every trial would hit the same way: they stop the study instead of failing
# trial after trial and burning the budget.
FATAL_ERRORS: tuple[type[Exception], ...] = (DataError, ModelLoadError, SpecError)


def pruning_value(spec: Spec, metrics: Mapping[str, float], shares: LabelShares) -> float:
    """What ``spec``'s pruner compares at an evaluation that measured ``metrics``.

    ``study.pruner.signal = "metric"``: the study's metric, at chance where a classifier
    answered one class (:func:`hpsearch.search.chance.value_at_chance`, ``shares`` the
    validation labels'), lest a learning trial be pruned against the F1 of answering
    "positive" everywhere. ``"loss"``: the validation loss
    (a multitask study's task losses summed, as training sums them), negated in a
    maximizing study because Optuna's pruners read intermediate values in the study's
    direction. The loss moves from the first evaluation, while a classifier that still
    predicts the majority class scores F1 0 whatever its settings. Either way the trial's
    value is the study's metric, and the reports read each evaluation's metric from the
    trial's ``evals`` (:func:`hpsearch.search.record.evaluated`), not from these values.
    """
    if spec.study.pruner.signal == "metric":
        chance = value_at_chance(spec, metrics, shares)
        return metrics[spec.metric] if chance is None else chance
    loss = validation_loss(spec, metrics)
    return -loss if spec.direction == "maximize" else loss


def validation_loss(spec: Spec, metrics: Mapping[str, float]) -> float:
    """The validation loss of an evaluation of ``spec``: a multitask study's task losses
    summed, as training sums them."""
    if spec.is_multitask:
        return sum(metrics[task_metric(t.key, "loss")] for t in spec.tasks)
    return metrics["loss"]


class Objective:
    """Callable for :func:`hpsearch.search.runner.run_trials`; one instance serves every trial.

    Raises ``optuna.TrialPruned`` or :class:`TrialFailed` for the trial's own outcome, and
    :data:`FATAL_ERRORS` for a setup every trial would fail on. ``spec_id`` (the
    fingerprint of the study's settings, :mod:`hpsearch.search.drift`) is recorded in each
    trial, so that the settings a trial ran under can always be found again.
    """

    def __init__(
        self,
        spec: Spec,
        cache: DataCache,
        progress: Progress | None = None,
        *,
        spec_id: str | None = None,
    ):
        self.spec = spec
        self.cache = cache
        self.progress = progress
        self.spec_id = spec_id

    def __call__(self, trial: optuna.Trial) -> float:
        write_record(trial, TrialRecord(spec_id=self.spec_id))
        params = suggest(trial, self.spec)
        spec = self.spec.with_params(params)
        metric = spec.metric
        evals: list[Evaluation] = []

        def on_eval(record: EvalRecord) -> None:
            evals.append(Evaluation.of(record, value_at_chance(spec, record.metrics, shares)))
            write_record(trial, TrialRecord(evals=tuple(evals), epochs_done=record.epoch))
            if self.progress is not None:
                self.progress.on_eval(record, metric)
            compared = pruning_value(spec, record.metrics, shares)
            trial.report(compared, record.index)
            # The last evaluation never prunes: the trial has spent its whole budget, and
            # pruning it then saves nothing but drops a finished trial from the results.
            final = record.epoch >= spec.train.epochs
            if not final and trial.should_prune():
                on_loss = spec.study.pruner.signal == "loss"
                raise optuna.TrialPruned(
                    f"pruned at evaluation {record.index} ({metric} = "
                    f"{record.metrics[metric]:.4f}"
                    + (f", validation loss {abs(compared):.4f})" if on_loss else ")")
                )

        if self.progress is not None:
            self.progress.start_trial(trial.number, params)
        outcome: BaseException | None = None
        data = self.cache.encoded_tasks(spec)
        shares = label_shares(data)  # what chance scores, for on_eval and the value
        try:
            result = train(
                spec,
                data,
                on_eval=on_eval,
                on_step=None if self.progress is None else self.progress.on_step,
            )
        except FATAL_ERRORS:
            raise
        except optuna.TrialPruned as e:
            outcome = optuna.TrialPruned(str(e))
        except Exception as e:  # this trial's own failure (out of memory, NaN, ...): go on
            log.debug("trial %d failed", trial.number, exc_info=True)
            outcome = TrialFailed(f"{type(e).__name__}: {e}")
        # Only now, with the exception and the frames it held gone, are the trial's model,
        # optimizer and activations garbage: free them before the next trial needs the room.
        release_memory()
        if outcome is not None:
            raise outcome
        diverged = divergence(result.evals, data)
        if diverged is not None:
            log.warning("trial %d %s", trial.number, diverged)
        done = TrialRecord(
            metrics=result.metrics,  # of what the trial made: its value is among them
            best_eval=result.best.index,
            num_params=result.num_params,
            trainable_params=result.trainable_params,
            cost=RunCost(
                steps=result.steps,
                train_seconds=result.train_seconds,
                seconds_per_step=result.seconds_per_step,
                samples_per_s=result.samples_per_s,
                wall_time=result.wall_time,
                optimizer_state_bytes=result.optimizer_state_bytes,
                peak_memory_bytes=result.peak_memory.bytes,
                peak_memory=result.peak_memory.measure,
                device=result.device,
                precision=result.precision,
                threads=torch.get_num_threads(),  # CPU seconds depend on it
            ),
            # The report's per-task table: the jointly trained model's metrics (its best
            # evaluation) and, with the ensemble, each task's copy's.
            joint_metrics=result.best.metrics if spec.is_multitask else None,
            diverged=diverged,
            one_class=one_class(result.metrics),
            value_at_chance=value_at_chance(spec, result.metrics, shares),
        )
        ensemble = result.ensemble
        if ensemble is not None:
            done = replace(
                done,
                ensemble_metrics=ensemble.metrics,
                ensemble_best_eval={k: r.index for k, r in ensemble.best.items()},
                ensemble_evals={
                    k: tuple(Evaluation.of(r) for r in records)
                    for k, records in ensemble.evals.items()
                },
                ensemble_wall_time=ensemble.wall_time,
            )
        write_record(trial, done)
        return result.metrics[metric] if done.value_at_chance is None else done.value_at_chance


def release_memory() -> None:
    """Collect garbage and hand cached CUDA blocks back, so the next trial starts clean."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
