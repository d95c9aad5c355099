"""Pruners and samplers from a validated ``[study.pruner]`` and ``[study.sampler]``.

The entries live in :mod:`hpsearch.pruners`; this adds what applies to every entry:
a pruner's ``patience`` and a sampler's seed offset.
"""

from __future__ import annotations

import optuna

from hpsearch.pruners import PRUNERS, SAMPLERS
from hpsearch.spec.schema import PrunerSpec, SamplerSpec


def build_pruner(spec: PrunerSpec) -> optuna.pruners.BasePruner:
    """The named pruner; ``patience > 0`` wraps it in :class:`optuna.pruners.PatientPruner`."""
    pruner = PRUNERS.entry(spec.name).create(**spec.options)
    if spec.patience > 0:
        pruner = optuna.pruners.PatientPruner(pruner, patience=spec.patience)
    return pruner


def build_sampler(spec: SamplerSpec, trials_so_far: int = 0) -> optuna.samplers.BaseSampler:
    """The named sampler, seeded with ``seed + trials_so_far``.

    The offset matters on resume: a sampler seeded as on the first run would propose the
    same random start-up configurations again.
    """
    seed = None if spec.seed is None else spec.seed + trials_so_far
    return SAMPLERS.entry(spec.name).create(seed, **spec.options)
