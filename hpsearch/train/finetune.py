"""The finetuning scheme of a trial: which parameters train, at which lr, from which step.

A model's parameters fall into layer groups by depth from the top: the head (everything
above the encoder: pooler and classifier) has depth 0, the top encoder layer depth 1, ...,
layer 0 depth L, the embeddings depth L + 1. ``finetune.mode`` says which parameters of
each group train: all (``full``), the head's only (``frozen``), or the head's and the
adapters' or LoRA's of each layer (``adapter``, ``lora``). On top of that, with
``finetune.layer_lr_decay`` (Howard & Ruder's discriminative finetuning) a group's peak lr
is ``lr × decay^depth``, and with ``finetune.unfreeze_every`` (their gradual unfreezing) a
group trains only from step ``depth × interval`` on: the head alone first, then one more
layer from the top each interval, the embeddings last.

The trainer asks :func:`prepare` for the groups, :func:`unfrozen_depth` which of them train
at a step, and :func:`param_groups` for the optimizer's param groups of those.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from torch import nn

from hpsearch.errors import HpsearchError
from hpsearch.spec.schema import FinetuneSpec
from hpsearch.train.adapters import ADAPTER, add_houlsby_adapters, add_lora

HEAD = "head"
EMBEDDINGS = "embeddings"
# "bert.encoder.layer.3.", "transformer.layer.3.", "layers.3." (peft keeps these prefixes).
_LAYER = re.compile(r"(?:^|\.)layers?\.(\d+)\.")
_EMBEDDINGS = re.compile(r"(?:^|\.)embeddings\.")


@dataclass(frozen=True)
class LayerGroup:
    """The parameters of one depth that the mode trains, in model order."""

    name: str  # "head", "layer 3", "embeddings"
    depth: int  # 0 for the head, 1 for the top encoder layer, ..., L + 1 for the embeddings
    names: tuple[str, ...]
    params: tuple[nn.Parameter, ...]

    @property
    def numel(self) -> int:
        return sum(p.numel() for p in self.params)

    def requires_grad_(self, value: bool = True) -> None:
        for p in self.params:
            p.requires_grad_(value)


def prepare(model: nn.Module, cfg: FinetuneSpec) -> list[LayerGroup]:
    """Add the mode's modules (adapters, LoRA) and freeze every parameter of ``model``.

    Returns the layer groups whose parameters the mode trains, head first; nothing trains
    until the trainer unfreezes groups (:meth:`LayerGroup.requires_grad_`). New modules take
    their initial weights from torch's global RNG: seed it first for a reproducible trial.

    Raises:
        HpsearchError: the model's encoder layers cannot be found by their parameter names.
    """
    if cfg.mode == "adapter":
        add_houlsby_adapters(model, cfg.adapter_size)
    elif cfg.mode == "lora":
        add_lora(model, cfg.lora_r, cfg.lora_alpha)
    model.requires_grad_(False)

    named = list(model.named_parameters())
    layer_of = {name: _layer_index(name) for name, _ in named}
    indices = [i for i in layer_of.values() if i is not None]
    if not indices:
        raise HpsearchError(
            f"cannot find the encoder layers of {type(model).__name__}: no parameter name "
            "has a `layer.N.` or `layers.N.` part"
        )
    num_layers = max(indices) + 1
    members: dict[int, list[tuple[str, nn.Parameter]]] = {}
    for name, param in named:
        index = layer_of[name]
        if _EMBEDDINGS.search(name):
            depth = num_layers + 1
        elif index is not None:
            depth = num_layers - index
        else:
            depth = 0  # the head: whatever sits above the encoder
        if depth == 0 or _trains(name, cfg.mode):
            members.setdefault(depth, []).append((name, param))
    return [
        LayerGroup(
            _group_name(depth, num_layers),
            depth,
            tuple(n for n, _ in members[depth]),
            tuple(p for _, p in members[depth]),
        )
        for depth in sorted(members)
    ]


def rebind(groups: Iterable[LayerGroup], model: nn.Module) -> list[LayerGroup]:
    """``groups`` over the same-named parameters of ``model``, a copy of the model they were
    made for (a per-task copy of a multitask model); names ``model`` lacks (the heads it
    dropped) are left out, and so is a group left empty."""
    named = dict(model.named_parameters())
    rebound = []
    for group in groups:
        names = tuple(n for n in group.names if n in named)
        if names:
            rebound.append(
                LayerGroup(group.name, group.depth, names, tuple(named[n] for n in names))
            )
    return rebound


def _layer_index(name: str) -> int | None:
    found = _LAYER.search(name)
    return None if found is None else int(found.group(1))


def _trains(name: str, mode: str) -> bool:
    """Whether the mode trains a parameter below the head."""
    if mode == "full":
        return True
    if mode == "adapter":
        return f".{ADAPTER}." in name
    if mode == "lora":
        return ".lora_" in name
    return False  # frozen


def _group_name(depth: int, num_layers: int) -> str:
    if depth == 0:
        return HEAD
    if depth == num_layers + 1:
        return EMBEDDINGS
    return f"layer {num_layers - depth}"


def unfreeze_interval(cfg: FinetuneSpec, steps_per_epoch: int) -> int:
    """Steps between two unfreezings; 0 when everything trains from the start."""
    return cfg.unfreeze_every * (steps_per_epoch if cfg.unfreeze_unit == "epochs" else 1)


def unfrozen_depth(step: int, interval: int) -> float:
    """The deepest group that trains in the step taken after ``step`` steps.

    Groups with ``depth <= unfrozen_depth(step, interval)`` train: the head alone in steps
    0 .. interval - 1, the top encoder layer joins at step ``interval``, the next at
    ``2 × interval``, and so on. ``interval = 0``: every group, from step 0 (infinity).
    """
    return math.inf if interval == 0 else step // interval


def param_groups(
    groups: Iterable[LayerGroup], *, lr: float, layer_lr_decay: float, weight_decay: float
) -> list[dict[str, Any]]:
    """Optimizer param groups: peak lr ``lr × layer_lr_decay^depth``, weight decay on
    matrices only (``p.dim() >= 2``).

    Parameters that share a peak lr and weight decay share a param group, in model order
    (embeddings first), so with one lr these are the usual two groups (matrices, then the
    rest). Each group carries its ``peak_lr``: the schedule sets ``lr = peak_lr × multiplier``
    (:func:`hpsearch.train.learning_rates.set_lr`).
    """
    merged: dict[tuple[float, bool], list[nn.Parameter]] = {}
    for group in sorted(groups, key=lambda g: -g.depth):
        peak = lr * layer_lr_decay**group.depth
        for p in group.params:
            merged.setdefault((peak, p.dim() >= 2), []).append(p)
    return [
        {
            "params": params,
            "lr": peak,
            "peak_lr": peak,
            "weight_decay": weight_decay if matrix else 0.0,
        }
        for (peak, matrix), params in merged.items()
    ]
