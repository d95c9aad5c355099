"""The Optuna objective: suggest → spec with the trial's values → train → the trial's value.

Every evaluation is reported to Optuna (for pruning) and stored in the trial's user attrs as
it happens, so a trial that is pruned, fails or is killed keeps what it had measured.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

import optuna
import torch

from hpsearch.data import DataCache
from hpsearch.errors import DataError, HpsearchError, SpecError
from hpsearch.models import ModelLoadError
from hpsearch.space import suggest
from hpsearch.spec import Spec
from hpsearch.trainer import EvalRecord, train

if TYPE_CHECKING:
    from hpsearch.progress import RunProgress

# Errors that every trial would hit the same way: they stop the study instead of failing
# trial after trial and burning the budget.
FATAL_ERRORS: tuple[type[Exception], ...] = (DataError, ModelLoadError, SpecError)


class TrialFailed(HpsearchError):
    """A trial failed for a reason of its own (memory, divergence, ...); the study goes on."""


class Objective:
    """Callable for ``study.optimize``; one instance serves every trial of a run."""

    def __init__(self, spec: Spec, cache: DataCache, progress: RunProgress | None = None):
        self.spec = spec
        self.cache = cache
        self.progress = progress

    def __call__(self, trial: optuna.Trial) -> float:
        params = suggest(trial, self.spec)
        spec = self.spec.with_params(params)
        metric = spec.metric
        evals: list[dict] = []

        def on_eval(record: EvalRecord) -> None:
            evals.append(record.to_dict())
            trial.set_user_attr("evals", evals)
            trial.set_user_attr("epochs_done", record.epoch)
            if self.progress is not None:
                self.progress.on_eval(record, metric)
            trial.report(record.metrics[metric], record.index)
            if trial.should_prune():
                raise optuna.TrialPruned(
                    f"pruned at evaluation {record.index} ({metric} = {record.metrics[metric]:.4f})"
                )

        if self.progress is not None:
            self.progress.start_trial(trial.number, params)
        try:
            result = train(
                spec,
                self.cache.encoded(spec),
                on_eval=on_eval,
                on_step=None if self.progress is None else self.progress.on_step,
            )
        except (optuna.TrialPruned, *FATAL_ERRORS):
            raise
        except Exception as e:  # this trial's own failure: record why, and go on
            reason = f"{type(e).__name__}: {e}"
            trial.set_user_attr("fail_reason", reason)
            raise TrialFailed(reason) from e
        finally:
            # The model and optimizer are garbage now; free them before the next trial.
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        for key, value in {
            "metrics": result.best.metrics,
            "best_eval": result.best.index,
            "num_params": result.num_params,
            "trainable_params": result.trainable_params,
            "samples_per_s": result.samples_per_s,
            "seconds_per_step": result.seconds_per_step,
            "wall_time": result.wall_time,
            "device": result.device,
        }.items():
            trial.set_user_attr(key, value)
        return result.best.metrics[metric]
