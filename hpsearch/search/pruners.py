"""Pruners and samplers by name, from a validated `[study.pruner]` and `[study.sampler]`."""

from __future__ import annotations

import warnings

import optuna

from hpsearch.spec.schema import PrunerSpec, SamplerSpec


def build_pruner(spec: PrunerSpec) -> optuna.pruners.BasePruner:
    """The named pruner; ``patience > 0`` wraps it in :class:`optuna.pruners.PatientPruner`.

    Steps are evaluation indices (``train.evals_per_epoch`` per epoch), so ``n_warmup_steps``
    and ``min_resource`` count evaluations, not optimizer steps.
    """
    pruner: optuna.pruners.BasePruner
    if spec.name == "median":
        pruner = optuna.pruners.MedianPruner(
            n_startup_trials=spec.n_startup_trials,
            n_warmup_steps=spec.n_warmup_steps,
            interval_steps=spec.interval_steps,
        )
    elif spec.name == "percentile":
        pruner = optuna.pruners.PercentilePruner(
            spec.percentile,
            n_startup_trials=spec.n_startup_trials,
            n_warmup_steps=spec.n_warmup_steps,
            interval_steps=spec.interval_steps,
        )
    elif spec.name == "hyperband":
        pruner = optuna.pruners.HyperbandPruner(
            min_resource=spec.min_resource, reduction_factor=spec.reduction_factor
        )
    elif spec.name == "successive-halving":
        pruner = optuna.pruners.SuccessiveHalvingPruner(
            min_resource=spec.min_resource, reduction_factor=spec.reduction_factor
        )
    else:
        pruner = optuna.pruners.NopPruner()
    if spec.patience > 0:
        pruner = optuna.pruners.PatientPruner(pruner, patience=spec.patience)
    return pruner


def build_sampler(spec: SamplerSpec, trials_so_far: int = 0) -> optuna.samplers.BaseSampler:
    """The named sampler, seeded with ``seed + trials_so_far``.

    The offset matters on resume: a sampler seeded as on the first run would propose the
    same random start-up configurations again.
    """
    seed = None if spec.seed is None else spec.seed + trials_so_far
    if spec.name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    with warnings.catch_warnings():  # multivariate, group, constant_liar: experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed,
            n_startup_trials=spec.n_startup_trials,
            multivariate=spec.multivariate,
            group=spec.multivariate,
            # Workers sampling at once would otherwise all aim at the same promising
            # region: running trials count as if they had done badly there.
            constant_liar=True,
        )
