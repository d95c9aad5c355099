"""M-FAC with row-sparse word-embedding storage: the same update as dense, in less memory."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from transformers import BertConfig, BertForMaskedLM, BertForSequenceClassification

from hpsearch.data.batches import max_tokens_per_batch, train_batches
from hpsearch.data.encode import DataCache
from hpsearch.errors import InsufficientMemoryError
from hpsearch.optim import get_optimizer
from hpsearch.optim import mfac as mfac_module
from hpsearch.optim.mfac import MFAC, mfac_buffer_bytes
from hpsearch.train.models import row_sparse_embeddings
from tests.optim.reference import with_reference
from tests.studies import quora_spec

REPO = Path(__file__).resolve().parents[2]
DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")),
]
# Relative difference allowed between the row-sparse and the dense update (the bar).
TOL = {"float32": 1e-6, "float64": 1e-10}
# Rows touched by the embedding's gradient, step by step, with every edge: no rows, exactly
# max_rows (6), and None (no .grad at all).
ROW_COUNTS = [3, 6, 0, None, 1, 6, 2, 5, 4, 0, 6, 1, 3]


def rel_diff(x: torch.Tensor, ref: torch.Tensor) -> float:
    return ((x.double() - ref.double()).norm() / ref.double().norm()).item()


def flat(tensors) -> torch.Tensor:
    return torch.cat([t.detach().reshape(-1) for t in tensors])


def trainer_groups(params, weight_decay=0.01):
    """The trainer's two groups: decay on matrices, none on vectors."""
    return [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]


def embedding_grad(n: int | None, shape, dtype, device) -> torch.Tensor | None:
    """A gradient of a ``shape`` embedding that touches ``n`` random rows; None for None."""
    if n is None:
        return None
    grad = torch.zeros(shape, dtype=dtype, device=device)
    grad[torch.randperm(shape[0], device=device)[:n]] = torch.randn(
        n, shape[1], dtype=dtype, device=device
    )
    return grad


