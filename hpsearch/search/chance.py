"""An evaluation whose classifier answered one class is reported to Optuna at chance.

A classifier that answers one class for every validation example (MCC exactly 0,
:func:`hpsearch.metrics.one_class_tasks`) learned nothing, yet its score can beat every
trial that learned: answering "positive" for every balanced review scores F1 0.667. Given
that score, TPE would search around the collapse and Optuna, optuna-dashboard and the
pruner would take it for the best. So the value Optuna gets for such an evaluation is the
study's metric with that task's metric at chance, the expected score of a guess that
knows only the validation labels' shares (:func:`hpsearch.metrics.chance_score`): the
smaller of the two when the study maximizes, the larger when it minimizes, so that an
evaluation already below chance (F1 0 for answering "negative") keeps its own score. A
multitask study's mean is taken after each task's metric is so set. What was measured
stays in the trial's user attrs; ``value_at_chance`` there says that the value was set
(see docs/search.md, "A trial that answered one class").
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from typing import TYPE_CHECKING

from hpsearch.metrics import MEAN, SEPARATOR, chance_score, one_class_tasks, recorded_as

if TYPE_CHECKING:
    from hpsearch.data.encode import EncodedTask
    from hpsearch.spec.schema import Spec

# Task key ("" for a single task) → the share of each class among its validation labels;
# classification tasks only.
LabelShares = dict[str, tuple[float, ...]]


def label_shares(tasks: Mapping[str, EncodedTask]) -> LabelShares:
    """The validation labels' class shares of each classification task of ``tasks`` (as
    ``DataCache.encoded_tasks`` gives them), class 0 first."""
    shares: LabelShares = {}
    for key, task in tasks.items():
        labels = task.validation.labels
        if task.kind == "classification" and len(labels):
            counts = labels.bincount(minlength=task.num_labels).tolist()
            shares[key] = tuple(c / len(labels) for c in counts)
    return shares


def value_at_chance(spec: Spec, metrics: Mapping[str, float], shares: LabelShares) -> float | None:
    """The value Optuna gets for an evaluation that measured ``metrics``, when a
    classification task answered one class there; None when none did (the value is then
    ``metrics[spec.metric]``). See the module docstring for the rule.

    A task the study's metric does not read (an ``sts/pearson`` study's ``sst``) leaves the
    value as measured, but still returns it: the rule was applied.
    """
    flat = [key for key in one_class_tasks(metrics) if key in shares]
    if not flat:
        return None
    capped = min if spec.direction == "maximize" else max

    def task_value(key: str, name: str) -> float:
        value = metrics[recorded_as(key, name)]
        return capped(value, chance_score(name, shares[key])) if key in flat else value

    if spec.is_multitask and spec.metric == MEAN:
        return statistics.fmean(task_value(t.key, _chosen(t.metric)) for t in spec.tasks)
    key, _, name = spec.metric.rpartition(SEPARATOR)
    return task_value(key, name)


def _chosen(metric: str | None) -> str:
    assert metric is not None  # a task's metric in the mean: resolved by parse_spec
    return metric
