from __future__ import annotations

import re
from pathlib import Path

import pytest

from hpsearch.errors import SpecError
from hpsearch.pruners import PRUNERS, SAMPLERS
from hpsearch.schedules import SCHEDULES
from hpsearch.spec.load import apply_override, load_spec
from hpsearch.spec.schema import APPLIES_WHEN, FinetuneSpec, PrunerSpec, SamplerSpec, TrainSpec
from hpsearch.spec.space import Categorical, ConditionalParam, FloatRange, IntRange, field_params
from hpsearch.spec.validate import parse_spec, with_conditional_ranges

MIN = {"study": {"name": "s"}}
# A local task whose files are not read before the keys are checked.
LOCAL = {
    "name": "local",
    "train_file": "t.tsv",
    "validation_file": "v.tsv",
    "text_fields": ["sentence"],
    "label_field": "sentiment",
}


LR = {"low": 1e-5, "high": 1e-3, "log": True}


def by_kind(tables: dict, enqueue: list | None = None) -> dict:
    """A study searching AdamW and M-FAC, with ``[space.by_kind]`` ``tables``."""
    raw = {"space": {"optimizer": {"kind": {"choices": ["adamw", "mfac"]}}, "by_kind": tables}}
    return raw if enqueue is None else {**raw, "study": {"name": "s", "enqueue": enqueue}}


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
            {"optimizer": {"kind": "mfac", "weight_decay_mode": "l2"}},
            "optimizer.weight_decay_mode",
            "must be one of ['decoupled', 'coupled'], got 'l2'",
        ),
        (
            {"optimizer": {"kind": "mfac", "weight_decay_mode": True}},
            "optimizer.weight_decay_mode",
            "expected str, got True",
        ),
        (
            {"optimizer": {"kind": "adamw", "weight_decay_mode": "coupled"}},
            "optimizer.weight_decay_mode",
            "not a hyperparameter of ['adamw']",
        ),
        (
            {
                "optimizer": {"kind": "mfac"},
                "space": {"optimizer": {"weight_decay_mode": {"choices": ["coupled", "l2"]}}},
            },
            "space.optimizer.weight_decay_mode",
            "must be one of ['decoupled', 'coupled'], got 'l2'",
        ),
        (
            {"optimizer": {"kind": "mfac", "layout": "sparse"}},
            "optimizer.layout",
            "must be one of ['auto', 'dense'], got 'sparse'",
        ),
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
        (
            {"study": {"name": "s", "pruner": {"name": "asha"}}},
            "study.pruner.name",
            "unknown pruner 'asha'; choose one of ['hyperband', 'median', 'none',",
        ),
        (
            {"study": {"name": "s", "sampler": {"name": "random", "multivariate": False}}},
            "study.sampler.multivariate",
            "does not apply to the 'random' sampler; it takes no options",
        ),
        (
            {"study": {"name": "s", "heartbeat_interval": 200}},
            "study.heartbeat_grace",
            "must be longer than study.heartbeat_interval (200 s)",
        ),
        (
            {"space": {"train": {"schedule": {"choices": ["linear", "cyclic"]}}}},
            "space.train.schedule",
            "unknown schedule 'cyclic'",
        ),
        ({"task": {**LOCAL, "text_fields": []}}, "task.text_fields", "one or two column names"),
        (
            {"tasks": [{**LOCAL, "key": "a", "label_map": {}}, {**LOCAL, "key": "b"}]},
            "tasks[0].label_map",
            "at least one",
        ),
        ({"task": {"name": "local"}}, "task.train_file", "required"),
        ({"task": {"train_file": "x.tsv"}}, "task.train_file", "only applies"),
        ({"task": {"label_map": {"0": 0}}}, "task.label_map", "only applies"),
        (
            {"task": {**LOCAL, "label_kind": "regression", "label_map": {"0": 0}}},
            "task.label_map",
            "classification",
        ),
        ({"task": {**LOCAL, "label_map": {}}}, "task.label_map", "at least one"),
        ({"finetune": {"mode": "prefix"}}, "finetune.mode", "'adapter' or 'lora'"),
        ({"finetune": {"mode": "full", "bogus": 1}}, "finetune.bogus", "unknown key"),
        ({"finetune": {"layer_lr_decay": 1.5}}, "finetune.layer_lr_decay", "less than or equal"),
        ({"finetune": {"adapter_size": 0}}, "finetune.adapter_size", "greater than or equal"),
        ({"train": {"schedule": "cyclic"}}, "train.schedule", "'slanted_triangular'"),
        ({"train": {"cut_frac": 1.0}}, "train.cut_frac", "less than 1"),
        (
            {"finetune": {"adapter_size": 16}},
            "finetune.adapter_size",
            "only applies when finetune.mode is one of ['adapter'], not 'full'",
        ),
        (
            {"finetune": {"mode": "frozen", "unfreeze_every": 1}},
            "finetune.unfreeze_every",
            "only applies when finetune.mode",
        ),
        (
            {"finetune": {"mode": "frozen", "layer_lr_decay": 0.5}},
            "finetune.layer_lr_decay",
            "not 'frozen'",
        ),
        ({"train": {"cut_frac": 0.2}}, "train.cut_frac", "only applies when train.schedule"),
        (
            {"train": {"schedule": "slanted_triangular", "warmup_ratio": 0.1}},
            "train.warmup_ratio",
            "only applies",
        ),
        (
            {"space": {"train": {"ratio": {"choices": [8.0, 32.0]}}}},
            "space.train.ratio",
            "not 'linear'",
        ),
        (
            {
                "space": {
                    "train": {
                        "schedule": {"choices": ["linear", "cosine"]},
                        "cut_frac": {"low": 0.05, "high": 0.3},
                    }
                }
            },
            "space.train.cut_frac",
            "not ['linear', 'cosine']",
        ),
        (
            {"space": {"finetune": {"mode": {"choices": ["full", "ladder"]}}}},
            "space.finetune.mode",
            "'adapter' or 'lora'",
        ),
        (
            {
                "study": {"name": "s", "enqueue": [{"train.lr": 1.0}]},
                "space": {"train": {"lr": LR}},
            },
            "study.enqueue[0].train.lr",
            "1.0 is outside space.train.lr, which searches 1e-05 – 0.001 (log)",
        ),
        # [space.by_kind]: one optimizer kind's own entries
        (
            by_kind({"sgd": {"train": {"lr": LR}}}),
            "space.by_kind.sgd",
            "'sgd' is not among space.optimizer.kind's choices ['adamw', 'mfac']",
        ),
        (
            by_kind({"adamw": {"optimizer": {"num_grads": {"choices": [8]}}}}),
            "space.by_kind.adamw.optimizer.num_grads",
            "the 'adamw' optimizer does not take 'num_grads'; it takes ['beta1', 'beta2', 'eps']",
        ),
        (
            {"space": {"by_kind": {"mfac": {"train": {"lr": LR}}}}},
            "space.by_kind.mfac",
            "depends on optimizer.kind, which the space must search as choices ([space.optimizer] "
            "kind = { choices = [...] }); it is not searched (fixed at 'adamw')",
        ),
        (
            by_kind({"mfac": {"train": {"lr": {"low": 1e-1, "high": 1e-3}}}}),
            "space.by_kind.mfac.train.lr",
            "`low <= high`",
        ),
        (
            by_kind({"mfac": {"train": {"hidden_dropout": {"low": 0.0, "high": 1.5}}}}),
            "space.by_kind.mfac.train.hidden_dropout",
            "less than 1",
        ),
        (
            by_kind({"mfac": {"train": {"bogus": LR}}}),
            "space.by_kind.mfac.train.bogus",
            "unknown field",
        ),
        (
            by_kind({"mfac": {"study": {"n_trials": LR}}}),
            "space.by_kind.mfac.study",
            "only sections",
        ),
        (
            by_kind({"mfac": {"optimizer": {"kind": {"choices": ["mfac"]}}}}),
            "space.by_kind.mfac.optimizer.kind",
            "optimizer.kind decides the other fields",
        ),
        (
            by_kind({"mfac": {"train": {"cut_frac": {"low": 0.1, "high": 0.3}}}}),
            "space.by_kind.mfac.train.cut_frac",
            "only applies when train.schedule is one of ['slanted_triangular']",
        ),
        (
            {"space": {"by_kind": 3}},
            "space.by_kind",
            "expected tables [space.by_kind.KIND.SECTION]",
        ),
        (
            by_kind(
                {"mfac": {"train": {"lr": LR}}},
                enqueue=[{"optimizer.kind": "mfac", "train.lr": 0.5}],
            ),
            "study.enqueue[0].train.lr",
            "0.5 is outside space.by_kind.mfac.train.lr, which searches 1e-05 – 0.001 (log)",
        ),
        (
            by_kind({"mfac": {"train": {"lr": LR}}}, enqueue=[{"train.lr": 3e-4}]),
            "study.enqueue[0].train.lr",
            "its range depends on optimizer.kind, which this trial leaves to the sampler",
        ),
        (
            by_kind(
                {"mfac": {"train": {"warmup_ratio": {"low": 0.0, "high": 0.1}}}},
                enqueue=[{"optimizer.kind": "adamw", "train.warmup_ratio": 0.05}],
            ),
            "study.enqueue[0].train.warmup_ratio",
            "searched only in the trials of space.by_kind.mfac.train.warmup_ratio, and not this",
        ),
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


