"""M-FAC's products cut over threads: the cut changes no number, wherever it falls."""

from __future__ import annotations

import pytest
import torch

from hpsearch.optim.mfac import MFAC, _ConcatBuffer, _DenseBuffer
from hpsearch.optim.threads import ALIGN, ThreadSplit, split_range
from tests.optim.reference import FLOAT64_TOL, DenseReference, flat, rel_err


@pytest.mark.parametrize(
    ("n", "parts", "align", "expected"),
    [
        (10, 1, 1, [(0, 10)]),
        (10, 3, 1, [(0, 3), (3, 7), (7, 10)]),
        (56, 3, 16, [(0, 16), (16, 32), (32, 56)]),
        (20, 4, 16, [(0, 16), (16, 20)]),  # no more parts than aligned blocks
        (5, 8, 1, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]),
        (0, 2, 1, []),
    ],
)
def test_split_range(n, parts, align, expected):
    assert split_range(n, parts, align) == expected


def test_a_failing_block_waits_for_the_others_and_raises():
    done = []
    split = ThreadSplit(torch.device("cpu"))

    def fail() -> None:
        raise RuntimeError("first block")

    with pytest.raises(RuntimeError, match="first block"):
        split.run([fail, lambda: done.append(1), lambda: done.append(2)])
    assert sorted(done) == [1, 2]
    split.close()


@pytest.mark.parametrize("threads", [1, 3])
def test_blocks_that_cut_a_parameter_and_a_row_sparse_slot_match_the_reference(threads):
    """Dense parameters of 35, 9 and 12 numbers: with 3 threads the column blocks of Gᵀc
    end at 16 and 32, inside the first parameter; the row blocks of G·g cut the m = 7 slots
    2/2/3; the embedding's slots (rows of 6) are stored row-sparse beside them."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    m, damp, lr, wd = 7, 1e-3, 0.5, 0.1
    emb = torch.zeros(40, 6, dtype=torch.float64, requires_grad=True)
    a = torch.zeros(5, 7, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(9, dtype=torch.float64, requires_grad=True)
    c = torch.zeros(3, 4, dtype=torch.float64, requires_grad=True)
    params = [emb, a, b, c]
    opt = MFAC(
        params,
        lr=lr,
        num_grads=m,
        damp=damp,
        weight_decay=wd,
        buffer_dtype="float64",
        row_sparse={emb: 5},
    )
    buffer = opt._buffer
    assert isinstance(buffer, _ConcatBuffer)
    (dense,) = [part for part, _ in buffer.parts if isinstance(part, _DenseBuffer)]
    blocks = split_range(dense.num_params, threads, ALIGN)
    assert len(blocks) == threads
    if threads > 1:
        inner = [start for start, _ in blocks[1:]]
        assert any(0 < cut < 35 for cut in inner)  # a boundary inside parameter a
    ref = DenseReference(sum(p.numel() for p in params), m, damp)
    worst = 0.0
    for _ in range(2 * m + 1):
        rows = torch.randperm(40)[: torch.randint(1, 6, ()).item()]
        g_emb = torch.zeros(40, 6, dtype=torch.float64)
        g_emb[rows] = torch.randn(len(rows), 6, dtype=torch.float64)
        grads = [g_emb, *(torch.randn_like(p) for p in params[1:])]
        expected = ref.direction(flat(*grads))
        before = flat(*params)
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        opt.step()
        direction = ((1 - lr * wd) * before - flat(*params)) / lr
        worst = max(worst, rel_err(direction, expected))
    assert worst < FLOAT64_TOL
