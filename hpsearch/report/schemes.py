"""Learning schemes: the best trial of each finetuning scheme a study tried, as plain data.

A scheme is what the finetuning-technique surveys compare in one row: what trains
(``finetune.mode``), whether layers get discriminative rates and are unfrozen gradually, and
the optimizer (SGD with or without Nesterov momentum). The scheduler and every other
hyperparameter belong to the scheme's best config, not to the scheme.

:func:`scheme_table` reads a study's complete trials (the search itself, no re-runs);
:mod:`hpsearch.report.render` turns the rows into the survey's table: learning scheme,
adapter yes/no, scheduler, validation loss, validation accuracy.
"""

from __future__ import annotations

import json
from typing import Any

import optuna
from optuna.trial import TrialState

from hpsearch.spec.schema import Spec


def scheme_of(spec: Spec) -> dict[str, Any]:
    """The scheme of a trial's resolved spec, as plain data (also the grouping key)."""
    ft = spec.finetune
    nesterov = (
        spec.optimizer.hparams.get("nesterov", True) if spec.optimizer.kind == "sgd" else None
    )
    return {
        "mode": ft.mode,
        "discriminative": spec.applies("finetune.layer_lr_decay") and ft.layer_lr_decay < 1,
        "gradual_unfreezing": spec.applies("finetune.unfreeze_every") and ft.unfreeze_every > 0,
        "optimizer": spec.optimizer.kind,
        "nesterov": nesterov,
    }


def _applicable(spec: Spec, section: str, fields: tuple[str, ...]) -> dict[str, Any]:
    """The fields of a section that apply to this spec (None for the others)."""
    values = getattr(spec, section)
    return {f: getattr(values, f) if spec.applies(f"{section}.{f}") else None for f in fields}


def scheme_table(spec: Spec, study: optuna.Study) -> list[dict[str, Any]]:
    """One row per scheme: its best complete trial by the study's objective, best first.

    Each row holds the scheme, the adapter and scheduler labels, the best evaluation's
    metrics (validation loss and accuracy among them), the trial's number, params, value,
    trainable-parameter count and seconds per step, and how many complete trials the scheme
    had. Ties go to the earlier trial.
    """
    maximize = spec.direction == "maximize"
    best: dict[str, tuple[optuna.trial.FrozenTrial, Spec]] = {}
    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if trial.value is None:
            continue
        run = spec.with_params(trial.params)
        key = json.dumps(scheme_of(run), sort_keys=True)
        counts[key] = counts.get(key, 0) + 1
        held = best.get(key)
        better = held is None or (
            trial.value > held[0].value if maximize else trial.value < held[0].value
        )
        if better:
            best[key] = (trial, run)
    rows = [_row(trial, run, counts[key]) for key, (trial, run) in best.items()]
    rows.sort(key=lambda r: (-r["value"] if maximize else r["value"], r["trial"]))
    return rows


def _row(trial: optuna.trial.FrozenTrial, run: Spec, n_trials: int) -> dict[str, Any]:
    attrs = trial.user_attrs
    finetune = (
        "mode",
        "adapter_size",
        "lora_r",
        "lora_alpha",
        "layer_lr_decay",
        "unfreeze_every",
        "unfreeze_unit",
    )
    return {
        "scheme": scheme_of(run),
        "finetune": _applicable(run, "finetune", finetune),
        "schedule": _applicable(run, "train", ("schedule", "warmup_ratio", "cut_frac", "ratio")),
        "metrics": {k: float(v) for k, v in attrs.get("metrics", {}).items()},
        "value": float(trial.value),
        "trial": trial.number,
        "params": dict(trial.params),
        "trainable_params": attrs.get("trainable_params"),
        "seconds_per_step": attrs.get("seconds_per_step"),
        "n_trials": n_trials,
    }
