"""Finetuning schemes: which parameters train (modes, gradual unfreezing) and at which lr.

The trainer-level tests train minilm cut to 2 layers on a few SST-2 sentences and watch the
model through a wrapped ``build_model``: parameters are compared after every step (one
evaluation per step) and gradients are caught as they are accumulated.
"""

from __future__ import annotations

import math
import re

import pytest
import torch

import hpsearch.train.trainer as trainer_module
from hpsearch.data.encode import DataCache
from hpsearch.errors import HpsearchError
from hpsearch.spec.schema import FinetuneSpec
from hpsearch.spec.validate import parse_spec
from hpsearch.train.adapters import BottleneckAdapter
from hpsearch.train.finetune import param_groups, prepare, unfrozen_depth
from hpsearch.train.models import build_model
from hpsearch.train.trainer import train

SST2 = {"0": 0, "1": 0, "3": 1, "4": 1}
LAYERS = 2
BATCH = 8


@pytest.fixture(scope="module")
def cache() -> DataCache:
    return DataCache()


def sst2_spec(cs224n, steps: int, *, finetune: dict | None = None, **train_fields):
    """minilm-2 on ``steps`` batches of SST-2, one evaluation after every step."""
    return parse_spec(
        {
            "study": {"name": "t", "metric": "accuracy"},
            "task": {
                "name": "local",
                "train_file": str(cs224n / "sst-train.tsv"),
                "validation_file": str(cs224n / "sst-dev.tsv"),
                "text_fields": ["sentence"],
                "label_field": "sentiment",
                "label_map": SST2,
                "max_length": 24,
                "max_train_samples": steps * BATCH,
                "max_eval_samples": 8,
            },
            "model": {"num_hidden_layers": LAYERS},
            "train": {
                "epochs": 1,
                "batch_size": BATCH,
                "evals_per_epoch": steps,
                "schedule": "constant",
                **train_fields,
            },
            "finetune": finetune or {},
        }
    )


class Watch:
    """Wraps the trainer's ``prepare``: keeps the model and a copy of its parameters before
    the first step and after every evaluation; optionally every gradient as it arrives."""

    def __init__(self, monkeypatch, grads: bool = False):
        self.model: torch.nn.Module | None = None
        self.snapshots: list[dict[str, torch.Tensor]] = []
        self.grads: dict[str, torch.Tensor] = {}
        real = trainer_module.prepare

        def prepare_and_watch(model, cfg):
            groups = real(model, cfg)  # adapters and LoRA exist from here on
            self.model = model
            self.snapshot()
            if grads:
                for name, p in model.named_parameters():  # frozen until the trainer says
                    p.requires_grad_(True)
                    p.register_post_accumulate_grad_hook(self._keep_grad(name))
                    p.requires_grad_(False)
            return groups

        monkeypatch.setattr(trainer_module, "prepare", prepare_and_watch)

    def snapshot(self, record=None) -> None:
        assert self.model is not None
        self.snapshots.append({n: p.detach().clone() for n, p in self.model.named_parameters()})

    def changed(self, before: int, after: int) -> set[str]:
        """Names of the parameters that differ between two snapshots."""
        a, b = self.snapshots[before], self.snapshots[after]
        return {n for n in b if not torch.equal(a[n], b[n])}

    def run(self, spec, data):
        return train(spec, data, on_eval=self.snapshot)

    def _keep_grad(self, name: str):
        def hook(p: torch.Tensor) -> None:
            # The word embedding's arrives row-sparse on CPU (hpsearch.train.embedding_grad).
            grad = p.grad.to_dense() if p.grad.is_sparse else p.grad
            self.grads[name] = grad.detach().clone()

        return hook


def layer_of(name: str) -> str:
    """The layer group a parameter name belongs to, written independently of finetune.py."""
    if ".embeddings." in name:
        return "embeddings"
    found = re.search(r"\.layer\.(\d+)\.", name)
    return f"layer {found.group(1)}" if found else "head"


HEAD = {
    "bert.pooler.dense.weight",
    "bert.pooler.dense.bias",
    "classifier.weight",
    "classifier.bias",
}


# --- modes -------------------------------------------------------------------------------


