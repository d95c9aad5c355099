"""``build_model`` is transformers' classifier (``pretrained_classifier``) with hpsearch's
exact speed-ups: the same weights, and in evaluation the same outputs."""

from __future__ import annotations

import torch

from hpsearch.train.models import build_model, pretrained_classifier


def test_build_model_is_the_pretrained_classifier_with_its_speed_ups():
    settings = {"num_labels": 2, "kind": "classification", "num_hidden_layers": 2}
    torch.manual_seed(0)
    stock = pretrained_classifier("minilm", **settings).eval()
    torch.manual_seed(0)
    fast = build_model("minilm", **settings).eval()

    def ours(model: torch.nn.Module) -> set[str]:
        return {type(m).__name__ for m in model.modules() if "hpsearch" in type(m).__module__}

    assert ours(stock) == set()  # transformers' and torch's modules only
    assert ours(fast) == {"ClsOnlyBertLayer", "CpuTrainingSelfAttention", "FastDropout"}

    stock_params = dict(stock.named_parameters())
    assert list(dict(fast.named_parameters())) == list(stock_params)
    for name, param in fast.named_parameters():
        torch.testing.assert_close(param, stock_params[name], rtol=0, atol=0, msg=name)
    ids = torch.tensor([[101, 2129, 2079, 1045, 102, 2054, 102], [101, 7592, 102, 2088, 102, 0, 0]])
    mask = (ids != 0).long()
    with torch.no_grad():
        torch.testing.assert_close(
            fast(input_ids=ids, attention_mask=mask).logits,
            stock(input_ids=ids, attention_mask=mask).logits,
        )
