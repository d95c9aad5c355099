"""The shipped Quora studies (AdamW against M-FAC on the shared data), and the small test
studies that every other test derives from them."""

from __future__ import annotations

from pathlib import Path

from hpsearch.spec.load import load_spec
from tests.studies import QUORA, quora_spec

STUDIES = Path(__file__).resolve().parents[2] / "studies"
SEARCHED = {"train.hidden_dropout"}  # and the lr, in its calibrated ranges


def test_the_quora_studies_differ_only_in_the_optimizer():
    adam = load_spec(STUDIES / "quora-adam.toml")
    mfac = load_spec(STUDIES / "quora-mfac.toml")
    assert adam.study.n_trials == mfac.study.n_trials == 16
    assert (adam.study.sampler, adam.study.pruner) == (mfac.study.sampler, mfac.study.pruner)
    assert (adam.task, adam.model, adam.train) == (mfac.task, mfac.model, mfac.train)
    shared = STUDIES.parents[1] / "shared" / "data" / "cs224n"
    assert adam.task.train_file == str((shared / "quora-train.tsv").resolve())
    assert adam.task.validation_file == str((shared / "quora-dev.tsv").resolve())
    assert (adam.model.name, adam.model.num_hidden_layers, adam.task.max_length) == (
        "minilm",
        2,
        128,
    )
    assert (adam.optimizer.kind, mfac.optimizer.kind) == ("adamw", "mfac")
    assert set(adam.space) == SEARCHED
    assert set(mfac.space) == SEARCHED | {"optimizer.num_grads", "optimizer.damp"}
    assert adam.calibrated == mfac.calibrated == ("train.lr",)
    # batch and warmup move M-FAC's narrow region: fixed at the cards', where calibrated
    assert (adam.train.batch_size, adam.train.warmup_ratio) == (32, 0.0)
    assert mfac.study.baseline == str(STUDIES / "quora-adam.toml")


def test_mfac_starts_with_the_cards_untuned_setting_at_its_calibrated_lr():
    """The cards' damp and dropout, at the larger num_grads searched here (the cards keep
    1024: too slow on 2 CPU cores), at the lr its calibration finds best."""
    mfac = load_spec(STUDIES / "quora-mfac.toml")
    first = mfac.study.enqueue[0]
    assert set(first) == set(mfac.searched())  # every searched value is pinned
    num_grads = mfac.space["optimizer.num_grads"].choices
    assert (first["train.lr"], first["optimizer.damp"]) == ("calibrated", 1e-6)
    assert first["optimizer.num_grads"] == max(num_grads)
    damp = mfac.space["optimizer.damp"]
    assert damp.log and damp.low <= 1e-6  # from the cards' up


def test_a_test_study_file_is_the_shipped_study_with_its_overrides(quora_study):
    """What a test study file says is what ``load_spec`` makes of the shipped file and the
    same overrides: the file is written faithfully, enqueued trials and new sections too."""
    size = {"n_trials": 3, "train": 48, "eval": 16}
    changes = [
        "optimizer.kind=mfac",
        "optimizer.num_grads=4",
        "space.optimizer.damp={ low = 1e-6, high = 1e-2, log = true }",
        'study.enqueue=[{ "train.lr" = 1e-4, "optimizer.damp" = 1e-5 }]',
        'model.name="minilm"',
    ]
    written = load_spec(quora_study(name="shrunk", **size, set=changes))
    derived = quora_study.spec(name="shrunk", **size, set=changes)
    assert written.to_dict() == derived.to_dict()
    assert written.study.n_trials == 3 and written.task.max_train_samples == 48
    assert written.optimizer.hparams == {"num_grads": 4}
    assert derived.source == str(QUORA) and quora_spec().study.name == "quora-adam"
