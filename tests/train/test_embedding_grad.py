"""The word embedding's gradient, arriving row-sparse and written into a kept dense buffer,
equals torch's dense gradient step after step; training is the same either way."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import hpsearch.train.trainer as trainer_module
from hpsearch.data.encode import DataCache
from hpsearch.train.embedding_grad import RowSparseEmbedding, row_sparse_grads
from hpsearch.train.trainer import train
from tests.train.specs import same_training_spec


def pair(seed: int = 0) -> tuple[nn.Embedding, nn.Embedding]:
    """Two equal embeddings (padding row 0): one plain, one made row-sparse."""
    torch.manual_seed(seed)
    plain = nn.Embedding(50, 4, padding_idx=0)
    sparse = nn.Embedding(50, 4, padding_idx=0)
    sparse.load_state_dict(plain.state_dict())
    assert row_sparse_grads(sparse) is sparse
    return plain, sparse


def test_each_step_gives_torchs_dense_gradient_in_one_kept_buffer():
    plain, sparse = pair()
    assert isinstance(sparse, RowSparseEmbedding)
    g = torch.Generator().manual_seed(1)
    # Step 1 and 2 touch different rows (the rows of step 1 must be zero again in step 2);
    # repeated tokens and padding (row 0, no gradient) in both; step 2 has two backward
    # passes, as a multitask step has one per task.
    steps = [
        [torch.tensor([[3, 3, 7, 0], [9, 7, 0, 0]])],
        [torch.tensor([[11, 12, 12, 0]]), torch.tensor([[12, 40, 0, 0]])],
    ]
    kept = None
    for batches in steps:
        for ids in batches:
            w = torch.randn(*ids.shape, 4, generator=g)
            (plain(ids) * w).sum().backward()
            (sparse(ids) * w).sum().backward()
        assert sparse.weight.grad.is_sparse  # as autograd delivers it
        norm = sparse.densify_grad()
        torch.testing.assert_close(sparse.weight.grad, plain.weight.grad, rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(norm, plain.weight.grad.norm())  # read from the rows
        assert not sparse.weight.grad.is_sparse and not sparse.weight.grad[0].any()
        kept = kept if kept is not None else sparse.weight.grad
        assert sparse.weight.grad is kept  # one buffer, not a new 50 x 4 tensor a step
        plain.weight.grad = sparse.weight.grad = None  # zero_grad(set_to_none=True)


def test_a_frozen_weight_is_left_alone_and_only_a_plain_cpu_embedding_is_swapped():
    _, sparse = pair()
    sparse.weight.requires_grad_(False)
    sparse(torch.tensor([[1, 2]])).sum()
    assert sparse.densify_grad() is None  # no gradient: nothing to do
    assert sparse.weight.grad is None
    assert row_sparse_grads(sparse) is sparse  # a copy of a model trained so
    assert row_sparse_grads(nn.Linear(2, 2)) is None

    class Custom(nn.Embedding):  # a subclass may have a forward of its own: left alone
        pass

    other = Custom(5, 2)
    assert row_sparse_grads(other) is None and type(other) is Custom


@pytest.mark.parametrize("kind", ["adamw", "mfac"])
def test_training_is_the_same_with_torchs_dense_gradient(monkeypatch, kind):
    """A whole trial with and without the row-sparse gradient (float32): the same
    evaluations up to float32 rounding, for a fused AdamW and for M-FAC's row-sparse
    layout, which finds the touched rows in the dense gradient."""
    cache = DataCache()
    spec = same_training_spec(kind)
    data = cache.encoded(spec)
    made = []
    real = trainer_module.row_sparse_grads
    monkeypatch.setattr(trainer_module, "row_sparse_grads", lambda e: made.append(real(e)) or e)
    ours = train(spec, data)
    assert [type(e) for e in made] == [RowSparseEmbedding]  # the trial did use it
    monkeypatch.setattr(trainer_module, "row_sparse_grads", lambda embedding: None)
    torch_s = train(spec, data)
    for a, b in zip(ours.evals, torch_s.evals, strict=True):
        assert a.metrics["loss"] == pytest.approx(b.metrics["loss"], rel=1e-4)
        assert a.train_loss == pytest.approx(b.train_loss, rel=1e-4)
