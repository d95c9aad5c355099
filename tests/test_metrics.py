from __future__ import annotations

import numpy as np
import pytest

from hpsearch.metrics import (
    answered_one_class,
    chance_score,
    compute_metrics,
    constant_tasks,
    every_task_flat,
    pearson,
    spearman,
)


def logits_for(preds, n_classes=2):
    out = np.zeros((len(preds), n_classes))
    out[np.arange(len(preds)), preds] = 1.0
    return out


def test_binary_f1_is_of_the_positive_class():
    labels = np.array([1, 1, 0, 0, 0])
    m = compute_metrics("classification", logits_for([1, 0, 1, 0, 0]), labels, loss=0.5)
    # precision 1/2, recall 1/2 for class 1
    assert m["f1"] == pytest.approx(0.5)
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["loss"] == 0.5


def test_all_negative_predictions_give_zero_f1():
    m = compute_metrics("classification", logits_for([0, 0, 0]), np.array([1, 0, 0]), 0.0)
    assert m["f1"] == 0.0 and m["mcc"] == 0.0


def test_one_class_answers_are_told_by_an_mcc_of_exactly_zero():
    """Answering "positive" everywhere scores F1 2p / (1 + p), a number like a result; its
    MCC is exactly 0, as for any constant answers, which is how evaluations tell them."""
    labels = np.array([1, 0, 0, 1, 0])
    everywhere = compute_metrics("classification", logits_for([1] * 5), labels, 0.0)
    assert everywhere["f1"] == pytest.approx(2 * 0.4 / 1.4)
    assert answered_one_class(everywhere["mcc"])
    varied = compute_metrics("classification", logits_for([1, 0, 1, 0, 0]), labels, 0.0)
    assert not answered_one_class(varied["mcc"]) and not answered_one_class(None)


def test_multiclass_f1_is_macro():
    labels = np.array([0, 1, 2, 2])
    m = compute_metrics("classification", logits_for([0, 1, 2, 1], 3), labels, 0.0)
    assert m["f1"] == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)


def test_regression_metrics():
    labels = np.array([0.0, 1.0, 2.0, 3.0])
    m = compute_metrics("regression", np.array([[0.1], [0.9], [2.2], [2.8]]), labels, 0.1)
    assert m["pearson"] > 0.98 and m["spearman"] == pytest.approx(1.0)
    assert m["mse"] == pytest.approx(np.mean([0.01, 0.01, 0.04, 0.04]))


def test_constant_regression_prediction_scores_zero_not_nan():
    m = compute_metrics("regression", np.ones(4), np.array([0.0, 1.0, 2.0, 3.0]), 0.0)
    assert m["pearson"] == 0.0 and m["spearman"] == 0.0


def _series(rng: np.random.Generator, n: int, ties: bool) -> tuple[np.ndarray, np.ndarray]:
    """Predictions (float32, as the trainer's outputs) and labels (float64), with many equal
    values when ``ties`` (STS labels are often whole or half points)."""
    labels = rng.uniform(0, 5, n)
    preds = (labels + rng.normal(0, 1.5, n)).astype(np.float32)
    if ties:
        labels, preds = np.round(labels * 2) / 2, np.round(preds).astype(np.float32)
    return preds, labels


@pytest.mark.parametrize("n", [2, 3, 10, 1000])
@pytest.mark.parametrize("ties", [False, True])
def test_pearson_and_spearman_equal_scipys(n, ties):
    """Computed with numpy alone, so an evaluation imports no scipy; the numbers are
    scipy's within float rounding."""
    from scipy import stats

    rng = np.random.default_rng(n + ties)
    for _ in range(20):
        preds, labels = _series(rng, n, ties)
        if np.ptp(preds) == 0 or np.ptp(labels) == 0:
            continue  # constant: compute_metrics scores 0 without asking either
        m = compute_metrics("regression", preds, labels, 0.0)
        assert m["pearson"] == pytest.approx(stats.pearsonr(preds, labels)[0], abs=1e-12)
        assert m["spearman"] == pytest.approx(stats.spearmanr(preds, labels)[0], abs=1e-12)


def test_pearson_of_huge_values_does_not_overflow():
    from scipy import stats

    x, y = np.array([-5e210, 5e210, 3e200, -3e200]), np.array([1.0, 2.0, 3.0, 4.0])
    assert pearson(x, y) == pytest.approx(stats.pearsonr(x, y)[0], abs=1e-12)


