"""The pruner and sampler registries: every entry builds its Optuna object, options and all."""

from __future__ import annotations

from typing import Any

import optuna
import pytest

from hpsearch.errors import HpsearchError
from hpsearch.pruners import PRUNERS, SAMPLERS
from hpsearch.search.sampler_pruner import build_pruner, build_sampler
from hpsearch.spec.schema import PrunerSpec, SamplerSpec


def changed(value: Any) -> Any:
    """A valid value other than the default, so a test sees whether an option arrives."""
    if isinstance(value, bool):
        return not value
    if value == "auto":
        return 2
    return value + 2 if isinstance(value, int) else value / 2


@pytest.mark.parametrize("name", list(PRUNERS))
def test_every_pruner_builds_with_its_options(name):
    entry = PRUNERS[name]
    options = {option: changed(default) for option, default in entry.options.items()}
    pruner = entry.create(**options)
    assert isinstance(pruner, optuna.pruners.BasePruner)
    for option, value in options.items():
        # Optuna keeps each option as a private attribute of its own name.
        assert getattr(pruner, f"_{option}") == value, option


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_every_sampler_builds_with_its_options(name):
    entry = SAMPLERS[name]
    options = {option: changed(default) for option, default in entry.options.items()}
    sampler = entry.create(3, **options)
    assert isinstance(sampler, optuna.samplers.BaseSampler)
    for option, value in options.items():
        assert getattr(sampler, f"_{option}") == value, option


@pytest.mark.parametrize("name", list(PRUNERS))
def test_a_pruner_spec_reaches_its_pruner(name):
    """The spec's defaults are the entry's, and set options arrive through build_pruner."""
    entry = PRUNERS[name]
    assert PrunerSpec(name=name).options == dict(entry.options)
    options = {option: changed(default) for option, default in entry.options.items()}
    pruner = build_pruner(PrunerSpec(name=name, **options))
    for option, value in options.items():
        assert getattr(pruner, f"_{option}") == value, option


def test_patience_wraps_any_pruner():
    pruner = build_pruner(PrunerSpec(name="hyperband", patience=2))
    assert isinstance(pruner, optuna.pruners.PatientPruner)
    assert isinstance(pruner._wrapped_pruner, optuna.pruners.HyperbandPruner)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_a_sampler_spec_reaches_its_sampler(name):
    assert SamplerSpec(name=name).options == dict(SAMPLERS[name].options)
    sampler = build_sampler(SamplerSpec(name=name), trials_so_far=4)
    assert isinstance(sampler, optuna.samplers.BaseSampler)


@pytest.mark.parametrize("registry", [PRUNERS, SAMPLERS])
def test_an_option_the_entry_does_not_take_is_an_error(registry):
    for entry in registry.values():
        with pytest.raises(HpsearchError, match="does not take"):
            entry.create(*([0] if registry is SAMPLERS else []), not_an_option=1)


@pytest.mark.parametrize("registry", [PRUNERS, SAMPLERS])
def test_every_entry_has_a_label_and_a_description(registry):
    for name, entry in registry.items():
        assert entry.name == name and entry.label and entry.description


@pytest.mark.parametrize("name", list(PRUNERS))
def test_every_pruner_prunes_with_its_defaults(name):
    """Options can be accepted at construction and fail only when a trial is judged (the
    Hyperband default once did, failing every trial after the first): run a study."""
    study = optuna.create_study(direction="maximize", pruner=PRUNERS[name].create())

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        for step in range(8):  # 8 evaluations, as a trial of 2 epochs of 4 reports each
            trial.report(x * (step + 1), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return x * 8

    study.optimize(objective, n_trials=12, catch=())
    states = {t.state for t in study.trials}
    assert states <= {optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED}
