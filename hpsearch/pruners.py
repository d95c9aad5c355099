"""Optuna's pruners and samplers, one registry entry each.

An entry's options are the fields of ``[study.pruner]`` / ``[study.sampler]`` it takes, with
their defaults; the spec reads :data:`PRUNERS` and :data:`SAMPLERS` for the names it allows
and for which options apply to which entry, so adding a pruner or a sampler is one entry
here. A pruner's factory takes its options; a sampler's takes the seed, then its options.
``patience`` (any pruner, wrapped in a PatientPruner) and ``seed`` are no entry's options:
:mod:`hpsearch.search.sampler_pruner` applies them to every entry.

It sits below :mod:`hpsearch.spec` (beside the other registries), which validates study
files against it, while building pruners is the search's business: each factory imports
optuna when called, so importing the registry (as the spec, and through it the trainer,
does) loads no optuna.

Pruner steps are evaluation indices (``train.evals_per_epoch`` per epoch), so
``n_warmup_steps`` and ``min_resource`` count evaluations, not optimizer steps.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from hpsearch.registry import Choice, Registry

if TYPE_CHECKING:
    import optuna


def _median(**options: Any) -> optuna.pruners.BasePruner:
    import optuna

    return optuna.pruners.MedianPruner(**options)


def _percentile(*, percentile: float, **options: Any) -> optuna.pruners.BasePruner:
    import optuna

    return optuna.pruners.PercentilePruner(percentile, **options)


def _hyperband(*, min_resource: int | str, **options: Any) -> optuna.pruners.BasePruner:
    import optuna

    # Hyperband takes no "auto" minimum (given one, every trial after the first failed with
    # "unsupported operand type(s) for /: 'int' and 'str'"): its brackets start at one
    # evaluation and end at the evaluations of the first finished trial.
    low = 1 if min_resource == "auto" else min_resource
    return optuna.pruners.HyperbandPruner(min_resource=low, **options)


def _successive_halving(**options: Any) -> optuna.pruners.BasePruner:
    import optuna

    return optuna.pruners.SuccessiveHalvingPruner(**options)


def _nop() -> optuna.pruners.BasePruner:
    import optuna

    return optuna.pruners.NopPruner()


# The options of the pruners that compare a trial with finished ones at the same evaluation:
# finished trials before pruning starts, evaluations before a trial can be pruned, and
# how many evaluations apart the checks are.
_COMPARING = MappingProxyType({"n_startup_trials": 3, "n_warmup_steps": 1, "interval_steps": 1})
# The options of the bandit pruners: the fewest evaluations a trial gets ("auto": from the
# first trials), and 1 / the share of trials promoted from each rung.
_BANDIT = MappingProxyType({"min_resource": "auto", "reduction_factor": 3})


def _pruners() -> list[Choice[optuna.pruners.BasePruner]]:
    return [
        Choice(
            "median",
            "median",
            "prune a trial below the median of finished trials at the same evaluation",
            _median,
            _COMPARING,
        ),
        Choice(
            "percentile",
            "percentile",
            "prune a trial below the given percentile of finished trials at that evaluation",
            _percentile,
            {**_COMPARING, "percentile": 25.0},
        ),
        Choice(
            "hyperband",
            "Hyperband",
            "successive halving over several budgets at once (Li et al., 2018)",
            _hyperband,
            _BANDIT,
        ),
        Choice(
            "successive-halving",
            "successive halving",
            "asynchronous successive halving: keep the best 1/reduction_factor at each rung",
            _successive_halving,
            _BANDIT,
        ),
        Choice("none", "no pruning", "every trial runs to its end", _nop),
    ]


def _tpe(
    seed: int | None, *, n_startup_trials: int, multivariate: bool
) -> optuna.samplers.BaseSampler:
    import warnings

    import optuna

    with warnings.catch_warnings():  # multivariate, group, constant_liar: experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed,
            n_startup_trials=n_startup_trials,
            multivariate=multivariate,
            group=multivariate,
            # Workers sampling at once would otherwise all aim at the same promising
            # region: running trials count as if they had done badly there.
            constant_liar=True,
        )


def _random(seed: int | None) -> optuna.samplers.BaseSampler:
    import optuna

    return optuna.samplers.RandomSampler(seed=seed)


def _samplers() -> list[Choice[optuna.samplers.BaseSampler]]:
    return [
        Choice(
            "tpe",
            "TPE",
            "tree-structured Parzen estimator; random start-up trials, then it models the "
            "space (multivariate: parameters jointly, per conditional group)",
            _tpe,
            {"n_startup_trials": 5, "multivariate": True},
        ),
        Choice("random", "random", "independent uniform draws from the space", _random),
    ]


PRUNERS: Registry[Choice[optuna.pruners.BasePruner]] = Registry("pruner", _pruners())
SAMPLERS: Registry[Choice[optuna.samplers.BaseSampler]] = Registry("sampler", _samplers())
