"""An evaluation whose classifier answered one class is reported to Optuna at chance: the
rule on single-task and multitask metrics, in both directions."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from hpsearch.data.encode import EncodedSplit, EncodedTask
from hpsearch.search.chance import label_shares, value_at_chance

BALANCED = {"": (0.5, 0.5)}


def spec(metric: str, direction: str = "maximize", tasks=()) -> SimpleNamespace:
    """What value_at_chance reads of a spec: the metric, its direction, the tasks' metrics."""
    return SimpleNamespace(
        metric=metric,
        direction=direction,
        is_multitask=bool(tasks),
        tasks=[SimpleNamespace(key=k, metric=m) for k, m in tasks],
    )


def test_a_one_class_evaluation_counts_at_chance_or_below():
    """Answering "positive" on balanced reviews: F1 0.667 measured, 0.5 at chance; answering
    "negative": F1 0, already below chance, stays 0. Accuracy 0.5 is chance already."""
    positive = {"f1": 2 / 3, "accuracy": 0.5, "mcc": 0.0, "loss": 0.69}
    assert value_at_chance(spec("f1"), positive, BALANCED) == 0.5
    assert value_at_chance(spec("accuracy"), positive, BALANCED) == 0.5
    negative = {**positive, "f1": 0.0}
    assert value_at_chance(spec("f1"), negative, BALANCED) == 0.0


def test_a_minimized_metric_counts_at_chance_or_above():
    """A one-class classifier can be confident and right on the majority: its loss below
    the entropy of the shares still counts as the entropy."""
    flat = {"loss": 0.40, "mcc": 0.0}
    assert value_at_chance(spec("loss", "minimize"), flat, BALANCED) == pytest.approx(0.6931, 1e-4)
    assert value_at_chance(spec("loss", "minimize"), {**flat, "loss": 2.0}, BALANCED) == 2.0


def test_an_evaluation_whose_answers_varied_is_reported_as_measured():
    assert value_at_chance(spec("f1"), {"f1": 0.8, "mcc": 0.4}, BALANCED) is None
    assert value_at_chance(spec("f1"), {"f1": 0.8}, BALANCED) is None  # no MCC: not judged
    # A regression task has no shares: its 0 is no class.
    assert value_at_chance(spec("pearson"), {"pearson": 0.0, "mcc": 0.0}, {}) is None


def test_a_multitask_mean_takes_each_one_class_task_at_chance():
    """SST (5 classes, uniform) answered one class: its accuracy 0.3 counts as 0.2 in the
    mean; Quora's and STS's count as measured."""
    tasks = (("sst", "accuracy"), ("quora", "accuracy"), ("sts", "pearson"))
    shares = {"sst": (0.2,) * 5, "quora": (0.63, 0.37)}
    metrics = {
        "sst/accuracy": 0.3,
        "sst/mcc": 0.0,
        "quora/accuracy": 0.7,
        "quora/mcc": 0.3,
        "sts/pearson": 0.5,
        "mean": 0.5,
    }
    assert value_at_chance(spec("mean", tasks=tasks), metrics, shares) == pytest.approx(
        (0.2 + 0.7 + 0.5) / 3
    )
    # A study of one task's metric reads that task only.
    assert value_at_chance(spec("sst/accuracy", tasks=tasks), metrics, shares) == pytest.approx(0.2)
    assert value_at_chance(spec("quora/accuracy", tasks=tasks), metrics, shares) == 0.7


def _task(kind: str, labels: list, num_labels: int) -> EncodedTask:
    dtype = torch.float32 if kind == "regression" else torch.long
    zeros = torch.zeros(len(labels), dtype=torch.long)
    split = EncodedSplit(
        zeros, zeros, torch.arange(len(labels) + 1), torch.tensor(labels, dtype=dtype)
    )
    return EncodedTask(kind, num_labels, 0, split, split)


def test_the_shares_are_of_the_validation_labels_of_classification_tasks():
    tasks = {
        "quora": _task("classification", [0, 1, 1, 1], 2),
        "sst": _task("classification", [4, 4], 5),  # classes that never occur share 0
        "sts": _task("regression", [1.0, 3.0], 1),
    }
    assert label_shares(tasks) == {"quora": (0.25, 0.75), "sst": (0, 0, 0, 0, 1.0)}
