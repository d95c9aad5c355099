"""BERT's self-attention in CPU training: the dropout of its probabilities draws 16-bit masks.

transformers hands the attention to torch's ``scaled_dot_product_attention`` (``sdpa``). On a
CPU with a dropout rate it runs torch's reference ("math") kernel: the scores, softmax and
output in float32 (bf16 inputs are cast up), and the dropout mask drawn by ``bernoulli_``, one
double of the Mersenne Twister per element (see :mod:`hpsearch.train.dropout`). For a Quora
batch of minilm (32 × 12 heads × 34² probabilities) with bf16 inputs a forward and backward
took 8.6-8.8 ms on 2 cores, about 2.7 ms of it the mask.

Here, on a CPU in training, the same computation is written out:

    P = softmax(q kᵀ · s + mask),   out = (P ⊙ M) v

in float32 like the reference kernel, with ``M`` from :func:`~hpsearch.train.dropout.dropout_mask`
(0, or 1 / (1 − p) for a kept probability; the rate within 7.7e-6 of ``p``): 5.3-5.4 ms. The
distribution of the output is the reference kernel's; a seed gives other draws. Elsewhere
(evaluation, CUDA, a rate that rounds to 0 or 1) the configured implementation runs, as
transformers calls it.

:func:`fast_attention_dropout` swaps the class of each ``BertSelfAttention`` of a model to
:class:`CpuTrainingSelfAttention`; the [CLS]-only last layer
(:mod:`hpsearch.train.cls_only`) calls :func:`attend` itself.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
from transformers.models.bert.modeling_bert import BertSelfAttention, eager_attention_forward

from hpsearch.train.dropout import LEVELS, dropout_mask, keep_threshold

__all__ = ["CpuTrainingSelfAttention", "attend", "cpu_attention", "fast_attention_dropout"]

# What attend and CpuTrainingSelfAttention.forward read of a BertSelfAttention.
USED = ("query", "key", "value", "attention_head_size", "scaling", "dropout", "config")


def cpu_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float,
    keep: torch.Tensor | None,
) -> torch.Tensor:
    """``(softmax(q kᵀ · scaling + mask) ⊙ keep) v`` in float32, returned in the inputs'
    dtype as ``(batch, length, heads, head size)``, the layout transformers' attention
    functions return.

    ``query``, ``key``, ``value``: ``(batch, heads, length, head size)``; ``attention_mask``:
    boolean (True attends) or additive, broadcast to the scores, or None; ``keep``: the
    dropout mask of the probabilities (0 or the kept scale), or None.
    """
    dtype = query.dtype
    # Under bf16 autocast the products would run in bf16: the reference kernel's are float32.
    with torch.autocast(query.device.type, enabled=False):
        scores = torch.matmul(query.float(), key.float().transpose(-2, -1)).mul_(scaling)
        if attention_mask is not None:
            if attention_mask.dtype == torch.bool:
                # The lowest float, not -inf: a row with no key to attend gets no NaN.
                scores = scores.masked_fill(~attention_mask, torch.finfo(scores.dtype).min)
            else:
                scores = scores + attention_mask
        probs = torch.softmax(scores, dim=-1)
        if keep is not None:
            probs = probs * keep
        out = torch.matmul(probs, value.float())
    return out.to(dtype).transpose(1, 2).contiguous()


def attend(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    **kwargs: Any,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The attention of self-attention ``module`` (its dropout and scaling): on a CPU in
    training, :func:`cpu_attention` with a 16-bit mask; elsewhere the implementation its
    config names. Returns transformers' ``(output, weights or None)``."""
    p = module.dropout.p if module.training else 0.0
    if query.device.type == "cpu" and 0 < keep_threshold(p) < LEVELS:
        shape = (*query.shape[:-1], key.shape[-2])
        keep = dropout_mask(torch.Size(shape), p, torch.float32)
        return cpu_attention(query, key, value, attention_mask, module.scaling, keep), None
    interface = ALL_ATTENTION_FUNCTIONS.get_interface(
        module.config._attn_implementation, eager_attention_forward
    )
    return interface(
        module, query, key, value, attention_mask, dropout=p, scaling=module.scaling, **kwargs
    )


class CpuTrainingSelfAttention(BertSelfAttention):
    """A ``BertSelfAttention`` whose attention is :func:`attend`'s."""

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        cache: Any = None,
        **kwargs: Any,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if cache is not None:  # a decoder's cached keys: not a classifier's encoder
            return super().forward(hidden_states, attention_mask, cache=cache, **kwargs)
        rows = hidden_states.shape[:-1]
        shape = (*rows, -1, self.attention_head_size)
        query, key, value = (
            project(hidden_states).view(shape).transpose(1, 2)
            for project in (self.query, self.key, self.value)
        )
        context, weights = attend(self, query, key, value, attention_mask, **kwargs)
        return context.reshape(*rows, -1).contiguous(), weights


def fast_attention_dropout(model: nn.Module) -> int:
    """Make every ``BertSelfAttention`` of ``model`` (exactly that class, of an encoder) a
    :class:`CpuTrainingSelfAttention`, in place; returns how many. A transformers release
    that moves what its forward reads keeps its own."""
    changed = 0
    for module in model.modules():
        if (
            type(module) is BertSelfAttention
            and not module.config.is_decoder
            and all(hasattr(module, name) for name in USED)
        ):
            module.__class__ = CpuTrainingSelfAttention
            changed += 1
    return changed
