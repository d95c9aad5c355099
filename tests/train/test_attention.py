"""The CPU training attention: torch's attention written out, with the probabilities'
dropout drawn 16 bits at a time."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from transformers import BertModel

import hpsearch.train.attention as attention_module
from hpsearch.train.attention import CpuTrainingSelfAttention, cpu_attention, fast_attention_dropout
from hpsearch.train.cls_only import cls_only_last_layer
from hpsearch.train.dropout import dropout_mask
from tests.train.bert import batch, config


def qkv(dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return [
        torch.randn(3, 2, 5, 4, generator=generator).to(dtype).requires_grad_() for _ in range(3)
    ]


def masks() -> list[torch.Tensor | None]:
    """None, a boolean mask (True attends; row 0 has 2 padded keys) and its additive twin."""
    keep = torch.ones(3, 1, 5, 5, dtype=torch.bool)
    keep[0, ..., 3:] = False
    return [None, keep, torch.zeros(keep.shape).masked_fill(~keep, -1e9)]


@pytest.mark.parametrize("mask", masks(), ids=["none", "bool", "additive"])
@pytest.mark.parametrize("bf16", [False, True], ids=["fp32", "bf16-autocast"])
def test_without_dropout_it_is_torchs_float32_attention_forward_and_backward(mask, bf16):
    """Against torch's attention of the same inputs in float32 (what its reference kernel
    computes for bf16 inputs too); bf16 inputs and output, under autocast, to bf16's
    precision."""
    dtype = torch.bfloat16 if bf16 else torch.float32
    ours_in = qkv(dtype)
    theirs_in = [x.detach().float().requires_grad_() for x in ours_in]
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        ours = cpu_attention(*ours_in, mask, 0.3, None)
    theirs = F.scaled_dot_product_attention(*theirs_in, attn_mask=mask, scale=0.3)
    assert ours.dtype == dtype and ours.shape == (3, 5, 2, 4)  # (batch, length, heads, size)
    tolerance = {"atol": 1e-2, "rtol": 1e-2} if bf16 else {}
    torch.testing.assert_close(ours.float(), theirs.transpose(1, 2), **tolerance)
    weights = torch.randn(ours.shape, generator=torch.Generator().manual_seed(1))
    (ours.float() * weights).sum().backward()
    (theirs.transpose(1, 2) * weights).sum().backward()
    for a, b in zip(ours_in, theirs_in, strict=True):
        torch.testing.assert_close(a.grad.float(), b.grad, **tolerance)


def test_a_query_with_no_key_to_attend_gets_no_nan():
    q, k, v = qkv()
    nothing = torch.zeros(3, 1, 5, 5, dtype=torch.bool)
    assert torch.isfinite(cpu_attention(q, k, v, nothing, 0.3, None)).all()


def test_the_dropout_mask_multiplies_the_probabilities():
    q, k, v = qkv()
    keep = dropout_mask(torch.Size((3, 2, 5, 5)), 0.5, torch.float32)
    probs = torch.softmax(q @ k.transpose(-2, -1) * 0.3, dim=-1)
    expected = (probs * keep) @ v
    torch.testing.assert_close(cpu_attention(q, k, v, None, 0.3, keep), expected.transpose(1, 2))


def test_a_model_trains_with_it_on_cpu_and_evaluates_as_before(monkeypatch):
    """Every self-attention is swapped; in training each draws one 16-bit mask (the [CLS]-only
    last layer too), and a seed repeats them; in evaluation the model is transformers'."""
    torch.manual_seed(0)
    reference = BertModel(config(attention_probs_dropout_prob=0.3))
    model = BertModel(config(attention_probs_dropout_prob=0.3))
    model.load_state_dict(reference.state_dict())
    assert cls_only_last_layer(model)
    assert fast_attention_dropout(model) == 2
    layer = model.encoder.layer[0].attention.self
    assert type(layer) is CpuTrainingSelfAttention
    inputs = {k: v for k, v in batch().items() if k != "labels"}

    drawn = []
    real = attention_module.dropout_mask
    monkeypatch.setattr(attention_module, "dropout_mask", lambda *a: drawn.append(a[0]) or real(*a))
    model.train()
    outputs = []
    for _ in range(2):
        torch.manual_seed(5)
        outputs.append(model(**inputs).last_hidden_state)
    assert drawn == [(6, 4, 12, 12), (6, 4, 1, 12)] * 2  # a full layer, then [CLS]'s row
    torch.testing.assert_close(outputs[0], outputs[1])
    outputs[0].sum().backward()
    assert layer.query.weight.grad is not None

    model.eval()
    reference.eval()
    ours = model(**inputs).last_hidden_state
    theirs = reference(**inputs).last_hidden_state[:, :1]
    torch.testing.assert_close(ours, theirs)
