"""The one mapping from a study's space to ``trial.suggest_*``."""

from __future__ import annotations

import optuna

from hpsearch.optim import get_optimizer
from hpsearch.spec.schema import Spec
from hpsearch.spec.space import Scalar


def suggest(trial: optuna.Trial, spec: Spec) -> dict[str, Scalar]:
    """Ask the trial for every searched field; the one place that calls ``suggest_*``.

    ``optimizer.kind`` is asked first: an optimizer hyperparameter is suggested only when
    the chosen optimizer takes it, so an Adam trial never records a ``num_grads``. Fields
    with a condition (``spec.applies``) are asked after the others, and only when the
    values asked so far (or the spec's fixed ones) make them apply.
    """
    params: dict[str, Scalar] = {}
    kind_param = spec.space.get("optimizer.kind")
    if kind_param is not None:
        params["optimizer.kind"] = kind_param.suggest(trial, "optimizer.kind")
    kind = params.get("optimizer.kind", spec.optimizer.kind)
    takes = get_optimizer(str(kind)).hparams
    # Unconditional fields first (a stable sort): the fields that decide conditions are
    # unconditional themselves.
    names = sorted(spec.space, key=spec.is_conditional)
    for name in names:
        section, field = name.split(".", 1)
        if name == "optimizer.kind" or (section == "optimizer" and field not in takes):
            continue
        if not spec.applies(name, params):
            continue
        params[name] = spec.space[name].suggest(trial, name)
    return params
