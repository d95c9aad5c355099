"""``build_model``'s speed-ups change the classes of some modules, nothing else: the same
weights, and in evaluation the same outputs as transformers' model as it loads."""

from __future__ import annotations

import torch

from hpsearch.train.models import build_model


def test_the_speed_ups_change_classes_not_weights_or_outputs():
    settings = {"num_labels": 2, "kind": "classification", "num_hidden_layers": 2}
    torch.manual_seed(0)
    stock = build_model("minilm", **settings, speed_ups=False).eval()
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