def tiny_bert(dtype=torch.float32, cls=BertForSequenceClassification):
    """A small BERT with the real 30,522-token vocabulary, so real token ids index it."""
    torch.manual_seed(0)
    config = BertConfig(
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    return cls(config).to(dtype)


@pytest.fixture(scope="module")
def quora():
    """200 Quora pairs tokenized for BERT (max length 64), in batches of 8 as the trainer draws."""
    spec = quora_spec(
        ["task.max_length=64", "task.max_train_samples=200", "task.max_eval_samples=8"]
    )
    data = DataCache().encoded(spec)
    batch_size = 8
    rows = train_batches(data.train, batch_size, torch.Generator().manual_seed(0), True)
    rows += train_batches(data.train, batch_size, torch.Generator().manual_seed(1), True)
    batches = [data.train.batch(r, data.pad_id) for r in rows]
    return SimpleNamespace(
        batches=batches, max_rows=max_tokens_per_batch(data.train, batch_size), split=data.train
    )


@pytest.mark.parametrize("device", DEVICES)
def test_same_update_as_dense_on_real_batches(quora, device):
    """50 steps of a small BERT on Quora batches at the cards' damp, the buffer wrapping (m = 8).

    Four optimizers take each step's gradient: dense and row-sparse, in float64 and float32.
    Each steps from zero parameters, so the parameters afterwards are the update itself (no
    float32 cancellation against the weights); the model then moves by the float32 dense
    update. float64: the layouts agree to 1e-10, i.e. they compute the same update. float32:
    the layouts differ by float32 M-FAC's own rounding (inner products over d numbers,
    amplified by the conditioning of K at damp 1e-6): about 1e-5 here, as large as dense
    float32's own error against float64, so there the check is that row-sparse is as
    accurate as dense.
    """
    model = tiny_bert().to(device)
    params = list(model.parameters())
    k = params.index(model.get_input_embeddings().weight)
    optimizers, outs = {}, {}
    for layout in ("dense", "rows"):
        for buffer_dtype in ("float32", "float64"):
            dtype = getattr(torch, buffer_dtype)
            out = [torch.zeros_like(p, dtype=dtype).requires_grad_() for p in params]
            bound = {out[k]: quora.max_rows} if layout == "rows" else None
            optimizers[layout, buffer_dtype] = MFAC(
                trainer_groups(out),
                lr=1e-3,
                num_grads=8,
                damp=1e-6,
                buffer_dtype=buffer_dtype,
                row_sparse=bound,
            )
            outs[layout, buffer_dtype] = out

    d = optimizers["dense", "float32"].num_params
    for buffer_dtype in ("float32", "float64"):
        expected = mfac_buffer_bytes(
            d, 8, buffer_dtype, row_sparse=[(params[k].shape, quora.max_rows)]
        )
        sparse_bytes = optimizers["rows", buffer_dtype].buffer_nbytes
        assert sparse_bytes == expected < optimizers["dense", buffer_dtype].buffer_nbytes / 3

    diffs: dict[str, list[float]] = {"float64": [], "float32": [], "dense32": [], "rows32": []}
    touched = []
    for batch in quora.batches[:50]:
        batch = {name: t.to(device) for name, t in batch.items()}
        model.zero_grad(set_to_none=True)
        model(**batch).loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)  # as the trainer does: still row-sparse
        touched.append(int(params[k].grad.ne(0).any(dim=1).sum()))
        for key, opt in optimizers.items():
            with torch.no_grad():
                for p, q in zip(params, outs[key], strict=True):
                    q.zero_()
                    q.grad = p.grad.to(q.dtype, copy=True)
            opt.step()
        update = {key: flat(out) for key, out in outs.items()}
        truth = update["dense", "float64"]
        diffs["float64"].append(rel_diff(update["rows", "float64"], truth))
        diffs["float32"].append(rel_diff(update["rows", "float32"], update["dense", "float32"]))
        diffs["dense32"].append(rel_diff(update["dense", "float32"], truth))
        diffs["rows32"].append(rel_diff(update["rows", "float32"], truth))
        with torch.no_grad():
            for p, q in zip(params, outs["dense", "float32"], strict=True):
                p.add_(q)  # train the model with the dense float32 update

    # Real batches: a few dozen to a few hundred of 30,522 rows, within the bound.
    assert len(touched) == 50 and min(touched) > 0
    assert max(touched) <= quora.max_rows < params[k].shape[0] // 50
    assert max(diffs["float64"]) < 1e-10
    assert max(diffs["rows32"]) <= 2 * max(diffs["dense32"])
    assert max(diffs["float32"]) < 1e-4  # a wrong or stale row would be off by far more
    assert all(opt.num_failed_steps == 0 for opt in optimizers.values())


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    ("buffer_dtype", "momentum", "tol", "small_blocks"),
    [
        ("float64", 0.0, 1e-12, False),
        ("float64", 0.0, 1e-12, True),
        ("float64", 0.9, 1e-12, True),
        ("float32", 0.0, 1e-6, False),
        ("float32", 0.9, 1e-6, True),
        ("bfloat16", 0.0, 1e-6, True),  # both layouts store the same rounded gradients
    ],
)
def test_same_update_as_dense_edge_cases(
    buffer_dtype, momentum, tol, small_blocks, device, monkeypatch
):
    """Random row-sparse gradients with every edge: no rows, exactly max_rows, no grad at all.

    Random gradients keep K well conditioned, so float32 M-FAC is accurate to about 1e-7 and
    the layouts agree to 1e-6 in float32 too. ``small_blocks``: a scratch of one slot's
    max_rows, so the products run over many blocks of slots, the last one shorter.
    """
    if small_blocks:
        monkeypatch.setattr(mfac_module, "_BLOCK_ELEMENTS", 1)
    torch.manual_seed(0)
    dtype = torch.float64 if buffer_dtype == "float64" else torch.float32
    rows, cols, max_rows, m = 40, 3, 6, 5
    shapes = [(rows, cols), (7, 2), (4,)]
    params = [torch.zeros(s, dtype=dtype, device=device, requires_grad=True) for s in shapes]
    twins = [p.detach().clone().requires_grad_() for p in params]
    hp = dict(lr=0.1, num_grads=m, damp=1e-3, momentum=momentum, buffer_dtype=buffer_dtype)
    dense = MFAC(trainer_groups(params, 0.1), **hp)
    sparse = MFAC(trainer_groups(twins, 0.1), **hp, row_sparse={twins[0]: max_rows})
    assert sparse.buffer_nbytes < dense.buffer_nbytes
    row_buffer = sparse._buffer.parts[0][0]
    assert row_buffer._scratch.numel() == (max_rows * cols if small_blocks else 1 << 22)
    assert max(n or 0 for n in ROW_COUNTS) == max_rows
    for n in ROW_COUNTS:
        grads = [embedding_grad(n, shapes[0], dtype, device)]
        grads += [torch.randn_like(p) for p in params[1:]]
        with torch.no_grad():
            for p, q, g in zip(params, twins, grads, strict=True):
                p.zero_()  # from zero, the parameters afterwards are the update -lr·v
                q.zero_()
                p.grad = g
                q.grad = None if g is None else g.clone()
        dense.step()
        sparse.step()
        assert rel_diff(flat(twins), flat(params)) < tol


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize(
    ("mode", "embedding_decay", "stored_row_sparse"),
    [
        ("decoupled", 0.2, True),
        ("coupled", 0.0, True),  # no decay on the embedding: its g stays row-sparse
        ("coupled", 0.2, False),  # g + wd·θ touches every row: stored dense
    ],
)
def test_weight_decay_modes_match_the_reference(
    mode, embedding_decay, stored_row_sparse, momentum, device
):
    """M-FAC given a row-sparse bound, against the authors' step (ReferenceMFAC) in float64,
    from random weights (coupled decay acts on θ), over row-sparse gradients with every
    edge. Coupled decay on the embedding makes its stored gradient dense, so M-FAC stores
    it dense: the same update, in the dense layout's memory."""
    torch.manual_seed(0)
    max_rows, m, lr, damp = 6, 5, 0.1, 1e-3
    shapes = [(40, 3), (7, 2), (4,)]
    decays = [embedding_decay, 0.2, 0.0]
    params = [torch.randn(s, dtype=torch.float64, device=device).requires_grad_() for s in shapes]
    hp = dict(m=m, damp=damp, lr=lr, momentum=momentum, mode=mode)
    opt, ref = with_reference(params, decays, **hp, row_sparse={params[0]: max_rows})
    d = sum(p.numel() for p in params)
    assert (opt.buffer_nbytes < mfac_buffer_bytes(d, m, "float64")) == stored_row_sparse
    for n in ROW_COUNTS:
        grads = [embedding_grad(n, shapes[0], torch.float64, "cpu")]
        grads += [torch.randn(s, dtype=torch.float64) for s in shapes[1:]]
        for p, g in zip(params, grads, strict=True):
            p.grad = None if g is None else g.to(device)
        opt.step()
        zero = torch.zeros(shapes[0], dtype=torch.float64)
        loss_grad = flat([zero if grads[0] is None else grads[0], *grads[1:]])
        assert rel_diff(flat(params).cpu(), ref.step(loss_grad)) < TOL["float64"]
    assert opt.num_failed_steps == 0