def test_mfac_weight_decay_mode_can_be_set_or_searched():
    fixed = parse({"optimizer": {"kind": "mfac", "weight_decay_mode": "coupled"}})
    assert fixed.optimizer.hparams == {"weight_decay_mode": "coupled"}
    assert parse({"optimizer": {"kind": "mfac"}}).optimizer.hparams == {}  # default: unstored
    searched = parse(
        {
            "optimizer": {"kind": "mfac"},
            "space": {"optimizer": {"weight_decay_mode": {"choices": ["decoupled", "coupled"]}}},
        }
    )
    assert searched.space["optimizer.weight_decay_mode"].choices == ("decoupled", "coupled")


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


def test_finetune_defaults_train_everything_from_the_start_with_one_lr():
    spec = parse({})
    assert spec.finetune == FinetuneSpec()
    assert spec.finetune.mode == "full" and spec.finetune.layer_lr_decay == 1.0
    assert spec.finetune.unfreeze_every == 0
    assert spec.train.schedule == "linear"
    assert spec.to_dict()["finetune"]["mode"] == "full"


def test_conditional_fields_are_accepted_where_they_can_apply():
    spec = parse(
        {
            "train": {"schedule": "slanted_triangular", "cut_frac": 0.2, "ratio": 16},
            "finetune": {"adapter_size": 16},  # the searched mode can be adapter
            "space": {
                "finetune": {
                    "mode": {"choices": ["frozen", "adapter"]},
                    "adapter_size": {"choices": [8, 64]},
                    "layer_lr_decay": {"choices": [1.0, 0.385]},
                    "unfreeze_every": {"low": 0, "high": 3},
                },
            },
        }
    )
    assert (spec.train.cut_frac, spec.train.ratio) == (0.2, 16)
    assert spec.space["finetune.adapter_size"] == Categorical((8, 64))
    assert spec.space["finetune.unfreeze_every"] == IntRange(0, 3)
    assert spec.space["finetune.layer_lr_decay"] == Categorical((1.0, 0.385))
    assert spec.applies("train.cut_frac") and not spec.applies("train.warmup_ratio")
    assert spec.applies("finetune.adapter_size", {"finetune.mode": "adapter"})
    assert not spec.applies("finetune.unfreeze_every", {"finetune.mode": "frozen"})
    assert spec.applies("train.lr", {}) and not spec.is_conditional("finetune.mode")


