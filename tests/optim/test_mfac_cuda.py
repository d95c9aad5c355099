"""M-FAC on CUDA: the same update as on CPU, no host sync in a dense step, one in a row-sparse
step, and the memory check against the GPU's free memory. Skipped without CUDA."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import torch

from hpsearch.errors import InsufficientMemoryError
from hpsearch.optim import mfac as mfac_module
from hpsearch.optim.mfac import MFAC

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")

# An embedding-like matrix, a matrix and a vector: d = 1,524.
SHAPES = [(100, 12), (20, 16), (4,)]
MAX_ROWS = 10  # rows of the embedding-like matrix a gradient touches, at most


def make_params(device: str, dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
    return [torch.zeros(s, dtype=dtype, device=device, requires_grad=True) for s in SHAPES]


def groups(params: list[torch.Tensor], embedding_decay: float = 0.01) -> list[dict]:
    """The trainer's groups: decay on matrices, none on vectors; the embedding-like matrix's
    decay apart (0 keeps it row-sparse under coupled decay)."""
    return [
        {"params": params[:1], "weight_decay": embedding_decay},
        {"params": [p for p in params[1:] if p.dim() >= 2], "weight_decay": 0.01},
        {"params": [p for p in params[1:] if p.dim() < 2], "weight_decay": 0.0},
    ]


def gradients(step: int, dtype: torch.dtype) -> list[torch.Tensor]:
    """Step ``step``'s gradients, made on the CPU (the same on every device): the first
    matrix touches a few rows only, as a word embedding's gradient does."""
    gen = torch.Generator().manual_seed(step)
    grads = [torch.randn(s, dtype=dtype, generator=gen) for s in SHAPES]
    rows = torch.randperm(SHAPES[0][0], generator=gen)[: 1 + step % MAX_ROWS]
    sparse = torch.zeros(SHAPES[0], dtype=dtype)
    sparse[rows] = grads[0][rows]
    grads[0] = sparse
    return grads


def set_grads(params: list[torch.Tensor], grads: list[torch.Tensor]) -> None:
    for p, g in zip(params, grads, strict=True):
        p.grad = g.to(p.device)


@contextmanager
def sync_debug(mode: str) -> Iterator[None]:
    """``torch.cuda.set_sync_debug_mode(mode)`` inside the block: "error" raises on any host
    sync, "warn" warns on each one."""
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode(mode)
    try:
        yield
    finally:
        torch.cuda.set_sync_debug_mode("default")


@pytest.mark.parametrize("mode", ["decoupled", "coupled"])
@pytest.mark.parametrize("row_sparse", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_same_update_as_on_cpu(row_sparse, momentum, mode):
    """float64 M-FAC on CUDA and on CPU, the buffer wrapping (m = 4, 11 steps): the
    parameters agree to 1e-10, with either weight decay (coupled: decayed into G, where the
    embedding-like matrix has none, so that it stays row-sparse)."""
    found = {}
    for device in ("cpu", "cuda"):
        params = make_params(device, torch.float64)
        with torch.no_grad():  # from nonzero weights, so that coupled decay acts
            for k, p in enumerate(params):
                p.copy_(gradients(100 + k, torch.float64)[k])
        hp = dict(lr=0.1, num_grads=4, damp=1e-3, momentum=momentum, buffer_dtype="float64")
        opt = MFAC(
            groups(params, 0.0 if mode == "coupled" else 0.01),
            **hp,
            weight_decay_mode=mode,
            row_sparse={params[0]: MAX_ROWS} if row_sparse else {},
        )
        assert isinstance(opt._buffer, mfac_module._ConcatBuffer) == row_sparse
        for step in range(11):
            set_grads(params, gradients(step, torch.float64))
            opt.step()
        assert opt.num_failed_steps == 0
        found[device] = torch.cat([p.detach().cpu().reshape(-1) for p in params])
    diff = (found["cuda"] - found["cpu"]).norm() / found["cpu"].norm()
    assert diff < 1e-10


@pytest.mark.parametrize("mode", ["decoupled", "coupled"])
@pytest.mark.parametrize("small_blocks", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("buffer_dtype", ["float32", "bfloat16"])
def test_dense_step_does_not_sync(buffer_dtype, momentum, small_blocks, mode, monkeypatch):
    """Dense M-FAC steps under ``set_sync_debug_mode("error")``: none reads the device back
    (the Cholesky's failure flag stays on the device; the ring slot is known on the host;
    coupled decay is one more elementwise kernel per parameter). ``small_blocks``: a
    bfloat16 buffer is read in many float32 column blocks."""
    if small_blocks:
        monkeypatch.setattr(mfac_module, "_BLOCK_ELEMENTS", 64)
    params = make_params("cuda")
    m = 4
    hp = dict(lr=0.01, num_grads=m, damp=1e-3, momentum=momentum, buffer_dtype=buffer_dtype)
    opt = MFAC(groups(params), **hp, layout="dense", weight_decay_mode=mode)
    grads = [[g.cuda() for g in gradients(step, torch.float32)] for step in range(3 * m)]
    set_grads(params, grads[0])
    opt.step()  # the first step sets up the CUDA libraries (handles, workspaces)
    with sync_debug("error"):
        for step_grads in grads[1:]:  # the ring buffer wraps twice
            set_grads(params, step_grads)
            opt.step()
    assert opt.num_failed_steps == 0
    assert all(torch.isfinite(p).all() for p in params)


def test_row_sparse_step_syncs_once():
    """A row-sparse step reads the number of touched rows back to the host: one sync, the
    only one of the step (as the optimizer's docstring says)."""
    params = make_params("cuda")
    opt = MFAC(groups(params), lr=0.01, num_grads=4, damp=1e-3, row_sparse={params[0]: MAX_ROWS})
    assert isinstance(opt._buffer, mfac_module._ConcatBuffer)  # the matrix is row-sparse
    grads = [[g.cuda() for g in gradients(step, torch.float32)] for step in range(10)]
    set_grads(params, grads[0])
    opt.step()  # set-up, as above
    counts = []
    for step_grads in grads[1:]:
        set_grads(params, step_grads)
        with warnings.catch_warnings(record=True) as seen, sync_debug("warn"):
            warnings.simplefilter("always")
            opt.step()
        counts.append(sum("synchronizing" in str(w.message) for w in seen))
    assert counts == [1] * len(counts)


def test_memory_check_uses_the_gpu_free_memory():
    """A buffer larger than the GPU's free memory is refused before anything is allocated."""
    params = make_params("cuda")
    d = sum(p.numel() for p in params)
    free, _total = torch.cuda.mem_get_info()
    allocated = torch.cuda.memory_allocated()
    too_many = free // (d * 4) + 1
    with pytest.raises(InsufficientMemoryError) as info:
        MFAC(groups(params), num_grads=too_many, layout="dense")
    assert info.value.needed == too_many * d * 4 > info.value.available
    assert "on cuda" in str(info.value)
    assert torch.cuda.memory_allocated() == allocated
