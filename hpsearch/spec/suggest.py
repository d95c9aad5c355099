"""The one mapping from a study's space to ``trial.suggest_*``."""

from __future__ import annotations

import optuna

from hpsearch.optim import get_optimizer
from hpsearch.spec.schema import Spec
from hpsearch.spec.space import KIND, Scalar


def suggest(trial: optuna.Trial, spec: Spec) -> dict[str, Scalar]:
    """Ask the trial for every searched field; the one place that calls ``suggest_*``.

    ``optimizer.kind`` is asked first: an optimizer hyperparameter is suggested only when
    the chosen optimizer takes it, so an Adam trial never records a ``num_grads``. The
    fields that conditional entries depend on (``spec.deciders()``) are asked next, then
    the others, each from the entry that the values so far choose (``spec.entry``: M-FAC's
    own lr range under ``train.lr|optimizer.kind=mfac``). Fields with a condition
    (``spec.applies``) are asked last, and only when the values asked so far (or the
    spec's fixed ones) make them apply.

    Returns:
        The suggested values by field (``train.lr``, never a parameter name).
    """
    params: dict[str, Scalar] = {}
    kind_param = spec.space.get(KIND)
    if kind_param is not None:
        params[KIND] = kind_param.suggest(trial, KIND)
    kind = params.get(KIND, spec.optimizer.kind)
    takes = get_optimizer(str(kind)).hparams
    deciders = spec.deciders()
    # A stable sort: deciders, then the other unconditional fields, then the conditional
    # ones (the fields that decide conditions are unconditional themselves, by validation).
    names = sorted(spec.searched(), key=lambda n: (spec.is_conditional(n), n not in deciders))
    for name in names:
        section, field = name.split(".", 1)
        if name == KIND or (section == "optimizer" and field not in takes):
            continue
        if not spec.applies(name, params):
            continue
        chosen = spec.entry(name, params)
        if chosen is None:  # searched only in other trials (another kind's): keeps its value
            continue
        optuna_name, param = chosen
        params[name] = param.suggest(trial, optuna_name)
    return params