def test_override_of_a_deciding_field_drops_the_fields_it_rules_out():
    raw = {
        "study": {"name": "s", "enqueue": [{"train.schedule": "cosine", "train.cut_frac": 0.1}]},
        "space": {
            "train": {
                "schedule": {"choices": ["cosine", "slanted_triangular"]},
                "cut_frac": {"low": 0.05, "high": 0.3},
                "ratio": {"choices": [8.0, 32.0]},
                "warmup_ratio": {"low": 0.0, "high": 0.2},
            },
            "finetune": {
                "mode": {"choices": ["full", "adapter"]},
                "adapter_size": {"low": 8, "high": 64},
            },
        },
    }
    apply_override(raw, "train.schedule=cosine")
    apply_override(raw, "finetune.mode=full")
    spec = parse_spec(raw)
    assert set(spec.space) == {"train.warmup_ratio"}
    assert spec.study.enqueue == [{}]


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
    root = Path(__file__).resolve().parents[2] / "studies"
    files = sorted(root.glob("*.toml"))
    assert files, "no study files shipped"
    for path in files:
        spec = load_spec(path)
        assert spec.study.name


def test_the_testbed_runs_each_recipe_at_its_arm_s_calibrated_lr():
    """Its lr is calibrated per optimizer and finetune mode; every enqueued recipe names
    both (and M-FAC's num_grads), so the arm whose best lr it takes is decided."""
    spec = load_spec(Path(__file__).resolve().parents[2] / "studies" / "sst2-testbed.toml")
    assert spec.calibrated == ("train.lr",) and "train.lr" not in spec.space
    assert spec.space["finetune.mode"].choices and spec.space["optimizer.kind"].choices
    for trial in spec.study.enqueue:
        assert trial["train.lr"] == "calibrated"
        assert {"optimizer.kind", "finetune.mode"} <= set(trial)
        assert trial["optimizer.kind"] != "mfac" or "optimizer.num_grads" in trial