def test_adapters_on_only_adapter_and_head_params_change_in_a_step(cs224n, cache, monkeypatch):
    watch = Watch(monkeypatch)
    spec = sst2_spec(cs224n, 1, finetune={"mode": "adapter", "adapter_size": 8}, lr=1e-2)
    result = watch.run(spec, cache.encoded(spec))
    names = set(watch.snapshots[0])
    adapters = {n for n in names if ".adapter." in n}
    # Two adapters per layer (after attention, after the feed-forward), 4 tensors each.
    assert len(adapters) == LAYERS * 2 * 4
    assert watch.changed(0, 1) == adapters | HEAD
    trained = sum(p.numel() for n, p in watch.model.named_parameters() if n in adapters | HEAD)
    assert result.trainable_params == trained < result.num_params / 20


def test_lora_trains_only_lora_and_head(cs224n, cache, monkeypatch):
    watch = Watch(monkeypatch)
    spec = sst2_spec(cs224n, 2, finetune={"mode": "lora", "lora_r": 4}, lr=1e-2)
    watch.run(spec, cache.encoded(spec))
    lora = {n for n in watch.snapshots[0] if ".lora_" in n}
    assert len(lora) == LAYERS * 2 * 2  # query and value, A and B
    # lora_B starts at zero, so lora_A has no gradient in the first step; both move by then.
    assert watch.changed(0, 2) == lora | HEAD


def test_frozen_encoder_trains_the_head_only(cs224n, cache, monkeypatch):
    watch = Watch(monkeypatch)
    spec = sst2_spec(cs224n, 1, finetune={"mode": "frozen"}, lr=1e-2)
    result = watch.run(spec, cache.encoded(spec))
    assert watch.changed(0, 1) == HEAD
    assert result.trainable_params == 384 * 384 + 384 + 2 * 384 + 2


def test_adapter_starts_near_identity():
    torch.manual_seed(0)
    adapter = BottleneckAdapter(32, 4)
    x = torch.randn(5, 32)
    assert torch.allclose(adapter(x), x, atol=1e-4)
    assert not torch.equal(adapter(x), x)


def test_groups_by_depth_from_the_top():
    torch.manual_seed(0)
    model = build_model("minilm", num_labels=2, kind="classification", num_hidden_layers=3)
    groups = prepare(model, FinetuneSpec())
    assert [(g.name, g.depth) for g in groups] == [
        ("head", 0),
        ("layer 2", 1),
        ("layer 1", 2),
        ("layer 0", 3),
        ("embeddings", 4),
    ]
    assert not any(p.requires_grad for p in model.parameters())  # the trainer unfreezes
    everything = [n for g in groups for n in g.names]
    assert sorted(everything) == sorted(n for n, _ in model.named_parameters())
    assert all(layer_of(n) == g.name for g in groups for n in g.names)


def test_a_model_without_layers_is_a_clear_error():
    with pytest.raises(HpsearchError, match="cannot find the encoder layers"):
        prepare(torch.nn.Linear(3, 2), FinetuneSpec())


# --- discriminative learning rates --------------------------------------------------------


@pytest.mark.parametrize("decay", [1.0, 0.5])
def test_param_groups_give_each_layer_its_lr(decay):
    model = build_model("minilm", num_labels=2, kind="classification", num_hidden_layers=3)
    groups = prepare(model, FinetuneSpec(layer_lr_decay=decay))
    lr_of = {}
    for group in param_groups(groups, lr=1e-3, layer_lr_decay=decay, weight_decay=0.01):
        assert group["lr"] == group["peak_lr"]
        for p in group["params"]:
            lr_of[p] = (group["lr"], group["weight_decay"])
    depth = {"head": 0, "layer 2": 1, "layer 1": 2, "layer 0": 3, "embeddings": 4}
    for name, p in model.named_parameters():
        lr, wd = lr_of[p]
        assert lr == pytest.approx(1e-3 * decay ** depth[layer_of(name)]), name
        assert wd == (0.01 if p.dim() >= 2 else 0.0), name


