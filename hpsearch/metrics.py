"""Validation metrics, by label kind: what each task reports and how it is computed."""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import stats
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

LabelKind = Literal["classification", "regression"]

# The metrics a task of each kind reports; "loss" is the mean validation loss.
METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("accuracy", "f1", "mcc", "loss"),
    "regression": ("pearson", "spearman", "mse", "loss"),
}
# Metrics where smaller is better; every other metric is maximized.
MINIMIZED = frozenset({"loss", "mse"})


def metric_names(kind: LabelKind) -> tuple[str, ...]:
    """The metric names a task of ``kind`` reports."""
    return METRICS[kind]


def default_direction(metric: str) -> Literal["maximize", "minimize"]:
    return "minimize" if metric in MINIMIZED else "maximize"


def compute_metrics(
    kind: LabelKind, outputs: np.ndarray, labels: np.ndarray, loss: float
) -> dict[str, float]:
    """Metrics of one evaluation.

    Args:
        kind: ``classification`` (``outputs`` are logits, shape ``[n, num_labels]``) or
            ``regression`` (``outputs`` are predictions, shape ``[n]`` or ``[n, 1]``).
        labels: Gold labels, shape ``[n]``.
        loss: Mean validation loss, passed through as ``loss``.

    ``f1`` is the F1 of the positive class (label 1) for two classes, as GLUE reports it for
    QQP and MRPC, and macro-F1 for more. A constant prediction gives ``pearson`` and
    ``spearman`` of 0 rather than NaN, so that a collapsed model ranks last, not unranked.
    """
    if kind == "classification":
        preds = outputs.argmax(axis=-1)
        binary = outputs.shape[-1] == 2
        return {
            "accuracy": float(accuracy_score(labels, preds)),
            "f1": float(
                f1_score(labels, preds, average="binary" if binary else "macro", zero_division=0)
            ),
            "mcc": float(matthews_corrcoef(labels, preds)),
            "loss": float(loss),
        }
    preds = outputs.reshape(-1)
    constant = np.ptp(preds) == 0 or np.ptp(labels) == 0
    return {
        "pearson": 0.0 if constant else float(stats.pearsonr(preds, labels)[0]),
        "spearman": 0.0 if constant else float(stats.spearmanr(preds, labels)[0]),
        "mse": float(np.mean((preds - labels) ** 2)),
        "loss": float(loss),
    }