def test_coupled_decay_raised_on_a_row_sparse_parameter_is_refused():
    """A group's weight decay raised after M-FAC stored its parameter row-sparse: under
    coupled decay the next step is refused, naming the rule and the parameter, before
    anything changes."""
    torch.manual_seed(0)
    embedding = torch.randn(20, 4, requires_grad=True)
    bias = torch.randn(3, requires_grad=True)
    opt = MFAC(
        [{"params": [embedding], "weight_decay": 0.0}, {"params": [bias], "weight_decay": 0.0}],
        lr=0.1,
        num_grads=3,
        damp=1e-2,
        weight_decay_mode="coupled",
        row_sparse={embedding: 3},
    )
    assert opt.dense_buffer is None  # the embedding is stored row-sparse
    opt.param_groups[0]["weight_decay"] = 0.1
    before = flat([embedding, bias]).clone()
    embedding.grad = embedding_grad(2, (20, 4), torch.float32, "cpu")
    bias.grad = torch.randn(3)
    with pytest.raises(ValueError, match="weight_decay_mode='coupled'") as info:
        opt.step()
    assert "20 x 4 parameter has weight_decay=0.1" in str(info.value)
    assert "layout='dense'" in str(info.value)
    assert torch.equal(flat([embedding, bias]), before)
    (rows, _), (dense, _) = opt._buffer.parts
    assert rows.counts == [0, 0, 0] and not dense.G.any()  # nothing was stored


def test_too_many_rows_is_refused_before_anything_changes():
    torch.manual_seed(0)
    embedding = torch.zeros(20, 4, requires_grad=True)
    bias = torch.zeros(3, requires_grad=True)
    twin_embedding, twin_bias = (torch.zeros_like(t).requires_grad_() for t in (embedding, bias))
    sparse = MFAC([embedding, bias], lr=0.1, num_grads=3, damp=1e-2, row_sparse={embedding: 3})
    dense = MFAC([twin_embedding, twin_bias], lr=0.1, num_grads=3, damp=1e-2)

    def grads(n_rows: int):
        g = torch.zeros(20, 4)
        g[:n_rows] = torch.randn(n_rows, 4)
        return g, torch.randn(3)

    embedding.grad, bias.grad = grads(4)  # one row over the bound
    with pytest.raises(ValueError, match=r"touched 4 rows with max_rows=3") as info:
        sparse.step()
    assert "layout='dense'" in str(info.value)
    assert torch.count_nonzero(flat([embedding, bias])) == 0  # no update
    # Nothing was stored: the next steps are those of a dense M-FAC that never saw it.
    for _ in range(4):
        g_embedding, g_bias = grads(3)
        embedding.grad, bias.grad = g_embedding, g_bias
        twin_embedding.grad, twin_bias.grad = g_embedding.clone(), g_bias.clone()
        sparse.step()
        dense.step()
    torch.testing.assert_close(flat([embedding, bias]), flat([twin_embedding, twin_bias]))


