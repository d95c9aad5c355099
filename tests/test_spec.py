from __future__ import annotations

from pathlib import Path

import pytest

from hpsearch.errors import SpecError
from hpsearch.space import Categorical, FloatRange, IntRange
from hpsearch.spec import apply_override, load_spec, parse_spec

MIN = {"study": {"name": "s"}}


def parse(extra: dict) -> object:
    raw = {**MIN, **extra}
    return parse_spec(raw, source="study.toml", base_dir=Path("/tmp"))


def test_defaults_are_resolved_once():
    spec = parse({})
    assert spec.study.metric == "f1"  # primary metric of the offline default task
    assert spec.study.direction == "maximize"
    assert spec.study.storage == "sqlite:////tmp/s.db"
    assert spec.train.lr == 1e-4 and spec.train.batch_size == 32
    assert spec.train.max_grad_norm == 1.0 and spec.train.warmup_ratio == 0.0


def test_loss_metric_defaults_to_minimize():
    assert parse({"study": {"name": "s", "metric": "loss"}}).study.direction == "minimize"


@pytest.mark.parametrize(
    ("raw", "key", "expected"),
    [
        ({"study": {"name": "s", "bogus": 1}}, "study.bogus", "unknown key"),
        ({"train": {"lr": "1e-4"}}, "train.lr", "valid number"),
        ({"train": {"epochs": 1.5}}, "train.epochs", "valid integer"),
        ({"train": {"epochs": True}}, "train.epochs", "valid integer"),
        ({"train": {"lr": 0}}, "train.lr", "greater than 0"),
        ({"trian": {"lr": 1e-4}}, "trian", "unknown section"),
        ({"task": {"name": "qqqp"}}, "task.name", "unknown task 'qqqp'"),
        ({"optimizer": {"kind": "adam"}}, "optimizer.kind", "unknown optimizer 'adam'"),
        ({"optimizer": {"kind": "sgd", "eps": 1e-8}}, "optimizer.eps", "not a hyperparameter"),
        ({"optimizer": {"kind": "mfac", "num_grads": 1.5}}, "optimizer.num_grads", "expected int"),
        (
            {"space": {"train": {"lr": {"low": 1e-3, "high": 1e-5}}}},
            "space.train.lr",
            "`low <= high`",
        ),
        ({"space": {"train": {"lr": {"low": 1e-3, "high": 1e-3}}}}, "space.train.lr", "empty"),
        (
            {"space": {"train": {"lr": {"low": 0.0, "high": 1e-3, "log": True}}}},
            "space.train.lr",
            "low > 0",
        ),
        (
            {"space": {"train": {"batch_size": {"low": 8.5, "high": 64}}}},
            "space.train.batch_size",
            "integer",
        ),
        (
            {"space": {"train": {"batch_size": {"choices": []}}}},
            "space.train.batch_size",
            "non-empty",
        ),
        (
            {"space": {"train": {"batch_size": {"choices": [16, 0]}}}},
            "space.train.batch_size",
            "greater than or equal to 1",
        ),
        (
            {"space": {"train": {"lr": {"low": 1e-5, "high": 1e-3, "logg": True}}}},
            "space.train.lr",
            "`low`, `high`",
        ),
        (
            {"space": {"train": {"nope": {"low": 1, "high": 2}}}},
            "space.train.nope",
            "unknown field",
        ),
        (
            {"space": {"study": {"n_trials": {"low": 1, "high": 2}}}},
            "space.study.n_trials",
            "only sections",
        ),
        (
            {"space": {"optimizer": {"num_grads": {"choices": [8]}}}},
            "space.optimizer.num_grads",
            "no optimizer among ['adamw']",
        ),
        (
            {"space": {"optimizer": {"kind": {"choices": ["adamw", "lion"]}}}},
            "space.optimizer.kind",
            "unknown optimizer 'lion'",
        ),
        ({"study": {"name": "s", "metric": "pearson"}}, "study.metric", "not 'pearson'"),
        (
            {"study": {"name": "s", "pruner": {"name": "hyperband", "n_warmup_steps": 1}}},
            "study.pruner.n_warmup_steps",
            "does not apply",
        ),
        (
            {"study": {"name": "s", "enqueue": [{"train.lr": 1e-4}]}},
            "study.enqueue[0].train.lr",
            "not a searched parameter",
        ),
        ({"task": {"name": "local"}}, "task.train_file", "required"),
        ({"task": {"train_file": "x.tsv"}}, "task.train_file", "only applies"),
    ],
)
def test_bad_spec_names_file_key_and_expectation(raw, key, expected):
    with pytest.raises(SpecError) as info:
        parse(raw)
    err = info.value
    assert err.source == "study.toml"
    assert err.key == key
    assert expected in str(err)
    assert str(err).startswith(f"study.toml: `{key}`")


