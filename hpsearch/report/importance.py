"""fANOVA parameter importances of a study, by field.

Optuna's evaluators take only the parameters every complete trial has. A study whose
learning rate is searched per optimizer kind, or per ``num_grads`` (calibrated ranges:
``train.lr|optimizer.kind=mfac``, ``train.lr|optimizer.kind=adamw``), names it differently
in each arm, so none of those names is shared, and the lr, the one field that matters most,
was left out of the importances. Here each trial's params are keyed by field
(:func:`hpsearch.spec.space.field_of`) with the union of the entries' ranges, and the
importances are computed on that copy of the trials: the lr's importance then holds what
each arm's range adds, and the conditioning fields (the kind, num_grads) what moving between
arms adds.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import FrozenTrial, TrialState, create_trial

from hpsearch.spec.space import field_of

__all__ = ["param_importances"]


def param_importances(study: optuna.Study) -> tuple[dict[str, float] | None, str | None]:
    """fANOVA importances by field (seeded), or None and why not."""
    complete = by_field(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    if len(complete) < 2:
        return None, f"needs at least 2 complete trials, the study has {len(complete)}"
    common = set.intersection(*(set(t.params) for t in complete))
    if len(common) < 2:
        return (
            None,
            f"needs 2 or more parameters shared by the complete trials, has {sorted(common)}",
        )
    merged = optuna.create_study(direction=study.direction)
    merged.add_trials(complete)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            values = optuna.importance.get_param_importances(
                merged, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0)
            )
    except (RuntimeError, ValueError) as e:  # e.g. every complete trial has the same value
        return None, f"cannot be computed: {e}"
    return {k: float(v) for k, v in values.items()}, None


def by_field(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """Copies of complete ``trials`` whose params are keyed by field, each with the union of
    the distributions its entries had across the trials. A field whose entries are of
    different kinds (a range in one arm, choices in another) is left out."""
    dists: dict[str, list[BaseDistribution]] = {}
    for t in trials:
        for name, dist in t.distributions.items():
            dists.setdefault(field_of(name), []).append(dist)
    union = {f: u for f, ds in dists.items() if (u := _union(ds)) is not None}
    copies = []
    for t in trials:
        params = {field_of(n): v for n, v in t.params.items() if field_of(n) in union}
        copies.append(
            create_trial(
                value=t.value,
                params=params,
                distributions={f: union[f] for f in params},
            )
        )
    return copies


def _union(dists: Sequence[BaseDistribution]) -> BaseDistribution | None:
    """The smallest distribution holding each of ``dists`` (all of one kind), or None."""
    first = dists[0]
    if all(isinstance(d, CategoricalDistribution) for d in dists):
        choices = [c for d in dists for c in d.choices]  # type: ignore[attr-defined]
        return CategoricalDistribution(list(dict.fromkeys(choices)))
    for kind in (FloatDistribution, IntDistribution):
        if all(type(d) is kind for d in dists):
            same = all(d == first for d in dists)
            return (
                first
                if same
                else kind(
                    low=min(d.low for d in dists),  # type: ignore[attr-defined]
                    high=max(d.high for d in dists),  # type: ignore[attr-defined]
                    log=all(d.log for d in dists),  # type: ignore[attr-defined]
                )
            )
    return None
