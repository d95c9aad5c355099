"""Validation metrics, by label kind: what each task reports and how it is computed."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    # numpy and scikit-learn are imported where metrics are computed: the names and
    # directions here are read by every command, which must start fast.
    import numpy as np

LabelKind = Literal["classification", "regression"]

# The metrics a task of each kind reports; "loss" is the mean validation loss.
METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("accuracy", "f1", "mcc", "loss"),
    "regression": ("pearson", "spearman", "mse", "loss"),
}
# Metrics where smaller is better; every other metric is maximized.
MINIMIZED = frozenset({"loss", "mse"})
# A multitask study's metrics: every task's own under "<task key>/<metric>" ("sts/pearson"),
# and MEAN, the mean of each task's chosen metric (the CS224N leaderboard's mean of SST
# accuracy, Quora accuracy and STS Pearson).
MEAN = "mean"
SEPARATOR = "/"


def metric_names(kind: LabelKind) -> tuple[str, ...]:
    """The metric names a task of ``kind`` reports."""
    return METRICS[kind]


def default_direction(metric: str) -> Literal["maximize", "minimize"]:
    """Whether ``metric`` is minimized (a loss, an error) or maximized; ``"sts/mse"`` is
    judged by its own name, ``mse``."""
    return "minimize" if metric.rsplit(SEPARATOR, 1)[-1] in MINIMIZED else "maximize"


def answered_one_class(mcc: float | None) -> bool:
    """Whether a classifier whose evaluation has this MCC answered one class for every
    example: scikit-learn's MCC of constant predictions is exactly 0, which predictions
    that vary reach only by chance. Such a classifier learned nothing, whatever its accuracy
    (the majority's share) or F1 (answering "duplicate" for every Quora pair scores 0.63)."""
    return mcc == 0.0


def _tasks_where(
    metrics: Mapping[str, float], metric: str, holds: Callable[[float], bool]
) -> list[str]:
    """The keys of the tasks whose ``metric`` (``metric`` for a single task, key ``""``;
    ``<key>/<metric>`` in a multitask study) satisfies ``holds``, in recording order."""
    keys = []
    for name, value in metrics.items():
        key, _, last = name.rpartition(SEPARATOR)
        if last == metric and holds(value):
            keys.append(key)
    return keys


def one_class_tasks(metrics: Mapping[str, float]) -> list[str]:
    """The tasks that answered one class for every example at the evaluation that measured
    ``metrics`` (an evaluation record's, or a trial's ``metrics`` attr): those whose MCC is
    exactly 0. Only classification tasks record an MCC, under ``mcc`` for a single task
    (key ``""``) and ``<key>/mcc`` in a multitask study."""
    return _tasks_where(metrics, "mcc", answered_one_class)


def constant_tasks(metrics: Mapping[str, float]) -> list[str]:
    """The regression tasks that predicted the same value for every example at the
    evaluation that measured ``metrics``: those whose Pearson is exactly 0, the score
    :func:`compute_metrics` gives a constant prediction (its correlation is undefined),
    which predictions that vary reach only by chance. The regression analogue of
    :func:`one_class_tasks`, keyed alike (``""`` for a single task)."""
    return _tasks_where(metrics, "pearson", lambda value: value == 0.0)


def every_task_flat(metrics: Mapping[str, float]) -> bool:
    """Whether every task of the evaluation that measured ``metrics`` learned nothing:
    each task records its loss (``loss``, or ``<key>/loss`` in a multitask study), and each
    of them answered one class (:func:`one_class_tasks`) or, for a regression task,
    predicted one value (:func:`constant_tasks`). A multitask run where one task's answers
    varied is never said to have learned nothing. Without any loss recorded, one flat task
    is enough."""
    parts = [name.rpartition(SEPARATOR) for name in metrics]
    tasks = {key for key, _, last in parts if last == "loss"}
    flat = set(one_class_tasks(metrics)) | set(constant_tasks(metrics))
    return bool(flat) and tasks <= flat


def chance_score(metric: str, shares: Sequence[float]) -> float:
    """The expected score of a guess that knows only the label shares.

    The guess is stratified (scikit-learn's ``DummyClassifier(strategy="stratified")``): it
    answers class c with probability p_c, the share of c among the validation labels
    (``shares``, c = 0 … K − 1, summing to 1), whatever the example. On a validation split
    large enough that the expectation of a ratio is the ratio of the expectations:

    - ``accuracy`` = Σ_c p_c²: the guess is c and the label is c.
    - ``f1`` with K = 2 (the positive class's, as :func:`compute_metrics` scores it) = p_1:
      precision P(label 1 | guess 1) = p_1 and recall P(guess 1 | label 1) = p_1.
    - ``f1`` with K > 2 (macro) = the mean of each class's F1, p_c likewise, over the
      classes that occur: 1 / #{c : p_c > 0}.
    - ``mcc`` = 0: the guess is independent of the label.
    - ``loss`` = −Σ_c p_c ln p_c, the entropy of the shares: the cross-entropy of answering
      the shares themselves (``strategy="prior"``; a hard guess's would be infinite).

    Balanced binary labels give accuracy 0.5, F1 0.5, MCC 0 and loss ln 2, where answering
    "positive" for every example scores accuracy 0.5 and F1 2p_1 / (1 + p_1) = 0.667.

    Raises:
        ValueError: ``metric`` is not a classification metric, or ``shares`` are empty.
    """
    import math

    if metric not in METRICS["classification"]:
        raise ValueError(
            f"chance is defined for the classification metrics "
            f"{list(METRICS['classification'])}, but got {metric!r}"
        )
    if not shares:
        raise ValueError("chance needs the label shares of at least one class, but got none")
    if metric == "accuracy":
        return float(sum(p * p for p in shares))
    if metric == "f1":
        if len(shares) == 2:
            return float(shares[1])
        return 1.0 / sum(p > 0 for p in shares)
    if metric == "mcc":
        return 0.0
    return float(-sum(p * math.log(p) for p in shares if p > 0))


def below_chance_tasks(metrics: Mapping[str, float]) -> list[str]:
    """The tasks whose classifier did worse than chance at the evaluation that measured
    ``metrics``: those whose MCC is below 0 (its answers go against the labels). Keys as
    :func:`one_class_tasks` gives them."""
    return _tasks_where(metrics, "mcc", lambda value: value < 0)


def evaluation_rank(
    metrics: Mapping[str, float], metric: str, maximize: bool
) -> tuple[bool, float]:
    """The key by which a trial's evaluations are compared, the largest best: first whether
    every classifier's answers varied (:func:`one_class_tasks` is empty), then ``metric``
    in the study's direction. Answering "duplicate" for every Quora pair scores F1 0.63,
    more than most small trials reach by learning; such an evaluation is a trial's best only
    if every evaluation was so."""
    value = metrics[metric]
    return not one_class_tasks(metrics), value if maximize else -value


def default_task_metric(kind: LabelKind) -> str:
    """The metric a task adds to a multitask mean unless its study says otherwise: accuracy
    for classification, Pearson for regression, as on the CS224N leaderboard."""
    return "accuracy" if kind == "classification" else "pearson"


def task_metric(key: str, metric: str) -> str:
    """The name of a task's metric in a multitask study: ``task_metric("sts", "pearson")``
    is ``"sts/pearson"``."""
    return f"{key}{SEPARATOR}{metric}"


def recorded_as(key: str, metric: str) -> str:
    """Task ``key``'s ``metric`` as an evaluation records it: ``metric`` for a single task
    (key ``""``), ``<key>/<metric>`` in a multitask study."""
    return task_metric(key, metric) if key else metric


def multitask_metrics(
    per_task: Mapping[str, Mapping[str, float]], chosen: Mapping[str, str]
) -> dict[str, float]:
    """One evaluation of several tasks as one flat dict: every task's metrics under
    ``"<key>/<metric>"``, and :data:`MEAN`, the mean over tasks of ``chosen[key]``.

    Example: ``multitask_metrics({"sst": {"accuracy": 0.5}, "sts": {"pearson": 0.7}},
    {"sst": "accuracy", "sts": "pearson"})`` holds ``sst/accuracy``, ``sts/pearson`` and
    ``mean`` = 0.6.
    """
    import numpy as np

    flat = {task_metric(key, m): v for key, metrics in per_task.items() for m, v in metrics.items()}
    flat[MEAN] = float(np.mean([per_task[key][chosen[key]] for key in per_task]))
    return flat


def metrics_of_task(flat: Mapping[str, float], key: str) -> dict[str, float]:
    """The metrics of task ``key`` in a flat multitask dict, under their own names."""
    prefix = key + SEPARATOR
    return {m[len(prefix) :]: v for m, v in flat.items() if m.startswith(prefix)}


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
    import numpy as np

    if kind == "classification":
        from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

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
        "pearson": 0.0 if constant else pearson(preds, labels),
        "spearman": 0.0 if constant else spearman(preds, labels),
        "mse": float(np.mean((preds - labels) ** 2)),
        "loss": float(loss),
    }


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's correlation of two series of equal length, as ``scipy.stats.pearsonr``
    computes it (equal within float rounding; tests/test_metrics.py checks), without
    importing scipy for one number.

    Computed in float64. NaN or ±inf in either series gives NaN; so does a constant series,
    whose correlation is undefined (:func:`compute_metrics` scores it 0 instead).
    """
    import numpy as np

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    # inf - inf, 0 / 0: NaN is the answer there, not a warning.
    with np.errstate(invalid="ignore", divide="ignore"):
        dx, dy = x - x.mean(), y - y.mean()
        # Scaled by the largest deviation before the dot products, as scipy does, so that
        # the squares of values near 1e200 do not overflow.
        dx, dy = dx / np.abs(dx).max(), dy / np.abs(dy).max()
        r = np.dot(dx, dy) / (np.linalg.norm(dx) * np.linalg.norm(dy))
    return float(np.clip(r, -1.0, 1.0))  # |r| > 1 only by rounding; NaN stays NaN


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation: :func:`pearson` of the ranks, ties given their mean
    rank, as ``scipy.stats.spearmanr`` computes it. NaN in either series gives NaN."""
    import numpy as np

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if np.isnan(x).any() or np.isnan(y).any():
        return float("nan")  # a NaN has no rank (argsort would put it last)
    return pearson(_ranks(x), _ranks(y))


def _ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values``, equal values sharing the mean of their ranks
    (``scipy.stats.rankdata``'s default, "average")."""
    import numpy as np

    order = np.argsort(values, kind="stable")
    ordered = values[order]
    first = np.r_[True, ordered[1:] != ordered[:-1]]  # where each run of equal values starts
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], len(values)]
    ranks = np.empty(len(values))
    # A run's positions start ... end - 1 hold ranks start + 1 ... end: their mean.
    ranks[order] = ((starts + 1 + ends) / 2)[np.cumsum(first) - 1]
    return ranks