def test_missing_local_file_is_named(tmp_path):
    raw = {
        **MIN,
        "task": {
            "name": "local",
            "train_file": "nope.tsv",
            "validation_file": "v.tsv",
            "text_fields": ["a"],
            "label_field": "y",
        },
    }
    with pytest.raises(SpecError, match="no such file") as info:
        parse_spec(raw, source="x.toml", base_dir=tmp_path)
    assert info.value.key == "task.train_file"


def test_space_types_follow_fields():
    spec = parse(
        {
            "space": {
                "train": {
                    "lr": {"low": 1e-5, "high": 1e-3, "log": True},
                    "epochs": {"low": 1, "high": 4},
                    "batch_size": {"choices": [16, 32]},
                },
                "optimizer": {
                    "kind": {"choices": ["adamw", "mfac"]},
                    "num_grads": {"choices": [8, 16]},
                    "damp": {"low": 1e-8, "high": 1e-2, "log": True},
                },
            }
        }
    )
    assert spec.space["train.lr"] == FloatRange(1e-5, 1e-3, log=True)
    assert spec.space["train.epochs"] == IntRange(1, 4)
    assert spec.space["train.batch_size"] == Categorical((16, 32))
    assert isinstance(spec.space["optimizer.damp"], FloatRange)


def test_with_params_fills_sections():
    spec = parse({}).with_params(
        {"train.lr": 3e-4, "optimizer.kind": "mfac", "optimizer.num_grads": 8}
    )
    assert spec.train.lr == 3e-4
    assert spec.optimizer.kind == "mfac" and spec.optimizer.hparams == {"num_grads": 8}


def test_to_dict_round_trips_through_json():
    import json

    spec = parse({"space": {"train": {"lr": {"low": 1e-5, "high": 1e-3, "log": True}}}})
    data = json.loads(json.dumps(spec.to_dict()))
    assert data["space"]["train.lr"] == {"low": 1e-5, "high": 1e-3, "log": True}
    assert data["train"]["lr"] == 1e-4


def test_override_parses_toml_values_and_strings():
    raw: dict = {"study": {"name": "s"}}
    apply_override(raw, "train.epochs=1")
    apply_override(raw, "model.name=prajjwal1/bert-tiny")
    apply_override(raw, "train.group_by_length=false")
    assert raw["train"] == {"epochs": 1, "group_by_length": False}
    assert raw["model"]["name"] == "prajjwal1/bert-tiny"


def test_override_fixes_a_searched_field():
    raw = {
        "study": {
            "name": "s",
            "enqueue": [{"optimizer.kind": "mfac", "optimizer.num_grads": 8, "train.lr": 1e-4}],
        },
        "space": {
            "train": {"lr": {"low": 1e-5, "high": 1e-3}},
            "optimizer": {"kind": {"choices": ["adamw", "mfac"]}, "num_grads": {"choices": [8]}},
        },
    }
    apply_override(raw, "optimizer.kind=adamw")
    spec = parse_spec(raw)
    assert spec.optimizer.kind == "adamw"
    assert set(spec.space) == {"train.lr"}
    assert spec.study.enqueue == [{"train.lr": 1e-4}]


@pytest.mark.parametrize("item", ["train.epochs", "epochs=1", "=1", "train..x=1"])
def test_malformed_override(item):
    with pytest.raises(SpecError, match=r"section\.key=value"):
        apply_override({}, item)


def test_load_spec_reports_toml_syntax(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[study\nname = 'x'\n")
    with pytest.raises(SpecError, match="not valid TOML") as info:
        load_spec(path)
    assert str(path) in str(info.value)


def test_shipped_studies_are_valid():
    root = Path(__file__).resolve().parents[1] / "studies"
    files = sorted(root.glob("*.toml"))
    assert files, "no study files shipped"
    for path in files:
        spec = load_spec(path)
        assert spec.study.name


@pytest.mark.parametrize("model", ["tiny", "mini"])
@pytest.mark.parametrize("optimizer", ["adam", "mfac"])
def test_seed_reproductions_start_with_the_cards_setting(model, optimizer):
    root = Path(__file__).resolve().parents[1] / "studies"
    spec = load_spec(root / f"qqp-bert-{model}-{optimizer}.toml")
    first = spec.study.enqueue[0]
    assert set(first) == set(spec.space)  # every searched value is pinned
    assert (first["train.lr"], first["train.batch_size"], first["train.epochs"]) == (1e-4, 32, 5)
    assert spec.task.name == "qqp" and spec.task.max_length == 128
    assert spec.model.name == f"prajjwal1/bert-{model}" and spec.metric == "f1"
    assert spec.train.max_grad_norm == 1.0 and spec.train.warmup_ratio == 0.0
    if optimizer == "mfac":
        assert (first["optimizer.num_grads"], first["optimizer.damp"]) == (1024, 1e-6)
        assert spec.optimizer.kind == "mfac"
        assert spec.study.baseline == str(root / f"qqp-bert-{model}-adam.toml")
    else:
        assert spec.optimizer.kind == "adamw"
