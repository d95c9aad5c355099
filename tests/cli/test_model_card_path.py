"""The model cards' own path, offline: a GLUE task through ``datasets`` and a hub-style BERT.

``studies/qqp-bert-tiny-mfac.toml`` names ``task.name = "qqp"`` (GLUE through
``datasets.load_dataset``) and ``prajjwal1/bert-tiny`` (a hub id). Neither can be reached here,
so ``load_dataset`` is replaced by a stand-in with GLUE QQP's schema built from shared Quora
rows, and ``model.name`` points at a randomly initialised bert-tiny-shaped model saved with
minilm's uncased tokenizer. Everything between them is the real code.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
QQP_COLUMNS = ("question1", "question2", "label", "idx")


def _quora_rows(path: Path, n: int) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["is_duplicate"] in ("0.0", "1.0"):
                rows.append(row)
            if len(rows) == n:
                break
    return rows


def _glue_qqp(cs224n: Path, n_train: int, n_eval: int):
    """A DatasetDict with GLUE QQP's splits and schema (test labels are -1, as in GLUE)."""
    import datasets

    def split(rows: list[dict], labelled: bool) -> datasets.Dataset:
        return datasets.Dataset.from_dict(
            {
                "question1": [r["sentence1"] for r in rows],
                "question2": [r["sentence2"] for r in rows],
                "label": [int(float(r["is_duplicate"])) if labelled else -1 for r in rows],
                "idx": list(range(len(rows))),
            }
        )

    train = _quora_rows(cs224n / "quora-train.tsv", n_train)
    dev = _quora_rows(cs224n / "quora-dev.tsv", 2 * n_eval)
    return datasets.DatasetDict(
        train=split(train, True),
        validation=split(dev[:n_eval], True),
        test=split(dev[n_eval:], False),
    )


@pytest.fixture
def bert_tiny_standin(tmp_path: Path) -> Path:
    """A randomly initialised model of bert-tiny's shape (hidden 128, 2 layers, 2 heads,
    intermediate 512), saved with minilm's uncased tokenizer, as a local folder."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from hpsearch.data.pretrained import resolve_model

    tokenizer = AutoTokenizer.from_pretrained(resolve_model("minilm"))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=512,
        max_position_embeddings=512,
    )
    torch.manual_seed(0)
    folder = tmp_path / "bert-tiny"
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_qqp_card_study_runs_through_datasets_and_a_hub_style_model(
    tmp_path: Path, cs224n: Path, bert_tiny_standin: Path, monkeypatch, cli
) -> None:
    import datasets
    import optuna

    calls: list[tuple] = []
    glue = _glue_qqp(cs224n, n_train=96, n_eval=64)

    def load_dataset(path: str, name: str | None = None, **kwargs):
        calls.append((path, name))
        return glue

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    assert set(glue["train"].column_names) == set(QQP_COLUMNS)
    storage = f"sqlite:///{tmp_path / 'card.db'}"
    overrides = [
        f"study.storage={storage}",
        f"model.name={bert_tiny_standin}",
        "train.epochs=1",
        "train.batch_size=16",
        "task.max_length=64",
        "optimizer.num_grads=8",
        # The card's lr in a range of its own: what is under test is the data and model path,
        # not calibrating (a random stand-in learns at no lr in one epoch of 96 pairs).
        "space.train.lr={ low = 1e-5, high = 1e-3, log = true }",
        'study.enqueue=[{ "train.lr" = 1e-4, "train.hidden_dropout" = 0.1, '
        '"optimizer.damp" = 1e-6 }]',
    ]
    args = ["run", str(REPO / "studies/qqp-bert-tiny-mfac.toml"), "--n-trials", "1"]
    for item in overrides:
        args += ["--set", item]
    code, out, err = cli(*args)
    assert code == 0, err
    assert "1/1 trials finished" in out
    assert calls == [("nyu-mll/glue", "qqp")]
    study = optuna.load_study(study_name="qqp-bert-tiny-mfac", storage=storage)
    (trial,) = study.trials
    assert trial.state == optuna.trial.TrialState.COMPLETE
    # The enqueued card setting ran, with what the overrides fixed taken out of it.
    assert trial.params["train.lr"] == pytest.approx(1e-4)
    assert trial.params["optimizer.damp"] == pytest.approx(1e-6)
    assert "optimizer.num_grads" not in trial.params
    measured = trial.user_attrs["metrics"]["f1"]
    assert 0.0 <= measured <= 1.0
    # The value is the F1 measured, or at chance where the classifier answered one class
    # (the card's setting at this size can: F1 0.56 for "duplicate" everywhere).
    assert trial.value == pytest.approx(trial.user_attrs.get("value_at_chance", measured))
    assert trial.value <= measured
