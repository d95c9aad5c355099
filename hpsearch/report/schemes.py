"""Learning schemes: the best trial of each finetuning scheme a study tried.

A scheme is what the finetuning-technique surveys compare in one row: what trains
(``finetune.mode``), whether layers get discriminative rates and are unfrozen gradually, and
the optimizer (SGD with or without Nesterov momentum). The scheduler and every other
hyperparameter belong to the scheme's best config, not to the scheme.

:func:`scheme_table` reads a study's complete trials (the search itself, no re-runs);
:func:`hpsearch.report.tables.scheme_rows` turns the rows into the survey's table: learning
scheme, adapter yes/no, scheduler, validation loss, validation accuracy.
"""

from __future__ import annotations

from dataclasses import fields
from typing import TypeVar

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpsearch.report.model import FinetuneSettings, ScheduleSettings, Scheme, SchemeRow
from hpsearch.search.record import read_record
from hpsearch.spec.schema import Spec
from hpsearch.spec.space import field_params

S = TypeVar("S", FinetuneSettings, ScheduleSettings)


def scheme_of(spec: Spec) -> Scheme:
    """The scheme of a trial's resolved spec (also the grouping key: it is hashable)."""
    ft = spec.finetune
    nesterov = (
        spec.optimizer.hparams.get("nesterov", True) if spec.optimizer.kind == "sgd" else None
    )
    return Scheme(
        mode=ft.mode,
        discriminative=spec.applies("finetune.layer_lr_decay") and ft.layer_lr_decay < 1,
        gradual_unfreezing=spec.applies("finetune.unfreeze_every") and ft.unfreeze_every > 0,
        optimizer=spec.optimizer.kind,
        nesterov=nesterov,
    )


def _settings(cls: type[S], spec: Spec, section: str) -> S:
    """The fields of ``cls`` read from ``spec``'s ``section``; None where one does not apply."""
    values = getattr(spec, section)
    return cls(
        **{
            f.name: getattr(values, f.name) if spec.applies(f"{section}.{f.name}") else None
            for f in fields(cls)
        }
    )


def scheme_table(spec: Spec, study: optuna.Study) -> tuple[SchemeRow, ...]:
    """One row per scheme: its best complete trial by the study's objective, best first.

    Each row holds the scheme, the adapter and scheduler settings, the best evaluation's
    metrics (validation loss and accuracy among them), the trial's number, params, value,
    trainable-parameter count and seconds per step, and how many complete trials the scheme
    had. Ties go to the earlier trial.
    """
    maximize = spec.direction == "maximize"
    best: dict[Scheme, tuple[FrozenTrial, Spec]] = {}
    counts: dict[Scheme, int] = {}
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if trial.value is None:
            continue
        run = spec.with_params(trial.params)
        key = scheme_of(run)
        counts[key] = counts.get(key, 0) + 1
        held = best.get(key)
        better = held is None or (
            trial.value > held[0].value if maximize else trial.value < held[0].value
        )
        if better:
            best[key] = (trial, run)
    rows = [_row(trial, run, counts[key]) for key, (trial, run) in best.items()]
    rows.sort(key=lambda r: (-r.value if maximize else r.value, r.trial))
    return tuple(rows)


def _row(trial: FrozenTrial, run: Spec, n_trials: int) -> SchemeRow:
    record = read_record(trial)
    assert trial.value is not None  # complete trials only
    return SchemeRow(
        scheme=scheme_of(run),
        finetune=_settings(FinetuneSettings, run, "finetune"),
        schedule=_settings(ScheduleSettings, run, "train"),
        metrics=record.metrics or {},
        value=float(trial.value),
        trial=trial.number,
        params=field_params(trial.params),
        trainable_params=record.trainable_params,
        seconds_per_step=None if record.cost is None else record.cost.seconds_per_step,
        n_trials=n_trials,
    )