def test_a_diverged_prediction_gives_nan_as_scipy_does():
    """NaN in the predictions: both NaN. An inf: Pearson NaN, and Spearman ranks it above
    every finite value; both as scipy does."""
    from scipy import stats

    labels = np.array([0.0, 1.0, 2.0, 3.0])
    nan = compute_metrics("regression", np.array([0.1, np.nan, 0.3, 0.5]), labels, 0.0)
    assert np.isnan(nan["pearson"]) and np.isnan(nan["spearman"])
    preds = np.array([0.1, np.inf, 0.3, 0.5])
    inf = compute_metrics("regression", preds, labels, 0.0)
    assert np.isnan(inf["pearson"])
    assert inf["spearman"] == pytest.approx(stats.spearmanr(preds, labels)[0], abs=1e-12)
    assert spearman(labels, labels) == 1.0


@pytest.mark.parametrize(
    "shares", [(0.5, 0.5), (0.63, 0.37), (0.2, 0.3, 0.5), (0.1, 0.0, 0.6, 0.3)]
)
def test_chance_is_what_a_stratified_guess_scores(shares):
    """chance_score's formulas against scikit-learn's DummyClassifier(strategy="stratified")
    on 200,000 labels of those shares, as compute_metrics scores it (seeded: the same
    draws every run); the loss is DummyClassifier(strategy="prior")'s."""
    from sklearn.dummy import DummyClassifier
    from sklearn.metrics import log_loss

    rng = np.random.default_rng(0)
    labels = rng.choice(len(shares), size=200_000, p=shares)
    features = np.zeros((len(labels), 1))
    guess = DummyClassifier(strategy="stratified", random_state=0).fit(features, labels)
    measured = compute_metrics(
        "classification", logits_for(guess.predict(features), len(shares)), labels, loss=0.0
    )
    for metric in ("accuracy", "f1", "mcc"):
        assert chance_score(metric, shares) == pytest.approx(measured[metric], abs=0.005)
    prior = DummyClassifier(strategy="prior").fit(features, labels).predict_proba(features)
    assert chance_score("loss", shares) == pytest.approx(log_loss(labels, prior), abs=0.005)


def test_chance_of_balanced_labels_and_of_answering_one_class_there():
    """On balanced reviews a guess scores accuracy 0.5 and F1 0.5; answering "positive"
    everywhere scores the same accuracy but F1 0.667, above chance by F1 alone."""
    balanced = (0.5, 0.5)
    assert chance_score("accuracy", balanced) == 0.5
    assert chance_score("f1", balanced) == 0.5
    assert chance_score("mcc", balanced) == 0.0
    assert chance_score("loss", balanced) == pytest.approx(np.log(2))
    everywhere = compute_metrics(
        "classification", logits_for([1, 1, 1, 1]), np.array([0, 1, 0, 1]), 0.0
    )
    assert everywhere["f1"] == pytest.approx(2 / 3) and everywhere["accuracy"] == 0.5


@pytest.mark.parametrize(
    ("metric", "shares", "why"),
    [
        ("pearson", (0.5, 0.5), "chance is defined for the classification metrics"),
        ("f1", (), "chance needs the label shares of at least one class"),
    ],
)
def test_chance_of_what_it_does_not_cover_is_refused(metric, shares, why):
    with pytest.raises(ValueError, match=why):
        chance_score(metric, shares)


@pytest.mark.parametrize(
    ("metrics", "every"),
    [
        ({"mcc": 0.0, "loss": 0.7}, True),
        ({"mcc": 0.1, "loss": 0.7}, False),
        ({"mcc": 0.0}, True),  # no loss recorded: the one classifier is every task
        ({"sst/mcc": 0.0, "sst/loss": 1.0, "quora/mcc": 0.0, "quora/loss": 0.6}, True),
        ({"sst/mcc": 0.0, "sst/loss": 1.0, "quora/mcc": 0.2, "quora/loss": 0.6}, False),
        ({"sst/mcc": 0.0, "sst/loss": 1.0, "sts/pearson": 0.3, "sts/loss": 2.0}, False),
        ({"sst/mcc": 0.0, "sst/loss": 1.0, "sts/pearson": 0.0, "sts/loss": 2.0}, True),
        ({"pearson": 0.0, "loss": 2.0}, True),  # a regression head that predicted one value
        ({"pearson": 0.02, "loss": 2.0}, False),
    ],
)
def test_every_task_flat_only_where_no_task_learned(metrics, every):
    """A multitask run whose regression task, or another classifier, learned is no run
    that learned nothing; a regression head that predicted one value learned nothing."""
    assert every_task_flat(metrics) is every


def test_a_regression_task_that_predicted_one_value_is_constant():
    assert constant_tasks({"pearson": 0.0, "loss": 2.0}) == [""]
    assert constant_tasks({"sts/pearson": 0.0, "sst/mcc": 0.0, "sst/accuracy": 0.3}) == ["sts"]
    assert constant_tasks({"pearson": 0.01, "spearman": 0.0}) == []
