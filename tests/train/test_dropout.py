"""Dropout with 16-bit CPU masks: nn.Dropout's distribution and gradient, other draws."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from transformers import BertConfig, BertForSequenceClassification

from hpsearch.train.adapters import add_houlsby_adapters
from hpsearch.train.dropout import FastDropout, dropout_mask, fast_dropout, keep_threshold


@pytest.mark.parametrize("p", [0.1, 0.25, 0.5])
def test_a_mask_drops_the_rate_and_keeps_the_expectation(p):
    """Every element is 0 or 65536 / (65536 - k); the dropped share is k / 65536 (within 4
    standard errors over a million elements, seeded), and the scale makes the mean exact."""
    torch.manual_seed(0)
    mask = dropout_mask(torch.Size([1000, 1000]), p, torch.float32)
    k = keep_threshold(p)
    kept = (mask != 0).float().mul_(65536 / (65536 - k))
    assert torch.equal(mask, kept)
    dropped = float((mask == 0).float().mean())
    assert abs(k / 65536 - p) <= 0.5 / 65536
    assert abs(dropped - k / 65536) < 4 * (p * (1 - p) / mask.numel()) ** 0.5
    assert float(mask.double().mean()) == pytest.approx(1.0, abs=4 * (p / (1 - p) / 1e6) ** 0.5)


def test_every_16_bit_lane_of_a_draw_is_used_uniformly():
    """A 64-bit draw feeds 4 elements: each lane drops at the rate (torch's random_() would
    leave the top bit 0, and the 4th lane would never drop at p = 0.5)."""
    torch.manual_seed(0)
    mask = dropout_mask(torch.Size([4 * 250_000]), 0.5, torch.float32).view(-1, 4)
    lanes = (mask == 0).float().mean(0)
    assert torch.all((lanes - 0.5).abs() < 4 * (0.25 / 250_000) ** 0.5), lanes


def test_forward_and_backward_multiply_by_one_mask_and_a_seed_repeats_it():
    layer = FastDropout(0.3)
    x = torch.randn(64, 32, requires_grad=True)
    torch.manual_seed(1)
    out = layer(x)
    out.backward(torch.ones_like(out))
    mask = (out != 0).float().mul_(65536 / (65536 - keep_threshold(0.3)))
    assert torch.equal(out, x * mask)
    assert torch.equal(x.grad, mask)  # d(x * mask)/dx = mask, the same draws
    torch.manual_seed(1)
    assert torch.equal(layer(x), out)


def test_it_is_nn_dropout_in_evaluation_at_rate_zero_and_in_place():
    x = torch.randn(8, 8)
    layer = FastDropout(0.5).eval()
    assert torch.equal(layer(x), x)
    assert torch.equal(FastDropout(0.0)(x), x)
    assert torch.equal(FastDropout(1.0)(x), torch.zeros_like(x))  # k = 65536: torch's
    torch.manual_seed(0)
    inplace = FastDropout(0.5, inplace=True)(x.clone())
    torch.manual_seed(0)
    assert torch.equal(inplace, nn.Dropout(0.5)(x.clone()))


def test_a_model_s_dropouts_change_class_and_keep_their_hooks():
    """Every nn.Dropout of a BERT classifier becomes a FastDropout in place: the adapters'
    forward hooks on the output sublayers' dropout stay, and in evaluation the model computes
    what it did."""
    config = BertConfig(
        vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=32, num_labels=2,
    )  # fmt: skip
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    add_houlsby_adapters(model, size=8)
    for p in model.parameters():
        nn.init.normal_(p, std=0.1)  # adapters start at zero: make them count
    before = copy.deepcopy(model)
    dropouts = [m for m in model.modules() if type(m) is nn.Dropout]
    hooked = [m for m in dropouts if m._forward_hooks]
    assert fast_dropout(model) == len(dropouts) > 0 and len(hooked) == 4  # 2 per layer
    assert all(type(m) is FastDropout and m._forward_hooks for m in hooked)
    ids = torch.randint(1, 100, (3, 10), generator=torch.Generator().manual_seed(0))
    model.eval(), before.eval()
    assert torch.equal(model(input_ids=ids).logits, before(input_ids=ids).logits)
    for m in hooked:
        m._forward_hooks.clear()
    assert not torch.allclose(model(input_ids=ids).logits, before(input_ids=ids).logits)
