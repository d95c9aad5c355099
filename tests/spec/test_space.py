from __future__ import annotations

import optuna
import pytest

from hpsearch.errors import SpecError
from hpsearch.spec.space import Categorical, ConditionalParam, FloatRange, IntRange, parse_param
from hpsearch.spec.suggest import suggest
from hpsearch.spec.validate import parse_spec, with_conditional_ranges

SPACE = {
    "train": {
        "lr": {"low": 1e-5, "high": 1e-3, "log": True},
        "epochs": {"low": 1, "high": 3},
        "batch_size": {"choices": [16, 32]},
    },
    "optimizer": {
        "kind": {"choices": ["adamw", "mfac"]},
        "num_grads": {"choices": [8, 16]},
        "beta1": {"low": 0.8, "high": 0.95},
    },
}


def spec_with(space):
    return parse_spec({"study": {"name": "s"}, "space": space})


@pytest.mark.parametrize("kind", ["adamw", "mfac"])
def test_optimizer_hparams_are_conditional_on_kind(kind):
    spec = spec_with(SPACE)
    study = optuna.create_study()
    study.enqueue_trial({"optimizer.kind": kind})
    trial = study.ask()
    params = suggest(trial, spec)
    assert params["optimizer.kind"] == kind
    assert ("optimizer.num_grads" in params) == (kind == "mfac")
    assert ("optimizer.beta1" in params) == (kind == "adamw")
    assert 1e-5 <= params["train.lr"] <= 1e-3
    assert isinstance(params["train.epochs"], int) and 1 <= params["train.epochs"] <= 3
    assert trial.distributions["train.lr"].log is True


def test_suggested_values_apply_to_spec():
    spec = spec_with(SPACE)
    trial = optuna.trial.FixedTrial(
        {
            "optimizer.kind": "mfac",
            "optimizer.num_grads": 16,
            "train.lr": 2e-4,
            "train.epochs": 2,
            "train.batch_size": 16,
        }
    )
    run = spec.with_params(suggest(trial, spec))
    assert (run.train.lr, run.train.epochs, run.train.batch_size) == (2e-4, 2, 16)
    assert run.optimizer.kind == "mfac" and run.optimizer.hparams == {"num_grads": 16}


@pytest.mark.parametrize(
    ("raw", "value_type", "expected"),
    [
        ({"low": 1, "high": 5}, int, IntRange(1, 5)),
        ({"low": 2, "high": 64, "log": True}, int, IntRange(2, 64, log=True)),
        ({"low": 0, "high": 1, "step": 0.25}, float, FloatRange(0.0, 1.0, step=0.25)),
        ({"choices": ["a", "b"]}, str, Categorical(("a", "b"))),
    ],
)
def test_parse_param(raw, value_type, expected):
    assert parse_param(raw, value_type) == expected


@pytest.mark.parametrize(
    ("raw", "value_type", "match"),
    [
        ({"low": 0.1, "high": 0.5, "log": True, "step": 0.1}, float, "cannot be combined"),
        ({"low": 1, "high": 5, "step": 0}, int, "step > 0"),
        ({"low": 1, "high": 5}, str, "cannot take a range"),
        ({"choices": [1, 1]}, int, "duplicates"),
        (3, int, "expected a table"),
    ],
)
def test_parse_param_errors(raw, value_type, match):
    with pytest.raises(ValueError, match=match):
        parse_param(raw, value_type)


TESTBED_SPACE = {
    "train": {
        "schedule": {"choices": ["linear", "slanted_triangular"]},
        "warmup_ratio": {"low": 0.0, "high": 0.2},
        "cut_frac": {"low": 0.05, "high": 0.3},
    },
    "finetune": {
        "mode": {"choices": ["full", "frozen", "adapter", "lora"]},
        "adapter_size": {"choices": [8, 64]},
        "lora_r": {"choices": [4, 8]},
        "layer_lr_decay": {"choices": [1.0, 0.385]},
        "unfreeze_every": {"choices": [0, 2]},
    },
}


