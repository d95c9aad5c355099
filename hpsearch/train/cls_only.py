"""The last encoder layer of a [CLS] classifier computes the [CLS] row only.

A sequence classifier reads one vector of the encoder's last layer: the [CLS] state (through
BERT's pooler, or as it is). Hugging Face's last layer computes every token's state and the
classifier throws all but one away. Only the keys and values of every token reach [CLS]'s
state; its query, the attention output projection, the feed-forward and both LayerNorms are
needed for one row only. So the last layer here computes

    q = W_q h_cls,   K = W_k H,   V = W_v H,   a = softmax(q Kᵀ / √d_head + mask) V,
    s = LN(h_cls + W_o a),   out = LN(s + W_2 gelu(W_1 s))

for ``h_cls`` = the [CLS] row of the layer's input ``H``, and returns a sequence of one row.
The loss and every gradient are the ones of the full layer (the rows left out reach
nothing); only the dropout masks differ, as fewer numbers are drawn: the same distribution,
other draws.

What it saves: per token a BERT layer multiplies by 4h² weights for attention and 2·h·i for
the feed-forward (i = 4h: 12h² in all); the last layer keeps 2h² (keys and values) for every
token but [CLS]. With 2 layers (bert-tiny, minilm cut to 2) the encoder does 14/24 = 58 % of
the multiply-adds it did, with 4 (bert-mini) 79 %.

Adapters (forward hooks of the output sublayers' dropout) and LoRA (``peft`` layers in place of
``query`` and ``value``) run as before: the layer calls its own submodules. Parameter names
do not change (the layer's class does).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformers.models.bert.modeling_bert import BertLayer, BertModel

from hpsearch.train.attention import USED, attend

__all__ = ["ClsOnlyBertLayer", "cls_only_last_layer"]


class ClsOnlyBertLayer(BertLayer):
    """A :class:`BertLayer` whose output is the [CLS] row alone, shape ``(batch, 1, hidden)``."""

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        encoder_attention_mask: torch.Tensor | None = None,
        cache: Any = None,
        **kwargs: Any,
    ) -> torch.Tensor:
        attention = self.attention.self
        batch, length, _ = hidden_states.shape
        cls = hidden_states[:, :1]
        head = attention.attention_head_size
        query = attention.query(cls).view(batch, 1, -1, head).transpose(1, 2)
        key = attention.key(hidden_states).view(batch, length, -1, head).transpose(1, 2)
        value = attention.value(hidden_states).view(batch, length, -1, head).transpose(1, 2)
        if attention_mask is not None and attention_mask.shape[-2] != 1:
            attention_mask = attention_mask[..., :1, :]  # [CLS]'s row of a (query, key) mask
        # The attention BertSelfAttention would run (CPU training: hpsearch.train.attention).
        context, _ = attend(attention, query, key, value, attention_mask, **kwargs)
        attended = self.attention.output(context.reshape(batch, 1, -1), cls)
        return self.feed_forward_chunk(attended)


def cls_only_last_layer(model: nn.Module) -> bool:
    """Make the last layer of ``model``'s BERT encoder compute the [CLS] row only.

    For a model that reads nothing of its encoder's last layer but the [CLS] row (a sequence
    classifier, or :class:`hpsearch.train.heads.MultitaskModel`); the caller knows that.
    Returns whether it did: a model with no BERT encoder, or more than one, a decoder or
    cross-attention, or a last layer of another class, is left as it is.
    """
    encoders = [m for m in model.modules() if isinstance(m, BertModel)]
    if len(encoders) != 1:
        return False
    (encoder,) = encoders
    config = encoder.config
    if config.is_decoder or config.add_cross_attention or not len(encoder.encoder.layer):
        return False
    last = encoder.encoder.layer[-1]
    # What ClsOnlyBertLayer.forward calls: a transformers release that moves any of it keeps
    # the full layer rather than failing in a trial.
    attention = getattr(getattr(last, "attention", None), "self", None)
    if (
        type(last) is not BertLayer
        or not all(hasattr(attention, name) for name in USED)
        or not hasattr(last.attention, "output")
        or not hasattr(last, "feed_forward_chunk")
    ):
        return False
    last.__class__ = ClsOnlyBertLayer
    return True