@pytest.mark.parametrize(("max_rows", "row_sparse"), [(6, True), (7, False), (100, False)])
def test_auto_stores_row_sparse_only_when_smaller(max_rows, row_sparse):
    # 10 x 4 float32: 160 bytes dense; a kept row costs 4 values + an int64 index = 24 bytes,
    # so 6 rows (144 bytes) are smaller and 7 (168) are not. max_rows > 10 is capped at 10.
    embedding = torch.zeros(10, 4, requires_grad=True)
    other = torch.zeros(5, requires_grad=True)
    expected = 2 * (5 * 4 + (max_rows * 24 if row_sparse else 160))
    assert mfac_buffer_bytes(45, 2, row_sparse=[((10, 4), max_rows)]) == expected
    opt = MFAC([embedding, other], num_grads=2, row_sparse={embedding: max_rows})
    assert opt.buffer_nbytes == expected
    assert opt.num_params == 45


def test_layout_dense_ignores_row_sparse():
    embedding = torch.zeros(100, 4, requires_grad=True)
    opt = MFAC([embedding], num_grads=3, layout="dense", row_sparse={embedding: 2})
    assert opt.buffer_nbytes == mfac_buffer_bytes(400, 3) == 3 * 400 * 4
    auto = MFAC([embedding], num_grads=3, row_sparse={embedding: 2})
    assert auto.buffer_nbytes == mfac_buffer_bytes(400, 3, row_sparse=[((100, 4), 2)])
    assert auto.buffer_nbytes == 3 * 2 * (4 * 4 + 8)
    with pytest.raises(ValueError, match="`layout` must be one of") as info:
        MFAC([embedding], layout="sparse")
    assert "'sparse'" in str(info.value)
    with pytest.raises(ValueError, match="global"):
        MFAC([{"params": [embedding], "layout": "dense"}, {"params": [torch.zeros(2)]}])


def test_frozen_or_absent_embedding_gets_no_row_block():
    """Gradual unfreezing: built while the embedding is frozen, then rebuilt once it is not."""
    model = tiny_bert()
    embedding = model.get_input_embeddings().weight
    bound = {embedding: 64}
    embedding.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    d = sum(p.numel() for p in trainable)
    for params in (list(model.parameters()), trainable):  # frozen, or not passed at all
        opt = MFAC(trainer_groups(params), num_grads=4, row_sparse=bound)
        assert opt.num_params == d
        assert opt.buffer_nbytes == mfac_buffer_bytes(d, 4)

    embedding.requires_grad_(True)
    opt = MFAC(trainer_groups(list(model.parameters())), num_grads=4, row_sparse=bound)
    d_all = sum(p.numel() for p in model.parameters())
    expected = mfac_buffer_bytes(d_all, 4, row_sparse=[(embedding.shape, 64)])
    assert opt.num_params == d_all
    assert opt.buffer_nbytes == expected < mfac_buffer_bytes(d_all, 4) / 10


def test_buffer_bytes_follow_the_layout():
    d, m, vocab, hidden, rows = 1_000_000, 16, 30_522, 16, 512
    dense_rest = d - vocab * hidden
    assert mfac_buffer_bytes(d, m, row_sparse=[((vocab, hidden), rows)]) == m * (
        dense_rest * 4 + rows * (hidden * 4 + 8)
    )
    assert mfac_buffer_bytes(d, m, "bfloat16", row_sparse=[((vocab, hidden), rows)]) == m * (
        dense_rest * 2 + rows * (hidden * 2 + 8)
    )
    with pytest.raises(ValueError, match="2-D"):
        mfac_buffer_bytes(d, m, row_sparse=[((vocab * hidden,), rows)])
    with pytest.raises(ValueError, match="max_rows"):
        mfac_buffer_bytes(d, m, row_sparse=[((vocab, hidden), 0)])
    flat_param = torch.zeros(10, requires_grad=True)
    with pytest.raises(ValueError, match="2-D"):
        MFAC([flat_param], row_sparse={flat_param: 2})


