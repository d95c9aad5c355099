"""One encoder, one head per task: the model of a multitask study.

Each head reads the encoder's pooled output (BERT's pooler: the [CLS] state through a dense
layer and tanh, shared by every task) through dropout and one linear layer. A
classification head gives one logit per class and is trained with cross-entropy; a
regression head gives one value per example, trained with the mean squared error against
the float label. Nothing takes an argmax, softmax or integer cast of a regression output:
the MinBERT report's STS Pearson of −0.065 came from such a head. A regression head's bias
starts at the mean training label (the best constant prediction), so that the first steps
learn how pairs differ rather than drag every prediction from 0 up to the labels' mean
through the pretrained encoder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn import functional as F

if TYPE_CHECKING:
    from hpsearch.metrics import LabelKind


@dataclass(frozen=True)
class HeadSpec:
    """What a task's head outputs."""

    num_labels: int  # classes; a regression head outputs one value whatever this says
    kind: LabelKind
    bias: float = 0.0  # the output layer's starting bias (regression: the mean train label)


@dataclass
class TaskOutput:
    """What the trainer reads of a forward pass (the names of Hugging Face's outputs)."""

    logits: torch.Tensor  # [n, num_labels] for classification, [n, 1] for regression
    loss: torch.Tensor | None = None


class TaskHead(nn.Module):
    """Dropout, then a linear layer from the pooled output to the task's outputs.

    The weights start as Hugging Face starts a classifier: normal with std ``init_std``
    (the encoder's ``initializer_range``), from torch's global RNG; the bias at
    ``spec.bias``.
    """

    def __init__(self, hidden_size: int, spec: HeadSpec, dropout: float, init_std: float) -> None:
        super().__init__()
        self.kind = spec.kind
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, 1 if spec.kind == "regression" else spec.num_labels)
        nn.init.normal_(self.out.weight, std=init_std)
        nn.init.constant_(self.out.bias, spec.bias)

    def forward(self, pooled: torch.Tensor, labels: torch.Tensor | None = None) -> TaskOutput:
        # The head and its loss in float32 also under autocast (mixed precision): bf16 keeps
        # 8 bits of mantissa, so a regression output near its bias of ~2.7 would move in
        # steps of 1/64, and the small differences between pairs early on would vanish.
        with torch.autocast(pooled.device.type, enabled=False):
            logits = self.out(self.dropout(pooled.float()))
        if labels is None:
            return TaskOutput(logits)
        if self.kind == "regression":
            loss = F.mse_loss(logits.squeeze(-1), labels.float())
        else:
            loss = F.cross_entropy(logits, labels)
        return TaskOutput(logits, loss)


class MultitaskModel(nn.Module):
    """A shared encoder (a Hugging Face ``AutoModel``) and a :class:`TaskHead` per task key.

    ``model(task="sts", input_ids=..., labels=...)`` runs the encoder and the head of
    ``sts``. Parameter names: ``encoder.…`` (so :mod:`hpsearch.train.finetune` finds the layers
    and embeddings) and ``heads.<key>.…``, which, like the pooler, count as the head.
    """

    def __init__(self, encoder: nn.Module, heads: Mapping[str, TaskHead]) -> None:
        super().__init__()
        self.encoder = encoder
        self.heads = nn.ModuleDict(dict(heads))

    def forward(
        self,
        task: str,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
    ) -> TaskOutput:
        out = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )
        pooled = getattr(out, "pooler_output", None)
        if pooled is None:  # an encoder without a pooler: the [CLS] state itself
            pooled = out.last_hidden_state[:, 0]
        return self.heads[task](pooled, labels)

    def get_input_embeddings(self) -> nn.Module:
        """The encoder's word embedding (M-FAC stores its gradients row-sparse)."""
        return self.encoder.get_input_embeddings()

    def get_output_embeddings(self) -> None:
        return None  # task heads only: no output layer tied to the word embedding

    def keep_heads(self, keys: Iterable[str]) -> None:
        """Drop every head but those of ``keys`` (a per-task copy needs only its own)."""
        keep = set(keys)
        for key in [k for k in self.heads if k not in keep]:
            del self.heads[key]