@pytest.mark.parametrize("model", ["tiny", "mini"])
@pytest.mark.parametrize("optimizer", ["adam", "mfac"])
def test_seed_reproductions_start_with_the_cards_setting(model, optimizer):
    root = Path(__file__).resolve().parents[2] / "studies"
    spec = load_spec(root / f"qqp-bert-{model}-{optimizer}.toml")
    first = spec.study.enqueue[0]
    assert set(first) == set(spec.searched())  # every searched value is pinned
    # the card's batch 32 (fixed: it moves M-FAC's region) and 5 epochs, at the lr its
    # calibration finds best (the card's 1e-4 may lie outside M-FAC's measured region)
    assert (first["train.lr"], spec.train.batch_size, first["train.epochs"]) == (
        "calibrated",
        32,
        5,
    )
    assert spec.calibrated == ("train.lr",)
    assert spec.task.name == "qqp" and spec.task.max_length == 128
    assert spec.model.name == f"prajjwal1/bert-{model}" and spec.metric == "f1"
    assert spec.train.max_grad_norm == 1.0 and spec.train.warmup_ratio == 0.0
    if optimizer == "mfac":
        assert (first["optimizer.num_grads"], first["optimizer.damp"]) == (1024, 1e-6)
        assert spec.optimizer.kind == "mfac"
        assert spec.study.baseline == str(root / f"qqp-bert-{model}-adam.toml")
    else:
        assert spec.optimizer.kind == "adamw"


def test_schedule_options_apply_to_the_schedules_whose_entries_take_them():
    for option in SCHEDULES.option_names():
        decider, allowed = APPLIES_WHEN[f"train.{option}"]
        assert decider == "train.schedule"
        assert allowed == {e.name for e in SCHEDULES.takers(option)}
    assert APPLIES_WHEN["train.cut_frac"][1] == {"slanted_triangular"}
    assert APPLIES_WHEN["train.warmup_ratio"][1] == {"linear", "constant", "cosine"}