@pytest.mark.parametrize(
    "optimizer",
    [
        {"optimizer.kind": "sgd", "optimizer.momentum": 0.0, "optimizer.nesterov": False},
        {"optimizer.kind": "mfac", "optimizer.num_grads": 4},
    ],
    ids=["sgd", "mfac"],
)
def test_each_layer_trains_with_its_lr(cs224n, cache, monkeypatch, optimizer):
    """One step without clipping. Plain SGD moves every parameter by -lr_layer × its
    gradient. M-FAC's first step is -lr_layer × s × gradient, with one s for the whole model
    (with a single gradient g in the buffer, F⁻¹g = m·g / (|g|² + mλ))."""
    watch = Watch(monkeypatch, grads=True)
    lr, decay = 0.1, 0.5
    spec = sst2_spec(
        cs224n, 1, finetune={"layer_lr_decay": decay}, lr=lr, max_grad_norm=0.0
    ).with_params(optimizer)
    watch.run(spec, cache.encoded(spec))
    depth = {"head": 0, "layer 1": 1, "layer 0": 2, "embeddings": 3}
    scale = {}  # parameter -> its step / (-lr_layer × gradient)
    for name, grad in watch.grads.items():
        before, after = watch.snapshots[0][name], watch.snapshots[1][name]
        step = after - before
        # Elements whose step is large next to float32 rounding of the weight (a key bias
        # has a gradient of about 1e-10 and does not move at all).
        clear = (step.abs() > before.abs() * 1e-4) & (grad != 0)
        if clear.sum() >= 3:
            measured = (-step[clear] / grad[clear]).median().item()
            scale[name] = measured / (lr * decay ** depth[layer_of(name)])
    assert len(scale) > 30
    assert {layer_of(n) for n in scale} == set(depth)
    expected = 1.0 if optimizer["optimizer.kind"] == "sgd" else scale["classifier.weight"]
    for name, value in scale.items():
        assert value == pytest.approx(expected, rel=1e-3), name


# --- gradual unfreezing ------------------------------------------------------------------


def test_unfrozen_depth_grows_every_interval():
    assert [unfrozen_depth(s, 3) for s in range(8)] == [0, 0, 0, 1, 1, 1, 2, 2]
    assert unfrozen_depth(0, 0) == math.inf


@pytest.mark.parametrize("kind", ["adamw", "mfac"])
def test_gradual_unfreezing_grows_the_trainable_set_at_the_documented_steps(
    cs224n, cache, monkeypatch, kind
):
    """Every 2 steps one more group from the top: head (steps 0-1), + layer 1 (2-3),
    + layer 0 (4-5), + embeddings (6-7)."""
    watch = Watch(monkeypatch)
    params = {"optimizer.kind": kind} | ({"optimizer.num_grads": 4} if kind == "mfac" else {})
    spec = sst2_spec(
        cs224n, 8, finetune={"unfreeze_every": 2, "unfreeze_unit": "steps"}, lr=1e-3
    ).with_params(params)
    result = watch.run(spec, cache.encoded(spec))
    expected = ["head"] * 2 + ["layer 1"] * 2 + ["layer 0"] * 2 + ["embeddings"] * 2
    order = ["head", "layer 1", "layer 0", "embeddings"]
    for step, newest in enumerate(expected):
        groups = {layer_of(n) for n in watch.changed(step, step + 1)}
        # The word embeddings change only in the rows of the batch's tokens, but change.
        assert groups == set(order[: order.index(newest) + 1]), f"step {step}"
    assert result.unfrozen_at == {"head": 0, "layer 1": 2, "layer 0": 4, "embeddings": 6}
    counts = [r.trainable_params for r in result.evals]
    assert counts[0] == counts[1] < counts[2] == counts[3] < counts[4] == counts[5] < counts[6]
    assert result.trainable_params == counts[-1] == result.num_params


def test_gradual_unfreezing_by_epochs(cs224n, cache):
    spec = sst2_spec(
        cs224n, 2, finetune={"unfreeze_every": 1, "unfreeze_unit": "epochs"}, epochs=3
    ).with_params({"train.evals_per_epoch": 1})
    result = train(spec, cache.encoded(spec))
    assert result.unfrozen_at == {"head": 0, "layer 1": 2, "layer 0": 4}
    assert len({r.trainable_params for r in result.evals}) == 3


def test_adapters_unfreeze_layer_by_layer(cs224n, cache, monkeypatch):
    watch = Watch(monkeypatch)
    spec = sst2_spec(
        cs224n,
        3,
        finetune={
            "mode": "adapter",
            "adapter_size": 4,
            "unfreeze_every": 1,
            "unfreeze_unit": "steps",
        },
        lr=1e-2,
    )
    result = watch.run(spec, cache.encoded(spec))
    assert result.unfrozen_at == {"head": 0, "layer 1": 1, "layer 0": 2}
    assert watch.changed(0, 1) == HEAD
    assert {n for n in watch.changed(1, 2) if n not in HEAD} == {
        n for n in watch.snapshots[0] if ".layer.1." in n and ".adapter." in n
    }