@pytest.mark.parametrize("mode", ["full", "frozen", "adapter", "lora"])
@pytest.mark.parametrize("schedule", ["linear", "slanted_triangular"])
def test_finetune_and_schedule_fields_are_conditional(mode, schedule):
    spec = spec_with(TESTBED_SPACE)
    study = optuna.create_study()
    study.enqueue_trial({"finetune.mode": mode, "train.schedule": schedule})
    params = suggest(study.ask(), spec)
    assert params["finetune.mode"] == mode and params["train.schedule"] == schedule
    assert ("finetune.adapter_size" in params) == (mode == "adapter")
    assert ("finetune.lora_r" in params) == (mode == "lora")
    assert ("finetune.layer_lr_decay" in params) == (mode != "frozen")
    assert ("finetune.unfreeze_every" in params) == (mode != "frozen")
    assert ("train.cut_frac" in params) == (schedule == "slanted_triangular")
    assert ("train.warmup_ratio" in params) == (schedule == "linear")
    run = spec.with_params(params)
    assert run.finetune.mode == mode and run.train.schedule == schedule


def test_a_fixed_deciding_field_decides_too():
    spec = parse_spec(
        {
            "study": {"name": "s"},
            "finetune": {"mode": "adapter"},
            "space": {"finetune": {"adapter_size": {"choices": [8, 64]}}},
        }
    )
    params = suggest(optuna.create_study().ask(), spec)
    assert set(params) == {"finetune.adapter_size"}


MFAC_LR = {"low": 1e-2, "high": 1e-1, "log": True}


def test_each_kind_suggests_its_lr_from_its_own_range_under_its_own_name():
    """A seeded TPE study: M-FAC's lr comes from its [space.by_kind] range, recorded as
    train.lr|optimizer.kind=mfac, AdamW's from the shared one as train.lr."""
    spec = spec_with({**SPACE, "by_kind": {"mfac": {"train": {"lr": MFAC_LR}}}})
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=4))
    kinds = set()
    for _ in range(10):
        trial = study.ask()
        params = suggest(trial, spec)
        kind = params["optimizer.kind"]
        kinds.add(kind)
        name, (low, high) = (
            ("train.lr|optimizer.kind=mfac", (1e-2, 1e-1))
            if kind == "mfac"
            else ("train.lr", (1e-5, 1e-3))
        )
        assert trial.params[name] == params["train.lr"] and low <= params["train.lr"] <= high
        assert len([n for n in trial.params if n.startswith("train.lr")]) == 1
        study.tell(trial, params["train.lr"])
    assert kinds == {"adamw", "mfac"}


def test_a_condition_on_num_grads_is_suggested_before_the_field_it_decides():
    spec = with_conditional_ranges(
        spec_with(SPACE),
        [
            ConditionalParam(
                "train.lr",
                (("optimizer.kind", "mfac"), ("optimizer.num_grads", 16)),
                FloatRange(1e-2, 1e-1, log=True),
            )
        ],
    )
    name = "train.lr|optimizer.kind=mfac|optimizer.num_grads=16"
    fixed = {"optimizer.kind": "mfac", "optimizer.num_grads": 16, name: 5e-2, "train.epochs": 1}
    params = suggest(optuna.trial.FixedTrial({**fixed, "train.batch_size": 16}), spec)
    assert params["train.lr"] == 5e-2
    assert spec.with_params(params).train.lr == 5e-2
    # At num_grads 8 the shared range applies, under the field's own name.
    eight = {**fixed, "optimizer.num_grads": 8, "train.lr": 1e-4, "train.batch_size": 16}
    assert suggest(optuna.trial.FixedTrial(eight), spec)["train.lr"] == 1e-4


def test_the_lr_can_be_calibrated_and_nothing_else():
    """``lr = "calibrated"``: searched in the ranges ``hpsearch calibrate`` measures, filled
    in by the search layer; meanwhile the space holds no entry of it, and an enqueued lr is
    checked once those ranges are known."""
    space = {**SPACE, "train": {**SPACE["train"], "lr": "calibrated"}}
    enqueue = [{"optimizer.kind": "mfac", "train.lr": 3e-3, "optimizer.num_grads": 8}]
    spec = parse_spec({"study": {"name": "s", "enqueue": enqueue}, "space": space})
    assert spec.calibrated == ("train.lr",) and "train.lr" not in spec.space
    assert "train.lr" in spec.searched()
    with pytest.raises(SpecError, match=r'`space.train.epochs`: only train.lr can be "calibrated"'):
        spec_with({**space, "train": {**space["train"], "epochs": "calibrated"}})
    by_kind = {"mfac": {"train": {"lr": MFAC_LR}}}
    with pytest.raises(SpecError, match=r'`space.by_kind.mfac.train.lr`: train.lr is "calibrated"'):
        spec_with({**space, "by_kind": by_kind})
