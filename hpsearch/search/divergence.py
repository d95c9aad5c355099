"""A trial whose validation loss ended far above chance, or whose classifier answers one class
for every example: flagged.

A learning rate far too high does not always make the loss NaN (which fails the trial):
the model can end confidently wrong, with a validation loss of hundreds, and its metrics
still look like numbers. Such a trial completes, and is flagged: the trial attr
``diverged`` says so, and the run's line for the trial shows it.

The yardstick is the loss of knowing nothing: ln(classes) for a uniform guess in
classification, the variance of the training labels for regression (the head starts at
their mean). A loss :data:`DIVERGED_FACTOR` times that is not a model that learned.

A classifier can also learn nothing quietly: predict the majority class for every example.
Its accuracy is then the majority's share, which can look like a result (the multitask case
study's SST and Quora heads sat there under the summed loss). Its Matthews correlation is
exactly 0 (scikit-learn's value when the predictions are constant), which a model whose
predictions vary reaches only by chance: the trial attr ``one_class`` says so, and Optuna
is given the trial's metric at chance (:mod:`hpsearch.search.chance`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from hpsearch.data.encode import EncodedTask
from hpsearch.metrics import constant_tasks, one_class_tasks, recorded_as
from hpsearch.train.trainer import EvalRecord

DIVERGED_FACTOR = 10.0  # validation loss over this many times the chance level: diverged


def chance_loss(task: EncodedTask) -> float:
    """The validation loss of a model that learned nothing (see the module docstring)."""
    if task.kind == "classification":
        return math.log(max(task.num_labels, 2))
    variance = float(task.train.labels.float().var(unbiased=False))
    return variance if variance > 0 else 1.0


def divergence(evals: Sequence[EvalRecord], tasks: Mapping[str, EncodedTask]) -> str | None:
    """Why the last evaluation looks diverged, or None. ``tasks``: by key, as
    ``DataCache.encoded_tasks`` gives them (a single task's key is ``""``, its loss
    ``loss``; a multitask study's are ``<key>/loss``)."""
    if not evals:
        return None
    last = evals[-1]
    for key, task in tasks.items():
        name = recorded_as(key, "loss")
        loss = last.metrics.get(name)
        chance = chance_loss(task)
        if loss is not None and loss > DIVERGED_FACTOR * chance:
            return (
                f"diverged: validation {name} {loss:.4g} at the last evaluation is over "
                f"{DIVERGED_FACTOR:g} x the loss of chance ({chance:.3g}); is the learning "
                "rate too high?"
            )
    return None


def one_class(metrics: Mapping[str, float]) -> str | None:
    """Which classification tasks predicted one class for every validation example at the
    evaluation a trial reports (its best, by the trainer's rule: one where every classifier's
    answers vary whenever there is one), or None. ``metrics``: that evaluation's."""
    flat = one_class_tasks(metrics)
    if not flat:
        return None
    who = "the classifier" if flat == [""] else ", ".join(flat)
    return (
        f"one class: {who} predicted the same class for every validation example at the "
        "best evaluation (MCC 0), which the trainer takes as best only when every evaluation "
        "had a classifier that did; its accuracy is that class's share, not learning, and "
        "the search was given its metric at chance"
    )


def constant(metrics: Mapping[str, float]) -> str | None:
    """Which regression tasks predicted the same value for every validation example at the
    evaluation that measured ``metrics`` (Pearson exactly 0), or None: a head that learned
    nothing, as a classifier that answers one class has."""
    flat = constant_tasks(metrics)
    if not flat:
        return None
    who = "the regression head" if flat == [""] else ", ".join(flat)
    return (
        f"constant: {who} predicted the same value for every validation example (Pearson "
        "scored 0, its correlation undefined): it learned nothing"
    )