def test_memory_check_uses_the_row_sparse_bytes(monkeypatch):
    embedding = torch.zeros(1000, 8, requires_grad=True)
    rest = torch.zeros(100, requires_grad=True)
    per_grad = 100 * 4 + 10 * (8 * 4 + 8)  # 800 bytes, against 32,400 dense
    available = 37 * per_grad + 5  # room for 37 gradients row-sparse, 0 dense
    monkeypatch.setattr(
        mfac_module.psutil, "virtual_memory", lambda: SimpleNamespace(available=available)
    )
    bound = {embedding: 10}
    assert MFAC([embedding, rest], num_grads=37, row_sparse=bound).buffer_nbytes == 37 * per_grad
    with pytest.raises(InsufficientMemoryError, match="num_grads <= 37") as info:
        MFAC([embedding, rest], num_grads=38, row_sparse=bound)
    assert info.value.needed == 38 * per_grad
    assert "1,000 x 8 parameter row-sparse (at most 10 rows per gradient)" in str(info.value)
    with pytest.raises(InsufficientMemoryError, match="not even one gradient") as info:
        MFAC([embedding, rest], num_grads=1, layout="dense", row_sparse=bound)
    assert info.value.needed == 8100 * 4
    assert "row-sparse" not in str(info.value)


def test_registry_passes_row_sparse_to_mfac_only():
    embedding = torch.zeros(100, 4, requires_grad=True)
    bound = {embedding: 2}
    entry = get_optimizer("mfac")
    assert entry.takes_row_sparse and entry.hparams["layout"] == "auto"
    opt = entry.create([{"params": [embedding]}], lr=1e-3, num_grads=3, row_sparse=bound)
    assert opt.buffer_nbytes == 3 * 2 * (4 * 4 + 8)
    forced = entry.create(
        [{"params": [embedding]}], lr=1e-3, num_grads=3, layout="dense", row_sparse=bound
    )
    assert forced.buffer_nbytes == 3 * 400 * 4
    adamw = get_optimizer("adamw")
    assert not adamw.takes_row_sparse
    assert isinstance(
        adamw.create([{"params": [embedding]}], lr=1e-3, row_sparse=bound), torch.optim.AdamW
    )


def test_row_sparse_embeddings_of_a_model():
    model = tiny_bert()
    embedding = model.get_input_embeddings().weight
    assert row_sparse_embeddings(model, 500) == {embedding: 500}
    assert row_sparse_embeddings(model, 10**6) == {embedding: 30_522}  # capped at the vocabulary
    tied = tiny_bert(cls=BertForMaskedLM)  # decoder tied to the embedding: a dense gradient
    assert tied.get_output_embeddings().weight is tied.get_input_embeddings().weight
    assert row_sparse_embeddings(tied, 500) == {}


def test_max_tokens_per_batch_bounds_every_batch(quora):
    split, bound = quora.split, quora.max_rows
    # Every batch the trainer can draw (any order, padded) holds at most `bound` distinct ids.
    for batch in quora.batches:
        assert len(torch.unique(batch["input_ids"])) <= bound
    # The bound is the 8 rows with the most distinct ids, plus padding: reachable, and far
    # below batch size x max length.
    distinct = torch.tensor(
        [len(torch.unique(split.ids[a:b])) for a, b in pairwise(split.offsets.tolist())]
    )
    top = distinct.topk(8).indices
    assert bound == int(distinct[top].sum()) + 1
    assert bound < 8 * 64


def test_bert_tiny_estimate_in_study_file_and_docs():
    """The study file and docs/optim.md state the bytes the optimizer's own function gives."""
    model = BertForSequenceClassification(
        BertConfig(
            hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512
        )
    )
    d = sum(p.numel() for p in model.parameters())
    embedding = model.get_input_embeddings().weight
    dense = mfac_buffer_bytes(d, 1024)
    rows = mfac_buffer_bytes(d, 1024, row_sparse=[(embedding.shape, 32 * 128)])
    study = (REPO / "studies" / "qqp-bert-tiny-mfac.toml").read_text()
    readme = (REPO / "docs" / "optim.md").read_text()
    assert re.search(r"^num_grads = 1024$", study, re.MULTILINE)
    for text in (study, readme):
        assert f"{d:,}" in text
        assert f"{dense:,} bytes" in text
        assert f"{rows:,} bytes" in text