@pytest.mark.parametrize(
    ("registry", "section"),
    [(PRUNERS, PrunerSpec), (SAMPLERS, SamplerSpec), (SCHEDULES, TrainSpec)],
)
def test_every_registered_option_is_a_field_with_the_entries_default(registry, section):
    for entry in registry.values():
        for option, default in entry.options.items():
            assert section.model_fields[option].default == default, (entry.name, option)


@pytest.mark.parametrize("name", list(PRUNERS))
def test_every_pruner_takes_its_own_options_and_rejects_the_others(name):
    takes = PRUNERS[name].options
    spec = parse({"study": {"name": "s", "pruner": {"name": name, "patience": 1, **takes}}})
    assert spec.study.pruner.options == dict(takes)
    for option in sorted(set(PRUNERS.option_names()) - set(takes)):
        raw = {"name": name, option: PRUNERS.default(option)}
        with pytest.raises(SpecError, match="does not apply") as info:
            parse({"study": {"name": "s", "pruner": raw}})
        assert info.value.key == f"study.pruner.{option}"


# ---- ranges of one optimizer kind ([space.by_kind]) and entries on other conditions --------

MFAC = ("optimizer.kind", "mfac")
LR_RANGE = FloatRange(1e-5, 1e-3, log=True)
QUICKSTART = Path(__file__).resolve().parents[2] / "studies" / "quickstart.toml"


def test_a_kind_table_is_an_entry_of_its_own_named_for_its_kind():
    spec = parse(by_kind({"mfac": {"train": {"lr": {"low": 1e-3, "high": 1e-1, "log": True}}}}))
    (entry,) = spec.space_when
    assert entry == ConditionalParam("train.lr", (MFAC,), FloatRange(1e-3, 1e-1, log=True))
    assert entry.name == "train.lr|optimizer.kind=mfac"
    assert entry.key == "space.by_kind.mfac.train.lr"
    assert spec.searched() == ["optimizer.kind", "train.lr"]  # the field, once
    assert spec.entry("train.lr", {"optimizer.kind": "mfac"}) == (entry.name, entry.param)
    assert spec.entry("train.lr", {"optimizer.kind": "adamw"}) is None  # keeps train.lr
    assert spec.to_dict()["space_when"] == {
        "train.lr|optimizer.kind=mfac": {"low": 1e-3, "high": 1e-1, "log": True}
    }
    assert "space_when" not in parse({}).to_dict()  # a spec without any is stored as before


def test_with_params_maps_parameter_names_back_to_fields():
    spec = parse({}).with_params(
        {"optimizer.kind": "mfac", "train.lr|optimizer.kind=mfac": 3e-3, "optimizer.damp": 1e-6}
    )
    assert spec.train.lr == 3e-3 and spec.optimizer.hparams == {"damp": 1e-6}
    assert field_params({"train.lr|optimizer.kind=mfac|optimizer.num_grads=16": 1.0}) == {
        "train.lr": 1.0
    }


