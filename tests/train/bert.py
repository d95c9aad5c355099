"""A small BERT without dropout and a padded batch, for the tests of the model's layers."""

from __future__ import annotations

import torch
from transformers import BertConfig


def config(attention: str = "sdpa", **overrides) -> BertConfig:
    """A small BERT without dropout (dropout masks are the one thing the two layers draw
    differently)."""
    settings = {
        "vocab_size": 100,
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 64,
        "max_position_embeddings": 32,
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
    }
    made = BertConfig(**(settings | overrides))
    made._attn_implementation = attention
    return made


def batch() -> dict[str, torch.Tensor]:
    """Six rows of unequal length, padded on the right as BERT's tokenizer pads."""
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(1, 100, (6, 12), generator=generator)
    mask = torch.ones_like(ids)
    for row, length in enumerate([12, 9, 5, 12, 3, 7]):
        mask[row, length:] = 0
        ids[row, length:] = 0
    return {"input_ids": ids, "attention_mask": mask, "labels": torch.tensor([0, 1, 1, 0, 1, 0])}
