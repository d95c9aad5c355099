"""The word embedding keeps the rows the data uses: a trimmed model computes what the full
one computes, and a trial trains the same, with the full model's parameter counts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import hpsearch.train.trainer as trainer_module
from hpsearch.data.encode import DataCache, EncodedSplit, EncodedTask
from hpsearch.train.trainer import train
from hpsearch.train.vocab import VocabularyTrim, trim_vocabulary, used_tokens
from tests.train.specs import same_training_spec


def split(rows: list[list[int]]) -> EncodedSplit:
    ids = torch.tensor([t for row in rows for t in row])
    offsets = torch.tensor([0, *torch.tensor([len(r) for r in rows]).cumsum(0).tolist()])
    return EncodedSplit(ids, torch.zeros_like(ids), offsets, torch.zeros(len(rows), dtype=int))


class Lookup(nn.Module):
    """An embedding with the accessors of a transformers model; optionally tied to an
    output layer, as a language model's is."""

    def __init__(self, tied: bool = False) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(20, 3, padding_idx=1)
        self.out = nn.Linear(3, 20, bias=False) if tied else None
        if self.out is not None:
            self.out.weight = self.embed.weight

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embed

    def get_output_embeddings(self) -> nn.Linear | None:
        return self.out


def test_the_kept_rows_select_what_the_full_vocabulary_selected():
    a = EncodedTask("binary", 2, 1, split([[7, 3, 3], [15]]), split([[4, 7]]))
    b = EncodedTask("binary", 2, 1, split([[19]]), split([[3]]))
    assert used_tokens([a, b], 20).tolist() == [1, 3, 4, 7, 15, 19]  # padding 1 included
    model = Lookup()
    full = model.embed.weight.detach().clone()
    tasks, trim = trim_vocabulary(model, {"a": a, "b": b})
    assert trim == VocabularyTrim("embed.weight", 6, (20 - 6) * 3)
    assert model.embed.weight.shape == (6, 3) and model.embed.num_embeddings == 6
    assert model.embed.padding_idx == 0 == tasks["a"].pad_id  # id 1 is the first kept row
    for key, old in (("a", a), ("b", b)):
        for part in ("train", "validation"):
            new_ids = getattr(tasks[key], part).ids
            torch.testing.assert_close(model.embed(new_ids), full[getattr(old, part).ids])
    assert trim.numel_left_out(["x", "embed.weight"]) == 42 and trim.numel_left_out(["x"]) == 0


def test_a_weight_tied_to_an_output_layer_is_left_whole():
    task = EncodedTask("binary", 2, 0, split([[2, 5]]), split([[5]]))
    model = Lookup(tied=True)
    tasks, trim = trim_vocabulary(model, {"t": task})
    assert tasks["t"] is task and trim.left_out == 0
    assert model.embed.weight.shape == (20, 3)


@pytest.mark.parametrize("kind", ["adamw", "mfac"])
def test_a_trial_trains_the_same_with_the_full_vocabulary(monkeypatch, kind):
    """A whole trial (float32) with the trimmed and with the full word embedding: the same
    evaluations, to float32 rounding, and the same parameter counts."""
    cache = DataCache()
    spec = same_training_spec(kind)
    data = cache.encoded(spec)
    trims = []
    real = trainer_module.trim_vocabulary

    def recorded(model, tasks):
        trims.append(real(model, tasks))
        assert model.config.vocab_size == trims[-1][1].kept_rows  # the config says the rows
        return trims[-1]

    monkeypatch.setattr(trainer_module, "trim_vocabulary", recorded)
    trimmed = train(spec, data)
    assert 0 < trims[0][1].kept_rows < 30_522 // 4  # 96 + 64 pairs use few of the tokens
    monkeypatch.setattr(
        trainer_module, "trim_vocabulary", lambda m, t: (dict(t), VocabularyTrim("", 0, 0))
    )
    full = train(spec, data)
    assert trimmed.num_params == full.num_params
    assert trimmed.trainable_params == full.trainable_params == full.num_params
    if kind == "adamw":  # two moments of every row
        assert trimmed.optimizer_state_bytes < full.optimizer_state_bytes
    else:  # M-FAC's row-sparse slots hold the rows of a step, whatever the vocabulary
        assert trimmed.optimizer_state_bytes == full.optimizer_state_bytes
    for a, b in zip(trimmed.evals, full.evals, strict=True):
        assert a.metrics["loss"] == pytest.approx(b.metrics["loss"], rel=1e-5)
        assert a.train_loss == pytest.approx(b.train_loss, rel=1e-5)
        assert a.trainable_params == b.trainable_params
