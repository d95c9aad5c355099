"""Every registered optimizer gets construction, a descent step and a state_dict round-trip."""

from __future__ import annotations

import io

import pytest
import torch

from hpsearch.errors import HpsearchError
from hpsearch.optim import OPTIMIZERS, get_optimizer, list_optimizers

LR = 1e-3


def tiny_problem():
    """A linear model on fixed data, with decay and no-decay param groups as the trainer builds."""
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    X = torch.randn(64, 4)
    y = X @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 1.0
    groups = [
        {"params": [model.weight], "weight_decay": 0.01},
        {"params": [model.bias], "weight_decay": 0.0},
    ]

    def loss_fn() -> torch.Tensor:
        return torch.nn.functional.mse_loss(model(X).squeeze(1), y)

    return groups, loss_fn


def assert_same(a, b):
    """Nested equality of state dicts, tensors compared exactly."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor)
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    else:
        assert a == b


def test_registry_is_not_empty():
    assert list_optimizers() == sorted(OPTIMIZERS)
    assert {"adamw", "mfac", "sgd"} <= set(list_optimizers())


@pytest.mark.parametrize("name", list_optimizers())
def test_construction(name):
    groups, _ = tiny_problem()
    opt = get_optimizer(name).create(groups, lr=LR)
    assert isinstance(opt, torch.optim.Optimizer)
    assert [g["lr"] for g in opt.param_groups] == [LR, LR]
    assert [g["weight_decay"] for g in opt.param_groups] == [0.01, 0.0]


@pytest.mark.parametrize("name", list_optimizers())
def test_one_step_descends(name):
    groups, loss_fn = tiny_problem()
    opt = get_optimizer(name).create(groups, lr=LR)
    loss = loss_fn()
    before = loss.item()
    loss.backward()
    opt.step()
    with torch.no_grad():
        after = loss_fn().item()
    assert after < before - 1e-5, (before, after)


@pytest.mark.parametrize("name", list_optimizers())
def test_state_dict_round_trip(name):
    groups, loss_fn = tiny_problem()
    entry = get_optimizer(name)
    opt = entry.create(groups, lr=LR)
    for _ in range(3):
        opt.zero_grad()
        loss_fn().backward()
        opt.step()
    blob = io.BytesIO()
    torch.save(opt.state_dict(), blob)
    blob.seek(0)

    groups2, _ = tiny_problem()
    opt2 = entry.create(groups2, lr=LR)
    opt2.load_state_dict(torch.load(blob))
    assert_same(opt2.state_dict(), opt.state_dict())


@pytest.mark.parametrize("name", list_optimizers())
def test_unknown_hyperparameter_is_an_error(name):
    groups, _ = tiny_problem()
    with pytest.raises(HpsearchError, match="does not take") as info:
        get_optimizer(name).create(groups, lr=LR, not_a_hparam=1.0)
    for hparam in get_optimizer(name).hparams:
        assert hparam in str(info.value)


@pytest.mark.parametrize("name", list_optimizers())
def test_choices_are_hyperparameters_with_their_default_among_them(name):
    entry = get_optimizer(name)
    for option, names in entry.choices.items():
        assert entry.hparams[option] in names


MFAC_CHOICES = [(o, v) for o, names in get_optimizer("mfac").choices.items() for v in names]


@pytest.mark.parametrize(("option", "value"), MFAC_CHOICES)
def test_mfac_takes_every_name_its_entry_lists(option, value):
    """The names spec validation lets through are the names M-FAC takes."""
    groups, loss_fn = tiny_problem()
    opt = get_optimizer("mfac").create(groups, lr=LR, num_grads=4, **{option: value})
    assert opt.param_groups[0][option] == value
    loss_fn().backward()
    opt.step()


def test_unknown_name_lists_valid_names():
    with pytest.raises(HpsearchError, match="unknown optimizer 'adamx'") as info:
        get_optimizer("adamx")
    for name in list_optimizers():
        assert repr(name) in str(info.value)


@pytest.mark.parametrize("name", list_optimizers())
def test_every_optimizer_has_a_label_and_a_description(name):
    entry = get_optimizer(name)
    assert entry.name == name and entry.label and entry.description
    assert entry.options is entry.hparams  # what listings and reports read


@pytest.mark.parametrize(
    ("name", "plain"),
    [
        ("adamw", lambda groups: torch.optim.AdamW(groups, lr=LR, foreach=False)),
        (
            "sgd",
            lambda groups: torch.optim.SGD(
                groups, lr=LR, momentum=0.9, nesterov=True, foreach=False
            ),
        ),
    ],
)
def test_fused_steps_equal_the_plain_implementation(name, plain):
    """The registry builds the fastest implementation torch has (fused, else foreach); its
    updates equal torch's per-parameter loop within float32 rounding, over several steps,
    with param groups of different lrs and weight decays."""

    def problem():
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
        groups = [
            {"params": [model[0].weight, model[2].weight], "weight_decay": 0.01, "lr": LR},
            {"params": [model[0].bias, model[2].bias], "weight_decay": 0.0, "lr": 3 * LR},
        ]
        return model, groups

    X = torch.randn(32, 8, generator=torch.Generator().manual_seed(1))
    y = torch.randn(32, 1, generator=torch.Generator().manual_seed(2))
    models = []
    for build in (lambda g: get_optimizer(name).create(g, lr=LR), plain):
        model, groups = problem()
        optimizer = build(groups)
        for _ in range(5):
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model(X), y).backward()
            optimizer.step()
        models.append(model)
    fast, reference = models
    built = get_optimizer(name).create(problem()[1], lr=LR)
    assert built.defaults.get("fused") or built.defaults.get("foreach")
    for a, b in zip(fast.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
