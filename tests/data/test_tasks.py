from __future__ import annotations

import logging

import numpy as np
import pytest

from hpsearch.data.load import load_task
from hpsearch.errors import DataError
from hpsearch.spec.schema import TaskSpec
from tests.studies import quora_data


def local(**kw) -> TaskSpec:
    """The Quora task of the shipped studies, all of it unless ``kw`` says otherwise."""
    return TaskSpec.model_validate({**quora_data(), **kw})


def test_quora_tsv_drops_missing_labels_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        data = load_task(local())
    # The README of the shared data: 14,000 train rows, a few with an empty label.
    assert 13_990 <= len(data.train) < 14_000
    assert "missing label" in caplog.text and "of 14000 rows" in caplog.text
    assert data.kind == "classification" and data.num_labels == 2
    assert set(np.unique(data.train.labels)) == {0, 1}
    assert 0.3 < data.train.labels.mean() < 0.45  # about 37% duplicates
    assert all(len(t) == 2 and all(isinstance(s, str) for s in t) for t in data.train.texts[:50])


def test_subsets_are_seeded():
    a = load_task(local(max_train_samples=100, max_eval_samples=50, seed=1))
    b = load_task(local(max_train_samples=100, max_eval_samples=50, seed=1))
    c = load_task(local(max_train_samples=100, max_eval_samples=50, seed=2))
    assert len(a.train) == 100 and len(a.validation) == 50
    assert a.train.texts == b.train.texts
    assert a.train.texts != c.train.texts


def test_sts_regression_labels(cs224n):
    spec = TaskSpec.model_validate(
        {
            "name": "local",
            "train_file": str(cs224n / "sts-train.tsv"),
            "validation_file": str(cs224n / "sts-dev.tsv"),
            "text_fields": ["sentence1", "sentence2"],
            "label_field": "similarity",
            "label_kind": "regression",
        }
    )
    data = load_task(spec)
    assert data.num_labels == 1 and data.train.labels.dtype == np.float32
    assert data.train.labels.min() >= 0.0 and data.train.labels.max() <= 5.0


def test_sst_has_five_classes(cs224n):
    spec = TaskSpec.model_validate(
        {
            "name": "local",
            "train_file": str(cs224n / "sst-train.tsv"),
            "validation_file": str(cs224n / "sst-dev.tsv"),
            "text_fields": ["sentence"],
            "label_field": "sentiment",
        }
    )
    assert load_task(spec).num_labels == 5


def test_unknown_column_lists_the_columns():
    with pytest.raises(DataError, match=r"no column \['question1'\].*sentence1"):
        load_task(local(text_fields=["question1", "sentence2"]))


def test_offline_default_task():
    data = load_task(TaskSpec())
    total = len(data.train) + len(data.validation)
    assert 9_000 < total < 10_605  # snippets with a zero score are dropped
    assert abs(len(data.validation) / total - 0.1) < 0.01
    assert 0.4 < data.train.labels.mean() < 0.6


def test_label_names_share_ids_across_splits(tmp_path):
    """A class missing from the validation split keeps the id it has in training."""
    (tmp_path / "train.csv").write_text("text,label\na,neg\nb,pos\nc,zzz\n")
    (tmp_path / "dev.csv").write_text("text,label\nd,pos\ne,zzz\n")
    spec = TaskSpec.model_validate(
        {
            "name": "local",
            "train_file": str(tmp_path / "train.csv"),
            "validation_file": str(tmp_path / "dev.csv"),
            "text_fields": ["text"],
            "label_field": "label",
        }
    )
    data = load_task(spec)
    assert data.num_labels == 3
    assert data.train.labels.tolist() == [0, 1, 2]
    assert data.validation.labels.tolist() == [1, 2]


SST2 = {"0": 0, "1": 0, "3": 1, "4": 1}


def sst(cs224n, **kw) -> TaskSpec:
    fields = {
        "name": "local",
        "train_file": str(cs224n / "sst-train.tsv"),
        "validation_file": str(cs224n / "sst-dev.tsv"),
        "text_fields": ["sentence"],
        "label_field": "sentiment",
    }
    return TaskSpec.model_validate({**fields, **kw})


def test_label_map_makes_sst5_binary_as_sst2(cs224n, caplog):
    five = load_task(sst(cs224n))
    with caplog.at_level(logging.WARNING):
        two = load_task(sst(cs224n, label_map=SST2))
    assert five.num_labels == 5 and two.num_labels == 2
    # SST-2's published sizes: 6,920 training and 872 validation sentences.
    assert (len(two.train), len(two.validation)) == (6920, 872)
    assert "dropped 1624 of 8544 rows whose label is not in task.label_map" in caplog.text
    by_text = dict(zip(five.train.texts, five.train.labels, strict=True))
    for text, label in zip(two.train.texts, two.train.labels, strict=True):
        assert by_text[text] != 2 and label == int(by_text[text] >= 3)


def test_label_map_to_names_and_by_value(cs224n):
    five = load_task(sst(cs224n))
    data = load_task(sst(cs224n, label_map={"0.0": "neg", "4": "pos"}))  # "0.0" matches 0
    assert data.num_labels == 2
    assert len(data.train) == int(np.isin(five.train.labels, [0, 4]).sum())
    assert data.train.labels.mean() == pytest.approx(
        (five.train.labels == 4).sum() / len(data.train)
    )


def test_label_map_with_no_matching_label_names_the_labels(cs224n):
    with pytest.raises(DataError, match=r"no label in 'sentiment' is a key of task.label_map"):
        load_task(sst(cs224n, label_map={"positive": 1}))
