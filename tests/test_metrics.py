from __future__ import annotations

import numpy as np
import pytest

from hpsearch.metrics import answered_one_class, compute_metrics, pearson, spearman


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