def test_ranges_per_kind_and_num_grads_made_in_code():
    """The calibration's case: M-FAC's lr per num_grads choice, AdamW's own; the entry with
    the most conditions wins, and the M-FAC trials of another num_grads get M-FAC's."""
    base = parse(
        {
            "space": {
                "train": {"lr": LR},
                "optimizer": {
                    "kind": {"choices": ["adamw", "mfac"]},
                    "num_grads": {"choices": [8, 16]},
                },
            }
        }
    )
    m16 = ConditionalParam(
        "train.lr", (MFAC, ("optimizer.num_grads", 16)), FloatRange(2e-3, 3e-2, log=True)
    )
    mfac = ConditionalParam("train.lr", (MFAC,), FloatRange(1e-3, 1e-2, log=True))
    spec = with_conditional_ranges(base, [m16, mfac])
    assert spec.entry("train.lr", {"optimizer.kind": "mfac", "optimizer.num_grads": 16}) == (
        "train.lr|optimizer.kind=mfac|optimizer.num_grads=16",
        m16.param,
    )
    assert spec.entry("train.lr", {"optimizer.kind": "mfac", "optimizer.num_grads": 8}) == (
        mfac.name,
        mfac.param,
    )
    assert spec.entry("train.lr", {"optimizer.kind": "adamw"}) == (
        "train.lr",
        base.space["train.lr"],
    )
    assert spec.ranges("train.lr", {"optimizer.kind": "mfac"}) == [
        ((("optimizer.num_grads", 8),), (mfac.name, mfac.param)),
        ((("optimizer.num_grads", 16),), (m16.name, m16.param)),
    ]
    # A new entry of the same field and conditions replaces the old one.
    wider = ConditionalParam("train.lr", (MFAC,), FloatRange(1e-3, 1e-1, log=True))
    assert with_conditional_ranges(spec, [wider]).space_when == (m16, wider)
    # Two entries that one trial can both meet, with as many conditions, leave it undecided.
    by_grads = ConditionalParam("train.lr", (("optimizer.num_grads", 8),), LR_RANGE)
    with pytest.raises(SpecError, match="a trial can meet both its conditions and those of"):
        with_conditional_ranges(spec, [by_grads])
    # A condition is on a field searched as choices; errors name an entry made in code by
    # its parameter name.
    damp = ConditionalParam("train.lr", (("optimizer.damp", 1e-6),), LR_RANGE)
    with pytest.raises(SpecError, match=re.escape("optimizer.damp, which the space must search")):
        with_conditional_ranges(spec, [damp])
    inverted = ConditionalParam("train.lr", m16.when, FloatRange(1.0, 0.1))
    key = "`space.train.lr|optimizer.kind=mfac|optimizer.num_grads=16`: `low <= high`"
    with pytest.raises(SpecError, match=re.escape(key)):
        with_conditional_ranges(spec, [inverted])


def test_overrides_reach_a_kinds_entries():
    # The kind's own range, like any space key.
    spec = load_spec(
        QUICKSTART, ["space.by_kind.mfac.train.lr={ low = 2e-3, high = 2e-2, log = true }"]
    )
    assert spec.space_when[0].param == FloatRange(2e-3, 2e-2, log=True)
    # Fixing the field takes every kind's entry of it out of the space.
    fixed = load_spec(QUICKSTART, ["train.lr=1e-3"])
    assert "train.lr" not in fixed.searched() and fixed.space_when == ()
    assert all("train.lr" not in t for t in fixed.study.enqueue)
    # Fixing the kind makes its own entries the space's; the other kind's trial keeps only
    # the values chosen outside any kind's own range.
    mfac = load_spec(QUICKSTART, ["optimizer.kind=mfac"])
    assert (
        mfac.space["train.lr"] == FloatRange(1.78e-3, 5.62e-3, log=True) and mfac.space_when == ()
    )
    adam_trial, mfac_trial = mfac.study.enqueue
    assert adam_trial == {"train.hidden_dropout": 0.1}
    assert mfac_trial["train.lr"] == 3e-3
    adamw = load_spec(QUICKSTART, ["optimizer.kind=adamw"])
    assert (
        adamw.space["train.lr"] == FloatRange(1.78e-4, 5.62e-4, log=True) and adamw.space_when == ()
    )
    assert [t.get("train.lr") for t in adamw.study.enqueue] == [3e-4, None]


def test_quickstart_gives_mfac_its_own_lr_range_and_its_setting_lies_inside():
    spec = load_spec(QUICKSTART)
    assert spec.space["train.lr"] == FloatRange(1.78e-4, 5.62e-4, log=True)
    assert spec.entry("train.lr", {"optimizer.kind": "mfac"}) == (
        "train.lr|optimizer.kind=mfac",
        FloatRange(1.78e-3, 5.62e-3, log=True),
    )
    adamw, mfac = (spec.enqueued(t) for t in spec.study.enqueue)
    assert adamw["train.lr"] == 3e-4 and mfac["train.lr|optimizer.kind=mfac"] == 3e-3
