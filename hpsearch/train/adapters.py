"""Parameter-efficient modules added to a pretrained encoder: Houlsby adapters and LoRA.

Houlsby adapters are written here, not taken from AdapterHub's ``adapters`` library: its
latest release (1.3.0) pins ``transformers~=4.57`` and would downgrade transformers 5. LoRA
comes from ``peft``, which works with transformers 5. Both only add modules; which
parameters train is :mod:`hpsearch.train.finetune`'s decision.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from hpsearch.errors import HpsearchError

ADAPTER = "adapter"  # attribute name of an adapter on its sublayer; in its parameters' names
LORA_TARGETS = ("query", "value")  # Hu et al. (2021) adapt W_q and W_v of every attention


class BottleneckAdapter(nn.Module):
    """Houlsby et al. (2019) adapter: ``h + up(gelu(down(h)))``, a bottleneck with a residual.

    Both projections start as truncated normals with std 1e-3 (Houlsby's ``init_scale``) and
    zero biases, so a new adapter is nearly the identity and the pretrained model's outputs
    are kept at the start of training.
    """

    def __init__(self, hidden_size: int, bottleneck: int, init_std: float = 1e-3) -> None:
        super().__init__()
        self.down = nn.Linear(hidden_size, bottleneck)
        self.up = nn.Linear(bottleneck, hidden_size)
        self.act = nn.GELU()  # BERT's own nonlinearity, as in Houlsby's adapter-bert
        for linear in (self.down, self.up):
            nn.init.trunc_normal_(linear.weight, std=init_std, a=-2 * init_std, b=2 * init_std)
            nn.init.zeros_(linear.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden + self.up(self.act(self.down(hidden)))

    def after(self, module: nn.Module, inputs: Any, output: torch.Tensor) -> torch.Tensor:
        """Forward hook that runs this adapter on a module's output. A bound method, not a
        closure: ``copy.deepcopy`` of the model then hooks the copy's adapter, not this one."""
        return self(output)


def _output_sublayers(model: nn.Module) -> list[nn.Module]:
    """Every BERT-style sublayer output: ``*SelfOutput`` (after attention) and ``*Output``
    (after the feed-forward), each with ``dense``, ``dropout`` and ``LayerNorm``."""
    return [
        module
        for module in model.modules()
        if type(module).__name__.endswith("Output")
        and all(hasattr(module, a) for a in ("dense", "dropout", "LayerNorm"))
        and isinstance(module.dense, nn.Linear)
    ]


def add_houlsby_adapters(model: nn.Module, size: int) -> int:
    """Add an adapter of width ``size`` after the attention and the feed-forward sublayer of
    every encoder layer; the number of adapters added.

    Where, as in Houlsby's adapter-bert: after the sublayer's output projection and its
    dropout, before the residual sum and LayerNorm (HF's ``dense → dropout → LayerNorm(h +
    input)`` becomes ``dense → dropout → adapter → LayerNorm(h + input)``). The adapter is a
    child of the sublayer named ``adapter`` and runs as a forward hook of its dropout, so the
    pretrained modules and their parameter names stay as they are.

    Raises:
        HpsearchError: the model has no BERT-style sublayers to put adapters in.
    """
    sublayers = _output_sublayers(model)
    if not sublayers:
        raise HpsearchError(
            f"adapters need BERT-style layers (…SelfOutput and …Output modules with dense, "
            f"dropout and LayerNorm); {type(model).__name__} has none"
        )
    for sublayer in sublayers:
        dense = sublayer.dense
        adapter = BottleneckAdapter(dense.out_features, size).to(dense.weight.device)
        sublayer.add_module(ADAPTER, adapter)
        sublayer.dropout.register_forward_hook(adapter.after)
    return len(sublayers)


def add_lora(model: nn.Module, r: int, alpha: float) -> None:
    """Add LoRA of rank ``r`` (scale ``alpha / r``) to the query and value projections of
    every attention, with ``peft``; the model keeps its class and its forward.

    The LoRA parameters are named ``...query.lora_A.default.weight`` and so on; ``lora_B``
    starts at zero, so the model's outputs are unchanged at the start of training.
    """
    from peft import LoraConfig, inject_adapter_in_model

    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=0.0, target_modules=list(LORA_TARGETS))
    inject_adapter_in_model(config, model)
