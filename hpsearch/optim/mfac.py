"""M-FAC: the matrix-free inverse empirical Fisher of Frantar, Kurtic & Alistarh (NeurIPS 2021).

Dense M-FAC, written from the paper's definition (arXiv 2107.03356) with plain torch
operations, so it runs on CPU and CUDA alike: no custom kernels, no GPU-only LU.

The m most recent gradients live in a buffer behind a small interface (:class:`_GradBuffer`:
``write``, ``dot``, ``t_matvec``, ``nbytes``, ``reset``), so the storage layout is separate
from the Woodbury algebra in :meth:`MFAC.step`. Two layouts: :class:`_DenseBuffer` (one m x d
matrix) and :class:`_RowBuffer` (per gradient, only the rows a word embedding's gradient
touched), combined by :class:`_ConcatBuffer` when some parameters are stored row-sparse.
``write`` stores ``g + wd·θ`` where weight decay is coupled (``weight_decay_mode``), the
gradient itself where it is decoupled (the default).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import partial
from itertools import accumulate
from typing import Any

import psutil
import torch

from hpsearch.errors import InsufficientMemoryError
from hpsearch.optim.mfac_names import BUFFER_DTYPES, LAYOUTS, WEIGHT_DECAY_MODES
from hpsearch.optim.threads import ALIGN, ThreadSplit, split_range

__all__ = ["MFAC", "mfac_buffer_bytes"]

# Storage types of the gradient buffer G, by the names a study file gives (mfac_names).
_BUFFER_DTYPES: dict[str, torch.dtype] = {name: getattr(torch, name) for name in BUFFER_DTYPES}

# Bytes of one row index of the row-sparse layout (int64, torch's native index type).
_INDEX_BYTES = 8

_SPARSE_GRAD_ERROR = "M-FAC does not support sparse gradients (nn.Embedding(sparse=True))."

# Work that needs temporaries goes in blocks of about this many elements (16 MB in float32):
# a bfloat16 buffer is converted to float32 in column blocks (m x block), so its inner
# products are accumulated and returned in float32; the row-sparse products run through one
# reused scratch of this size, a block of slots at a time. Temporaries over all m slots would
# be GBs at large m, the very case the row-sparse layout is for, and fresh pages every step
# (page faults cost ~100 ms per 78 MB on the 2-core benchmark machine, more than the math).
_BLOCK_ELEMENTS = 1 << 22


def _buffer_dtype(dtype: str | torch.dtype) -> torch.dtype:
    if isinstance(dtype, torch.dtype) and dtype in _BUFFER_DTYPES.values():
        return dtype
    if isinstance(dtype, str) and dtype in _BUFFER_DTYPES:
        return _BUFFER_DTYPES[dtype]
    raise ValueError(
        f"`buffer_dtype` must be one of {sorted(_BUFFER_DTYPES)}, but got buffer_dtype={dtype!r}."
    )


def _check_choice(key: str, value: str, allowed: Sequence[str]) -> None:
    """``value`` of option ``key`` must be one of the names ``allowed``."""
    if value not in allowed:
        raise ValueError(f"`{key}` must be one of {list(allowed)}, but got {key}={value!r}.")


def _rows_kept(shape: Sequence[int], max_rows: int, itemsize: int) -> int | None:
    """Rows kept per gradient if a ``shape`` parameter is stored row-sparse; None: store it dense.

    A gradient touches at most ``min(max_rows, rows)`` rows, each stored as its values plus
    one int64 index. Row-sparse is chosen only when that is strictly smaller than the dense
    block, so it never costs memory.
    """
    if len(shape) != 2:
        raise ValueError(
            f"a row-sparse parameter must be 2-D (rows, row size), but got shape={tuple(shape)}."
        )
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
        raise ValueError(f"`max_rows` must be an integer >= 1, but got {max_rows=}.")
    rows, cols = shape
    kept = min(max_rows, rows)
    return kept if kept * (cols * itemsize + _INDEX_BYTES) < rows * cols * itemsize else None


def mfac_buffer_bytes(
    num_params: int,
    num_grads: int,
    dtype: str | torch.dtype = "float32",
    *,
    row_sparse: Iterable[tuple[Sequence[int], int]] = (),
) -> int:
    """Bytes of M-FAC's gradient buffer, in the layout :class:`MFAC` picks; allocates nothing.

    Dense, the buffer holds ``num_grads * num_params`` numbers. ``row_sparse`` names
    parameters among those ``num_params`` whose gradients touch few rows, as
    ``(shape, max_rows)``: a word embedding of shape ``(vocab, hidden)`` and the most rows
    one step's gradient can touch (batch size x max length bounds it). Each is counted as
    ``max_rows`` rows of values plus an int64 index per gradient instead of its whole block,
    when that is smaller, exactly as :class:`MFAC` with ``layout="auto"`` allocates it.

    This is what :class:`MFAC` checks against the device's free memory before allocating. It
    leaves out the optimizer's d-sized working vector and its m x m matrices, which are small
    next to the buffer (one gradient's worth and m² float64 numbers).

    Args:
        num_params: d, the number of trainable numbers (``sum(p.numel() for p in params)``).
        num_grads: m, the number of gradients kept.
        dtype: The buffer's storage type: ``"float32"`` (4 bytes, the default), ``"bfloat16"``
            (2 bytes) or ``"float64"`` (8 bytes).
        row_sparse: ``(shape, max_rows)`` of each parameter stored row-sparse (default: none).

    Example:
        >>> round(mfac_buffer_bytes(15_616_130, 256) / 2**30, 2)  # minilm-2-layer, m = 256
        14.89
        >>> # the same with its word embedding (30,522 x 384) kept as at most 4,096 rows
        >>> rows = [((30_522, 384), 4_096)]
        >>> round(mfac_buffer_bytes(15_616_130, 256, row_sparse=rows) / 2**30, 2)
        5.22
    """
    if num_params < 0 or num_grads < 0:
        raise ValueError(
            "`num_params >= 0` and `num_grads >= 0` must hold, "
            f"but got ({num_params=}, {num_grads=})."
        )
    itemsize = _buffer_dtype(dtype).itemsize
    per_grad = num_params * itemsize
    for shape, max_rows in row_sparse:
        kept = _rows_kept(shape, max_rows, itemsize)
        if kept is not None:
            rows, cols = shape
            per_grad += kept * (cols * itemsize + _INDEX_BYTES) - rows * cols * itemsize
    return num_grads * per_grad


def _available_bytes(device: torch.device) -> int:
    """Free memory of ``device``: CUDA's free bytes, otherwise the system's available RAM."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    return int(psutil.virtual_memory().available)


def _check_memory(
    num_params: int,
    num_grads: int,
    dtype: torch.dtype,
    device: torch.device,
    row_sparse: Sequence[tuple[Sequence[int], int]] = (),
) -> None:
    """Raise :class:`InsufficientMemoryError` if the buffer would not fit; allocates nothing."""
    needed = mfac_buffer_bytes(num_params, num_grads, dtype, row_sparse=row_sparse)
    available = _available_bytes(device)
    if needed <= available:
        return
    largest = available // mfac_buffer_bytes(num_params, 1, dtype, row_sparse=row_sparse)
    if largest >= 1:
        hint = f"use num_grads <= {largest}"
        if dtype == torch.float32:
            hint += " (or buffer_dtype='bfloat16', which halves the bytes)"
    else:
        hint = f"not even one gradient of {num_params:,} numbers fits; free memory first"
    layout = "".join(
        f", the {rows:,} x {cols:,} parameter row-sparse (at most {max_rows:,} rows per gradient)"
        for (rows, cols), max_rows in row_sparse
    )
    raise InsufficientMemoryError(
        f"the M-FAC gradient buffer (num_grads={num_grads} x {num_params:,} parameters{layout}, "
        f"{str(dtype).removeprefix('torch.')}, on {device})",
        needed,
        available,
        hint,
    )


class _GradBuffer(ABC):
    """The m x d matrix G of the last m gradients, one slot (row) per gradient.

    Everything the Woodbury algebra needs from G: store a (decayed) gradient in slot j, the inner
    products of slot j with every slot (``G·G[j]``), and ``Gᵀc``. Each of ``dot`` and
    ``t_matvec`` is one pass over the stored gradients. A storage layout implements these
    members (and ``nbytes``, ``reset``) and nothing else.
    """

    num_grads: int  # m
    num_params: int  # d

    @property
    @abstractmethod
    def nbytes(self) -> int:
        """Bytes held by the stored gradients."""

    @abstractmethod
    def write(
        self,
        j: int,
        grads: Sequence[torch.Tensor | None],
        params: Sequence[torch.Tensor],
        decays: Sequence[float],
    ) -> None:
        """Store ``grads[k] + decays[k]·params[k]`` for every trainable parameter k in slot j.

        A gradient that is None counts as zero. ``decays`` are the coupled weight decays
        (all zero where decay is decoupled: the gradients are stored as they are).
        """

    @abstractmethod
    def dot(self, j: int) -> torch.Tensor:
        """``G·G[j]``: the m inner products of slot j with every slot, on the device."""

    @abstractmethod
    def t_matvec(
        self,
        c: torch.Tensor,
        outs: Sequence[torch.Tensor],
        alphas: Sequence[float],
        betas: Sequence[float],
    ) -> None:
        """``outs[k] ← betas[k]·outs[k] + alphas[k]·(Gᵀc)ₖ`` in place, for every parameter k.

        ``c`` has m entries; ``(Gᵀc)ₖ`` is the part of the d-vector ``Gᵀc`` that belongs to
        parameter k (in ``write`` order) and ``outs[k]`` has that parameter's shape. Taking
        one output per parameter lets the caller fuse the parameter update into this pass
        over G, with no d-sized temporary. ``betas[k] == 0`` ignores ``outs[k]`` (NaN-safe).
        """

    @abstractmethod
    def reset(self) -> None:
        """Empty every slot (all zeros), as at construction."""


class _DenseBuffer(_GradBuffer):
    """G as one dense (m, d) tensor; the gradients of the parameters laid end to end per row.

    On CPU both passes are cut into one block per torch thread (:mod:`.threads`): ``dot`` by
    rows of G (each block is the inner products of some slots), ``t_matvec`` by columns
    (each block is a range of the d-vector ``Gᵀc``, which may cut a parameter in two). The
    blocks write disjoint parts of the output, so the cut changes no number.
    """

    def __init__(
        self,
        shapes: Sequence[torch.Size],
        num_grads: int,
        dtype: torch.dtype,
        compute_dtype: torch.dtype,
        device: torch.device,
    ) -> None:
        self.shapes = list(shapes)
        self.numels = [math.prod(s) for s in self.shapes]
        self.offsets = [0, *accumulate(self.numels)][:-1]  # parameter k's first column of G
        self.num_grads = num_grads
        self.num_params = sum(self.numels)
        self.dtype = dtype
        self.compute_dtype = compute_dtype
        self.device = device
        self._dot = torch.empty(num_grads, dtype=compute_dtype, device=device)
        self._block = max(1, _BLOCK_ELEMENTS // num_grads)
        self._split = ThreadSplit(device)
        self.G: torch.Tensor | None = None
        self.reset()

    @property
    def nbytes(self) -> int:
        return self.G.numel() * self.G.element_size()

    def reset(self) -> None:
        self.G = None  # drop the old buffer before allocating the new one
        # Slots start at zero (torch.zeros commits the memory at once, also on CPU).
        self.G = torch.zeros(self.num_grads, self.num_params, dtype=self.dtype, device=self.device)

    def write(
        self,
        j: int,
        grads: Sequence[torch.Tensor | None],
        params: Sequence[torch.Tensor],
        decays: Sequence[float],
    ) -> None:
        # Written straight into row j: no separate flat g, one d-sized write.
        row = self.G[j]
        for shape, offset, n, grad, param, decay in zip(
            self.shapes, self.offsets, self.numels, grads, params, decays, strict=True
        ):
            _decayed(grad, param, decay, out=row[offset : offset + n].view(shape))

    def dot(self, j: int) -> torch.Tensor:
        if self.dtype == self.compute_dtype:
            g = self.G[j]
            rows = split_range(self.num_grads, self._split.threads)
            self._split.run(
                [partial(torch.mv, self.G[a:b], g, out=self._dot[a:b]) for a, b in rows]
            )
            return self._dot
        # bfloat16: accumulate in float32, one column block at a time.
        self._dot.zero_()
        for start in range(0, self.num_params, self._block):
            block = self.G[:, start : start + self._block].to(self.compute_dtype)
            self._dot.addmv_(block, block[j])
        return self._dot

    def t_matvec(
        self,
        c: torch.Tensor,
        outs: Sequence[torch.Tensor],
        alphas: Sequence[float],
        betas: Sequence[float],
    ) -> None:
        # The common case (float32 buffer and outputs, contiguous): BLAS calls written in
        # place, over column blocks of G run at once; a parameter cut by a block boundary
        # gets one call per side.
        fast = [
            self.dtype == self.compute_dtype
            and out.dtype == self.compute_dtype
            and out.is_contiguous()
            for out in outs
        ]
        blocks = []
        for a, b in split_range(self.num_params, self._split.threads, ALIGN):
            pieces = [
                (k, max(a, offset) - offset, min(b, offset + n) - offset)
                for k, (offset, n) in enumerate(zip(self.offsets, self.numels, strict=True))
                if fast[k] and offset < b and a < offset + n
            ]
            blocks.append(partial(self._t_matvec_columns, c, pieces, outs, alphas, betas))
        self._split.run(blocks)
        for k, (out, offset, n, alpha, beta) in enumerate(
            zip(outs, self.offsets, self.numels, alphas, betas, strict=True)
        ):
            if fast[k]:
                continue
            cols = self.G[:, offset : offset + n]  # parameter k's columns of G
            if out.is_contiguous():
                # bfloat16 buffer or another output dtype: float32 column blocks.
                flat = out.view(-1)
                for start in range(0, n, self._block):
                    end = min(start + self._block, n)
                    part = torch.mv(cols[:, start:end].t().to(self.compute_dtype), c)
                    _axpby(flat[start:end], part, alpha, beta)
            else:  # a non-contiguous parameter: one parameter-sized temporary
                _axpby(out, torch.mv(cols.t().to(self.compute_dtype), c), alpha, beta)

    def _t_matvec_columns(
        self,
        c: torch.Tensor,
        pieces: Sequence[tuple[int, int, int]],
        outs: Sequence[torch.Tensor],
        alphas: Sequence[float],
        betas: Sequence[float],
    ) -> None:
        """``t_matvec`` on pieces ``(k, lo, hi)``: elements lo..hi of parameter k's output."""
        for k, lo, hi in pieces:
            flat = outs[k].view(-1)[lo:hi]
            cols = self.G[:, self.offsets[k] + lo : self.offsets[k] + hi]
            torch.addmv(flat, cols.t(), c, beta=betas[k], alpha=alphas[k], out=flat)


def _decayed(
    grad: torch.Tensor | None,
    param: torch.Tensor,
    decay: float,
    out: torch.Tensor | None = None,
) -> torch.Tensor | None:
    """``grad + decay·param``, the coupled weight decay's gradient (None counts as zero), in
    one pass, into ``out`` if given (rounded once to its dtype); ``decay == 0``: the
    gradient as it is (None stays None without ``out``)."""
    if grad is not None and grad.is_sparse:
        raise ValueError(_SPARSE_GRAD_ERROR)
    if decay == 0:
        if out is None:
            return grad
        return out.zero_() if grad is None else out.copy_(grad)
    if grad is None:
        return torch.mul(param, decay, out=out)
    return torch.add(grad, param, alpha=decay, out=out)


def _axpby(out: torch.Tensor, x: torch.Tensor, alpha: float, beta: float) -> None:
    """``out ← beta·out + alpha·x`` in place (x flat, consumed); beta = 0 ignores out."""
    x = x.view(out.shape).mul_(alpha)
    if beta == 0:
        out.copy_(x)
    else:
        out.mul_(beta).add_(x)


class _RowBuffer(_GradBuffer):
    """G's columns of one (rows, cols) parameter whose gradients touch few rows: a word embedding.

    A batch's gradient of the word embedding is zero outside the rows of the tokens in the
    batch (a few hundred of 30,522). Slot i keeps the indices of the rows its gradient
    touched and those rows' values, padded to ``max_rows`` with index 0 and zero values;
    untouched rows are exactly zero in the dense gradient, so a slot holds the gradient
    exactly. Padding is exact too: a zero row adds nothing to an inner product or a sum,
    whatever index it names.

    ``dot`` is a gather of the newest gradient's rows at every slot's indices and a sum per
    slot; ``t_matvec`` a scatter-add of c_i times every slot's rows. Both read only the first
    ``max(counts)`` columns (the most rows any slot holds, typically well below
    ``max_rows``); the counts live on the host, read back when a gradient is written (a sync
    on CUDA). Both work through one reused scratch, a block of slots at a time (see
    ``_BLOCK_ELEMENTS``): a few blocks, each a handful of vectorized operations.
    """

    def __init__(
        self,
        shape: Sequence[int],
        max_rows: int,
        num_grads: int,
        dtype: torch.dtype,
        compute_dtype: torch.dtype,
        device: torch.device,
    ) -> None:
        self.num_rows, self.row_size = shape
        self.max_rows = max_rows
        self.num_grads = num_grads
        self.num_params = self.num_rows * self.row_size
        self.dtype = dtype
        self.compute_dtype = compute_dtype
        self.device = device
        # pos[v]: where row v sits among the newest slot's rows (``dot``'s scratch, V ints).
        self._pos = torch.empty(self.num_rows, dtype=torch.int64, device=device)
        # The products' scratch: at least one slot's rows (about 16 MB in float32).
        self._scratch = torch.empty(
            max(_BLOCK_ELEMENTS, max_rows * self.row_size), dtype=compute_dtype, device=device
        )
        self.index: torch.Tensor | None = None
        self.values: torch.Tensor | None = None
        self.counts: list[int] = []  # rows held by each slot
        self.reset()

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.index, self.values))

    def reset(self) -> None:
        self.index = self.values = None  # drop the old buffer before allocating the new one
        m, r = self.num_grads, self.max_rows
        self.index = torch.zeros(m, r, dtype=torch.int64, device=self.device)
        self.values = torch.zeros(m, r, self.row_size, dtype=self.dtype, device=self.device)
        self.counts = [0] * m

    def write(
        self,
        j: int,
        grads: Sequence[torch.Tensor | None],
        params: Sequence[torch.Tensor],
        decays: Sequence[float],
    ) -> None:
        (grad,), (decay,) = grads, decays
        if decay != 0:  # MFAC stores such a parameter dense; its group changed since
            raise ValueError(
                "with weight_decay_mode='coupled' a parameter stored row-sparse must have "
                "weight_decay 0 (wd·θ touches every row, so the stored gradient would be "
                f"dense), but the {self.num_rows:,} x {self.row_size:,} parameter has "
                f"weight_decay={decay}, set after M-FAC was built; set it before (M-FAC then "
                "stores the parameter dense), or build M-FAC with layout='dense'."
            )
        if grad is None:
            rows = self.index.new_empty(0)  # no gradient: zero, no rows
        elif grad.is_sparse:
            raise ValueError(_SPARSE_GRAD_ERROR)
        else:
            # A row is touched if its max or min is nonzero (NaN too): two fast reductions,
            # about twice as fast as grad.any(dim=1) on CPU.
            touched = (grad.amax(dim=1) != 0) | (grad.amin(dim=1) != 0)
            rows = touched.nonzero().squeeze(1)
        n = rows.numel()  # data-dependent size: a host read (a sync on CUDA)
        if n > self.max_rows:
            raise ValueError(
                "a gradient of a row-sparse parameter must touch at most max_rows rows, but "
                f"the gradient of the {self.num_rows:,} x {self.row_size:,} parameter touched "
                f"{n:,} rows with max_rows={self.max_rows:,}; give a larger bound in "
                "`row_sparse`, or layout='dense' (e.g. for a weight tied to an output layer)."
            )
        old = self.counts[j]
        if n:
            self.index[j, :n] = rows
            self.values[j, :n] = grad.index_select(0, rows)  # converted to the buffer's dtype
        if old > n:  # the previous gradient's extra rows become padding again
            self.index[j, n:old] = 0
            self.values[j, n:old] = 0
        self.counts[j] = n

    def _slot_blocks(self, width: int) -> Iterator[tuple[slice, torch.Tensor]]:
        """Consecutive blocks of slots, each with a (slots, width, cols) view of the scratch."""
        per_block = max(1, self._scratch.numel() // (width * self.row_size))
        for start in range(0, self.num_grads, per_block):
            end = min(start + per_block, self.num_grads)
            view = self._scratch[: (end - start) * width * self.row_size]
            yield slice(start, end), view.view(end - start, width, self.row_size)

    def dot(self, j: int) -> torch.Tensor:
        width, n = max(self.counts), self.counts[j]
        out = torch.zeros(self.num_grads, dtype=self.compute_dtype, device=self.device)
        if n == 0:
            return out
        # pos[v] = the position of row v among slot j's n rows, or n (a zero row) if absent.
        self._pos.fill_(n)
        self._pos[self.index[j, :n]] = torch.arange(n, device=self.device)
        newest = torch.cat(
            [
                self.values[j, :n].to(self.compute_dtype),
                torch.zeros(1, self.row_size, dtype=self.compute_dtype, device=self.device),
            ]
        )
        positions = self._pos[self.index[:, :width]]  # (m, width)
        for slots, seen in self._slot_blocks(width):
            # The slots' rows as slot j has them (zero where it has not), times their own.
            torch.index_select(
                newest, 0, positions[slots].reshape(-1), out=seen.view(-1, seen.shape[2])
            )
            torch.sum(seen.mul_(self.values[slots, :width]), dim=(1, 2), out=out[slots])
        return out

    def t_matvec(
        self,
        c: torch.Tensor,
        outs: Sequence[torch.Tensor],
        alphas: Sequence[float],
        betas: Sequence[float],
    ) -> None:
        (out,), (alpha,), (beta,) = outs, alphas, betas
        if beta == 0:
            out.zero_()  # NaN-safe, as in _axpby
        elif beta != 1:
            out.mul_(beta)
        width = max(self.counts)
        if width == 0:
            return
        # alpha·Gᵀc: every slot's rows times its alpha·c_i, added up by row index (the
        # padding adds zeros to row 0).
        scaled_c = (alpha * c)[:, None, None]
        for slots, scaled in self._slot_blocks(width):
            torch.mul(self.values[slots, :width], scaled_c[slots], out=scaled)
            rows = self.index[slots, :width].reshape(-1)
            out.index_add_(0, rows, scaled.view(-1, self.row_size).to(out.dtype))


class _ConcatBuffer(_GradBuffer):
    """G split by parameters into parts, each storing its parameters' columns in its own layout.

    ``dot`` adds up the parts' inner products; ``t_matvec`` gives each part the outputs of its
    own parameters. Parts are written in order, so row-sparse parts go first: a gradient that
    touches too many rows is refused before the large dense part is written.
    """

    def __init__(self, parts: Sequence[tuple[_GradBuffer, Sequence[int]]]) -> None:
        self.parts = [(buffer, list(positions)) for buffer, positions in parts]
        self.num_grads = self.parts[0][0].num_grads
        self.num_params = sum(buffer.num_params for buffer, _ in self.parts)

    @property
    def nbytes(self) -> int:
        return sum(buffer.nbytes for buffer, _ in self.parts)

    def reset(self) -> None:
        for buffer, _ in self.parts:
            buffer.reset()

    def write(
        self,
        j: int,
        grads: Sequence[torch.Tensor | None],
        params: Sequence[torch.Tensor],
        decays: Sequence[float],
    ) -> None:
        for buffer, ks in self.parts:
            buffer.write(
                j, [grads[k] for k in ks], [params[k] for k in ks], [decays[k] for k in ks]
            )

    def dot(self, j: int) -> torch.Tensor:
        return sum(buffer.dot(j) for buffer, _ in self.parts)

    def t_matvec(
        self,
        c: torch.Tensor,
        outs: Sequence[torch.Tensor],
        alphas: Sequence[float],
        betas: Sequence[float],
    ) -> None:
        for buffer, ks in self.parts:
            buffer.t_matvec(
                c, [outs[k] for k in ks], [alphas[k] for k in ks], [betas[k] for k in ks]
            )


def _make_buffer(
    shapes: Sequence[torch.Size],
    rows_kept: Sequence[int | None],
    num_grads: int,
    dtype: torch.dtype,
    compute_dtype: torch.dtype,
    device: torch.device,
) -> _GradBuffer:
    """The buffer for parameters of ``shapes``; ``rows_kept[k]`` set: parameter k row-sparse."""
    dense = [k for k, rows in enumerate(rows_kept) if rows is None]
    if len(dense) == len(shapes):
        return _DenseBuffer(shapes, num_grads, dtype, compute_dtype, device)
    parts: list[tuple[_GradBuffer, list[int]]] = [
        (_RowBuffer(shapes[k], rows, num_grads, dtype, compute_dtype, device), [k])
        for k, rows in enumerate(rows_kept)
        if rows is not None
    ]
    if dense:
        dense_shapes = [shapes[k] for k in dense]
        parts.append((_DenseBuffer(dense_shapes, num_grads, dtype, compute_dtype, device), dense))
    return _ConcatBuffer(parts)


class MFAC(torch.optim.Optimizer):
    r"""M-FAC: preconditions with the inverse damped empirical Fisher of the last m gradients.

    The preconditioner is :math:`F = \lambda I + \frac1m \sum_{i=1}^m g_i g_i^\top`, built from
    the m most recent gradients, and is applied matrix-free through the Woodbury identity:

    .. code-block:: text

        input: lr (γ), num_grads (m), damp (λ), momentum (μ), weight_decay (wd),
               weight_decay_mode, θ₀
        G ← 0 (m × d ring buffer), GGᵀ ← 0 (m × m, float64), v ← 0
        for t = 0, 1, ...:
            g  ← flatten(∇θ_t)                 (trainable params, fixed order; no grad → 0)
            if coupled: g ← g + wd·θ_t         (before G: the decay is part of the gradient)
            j  ← t mod m                       (the newest gradient overwrites the oldest)
            G[j] ← g
            (GGᵀ)[j, :] ← (GGᵀ)[:, j] ← G·g    (pass 1 over G)
            K  ← GGᵀ + mλI;  L ← cholesky(K)   (float64)
            c  ← K⁻¹ e_j                       (two triangular solves)
            F⁻¹g = m·Gᵀc                       (pass 2 over G)
            v  ← μ·v + (1 − μ)·F⁻¹g
            if coupled: θ_{t+1} ← θ_t − γ·v
            else:       θ_{t+1} ← (1 − γ·wd)·θ_t − γ·v   (decoupled, the default)
        (per group: γ = group lr, wd = group weight_decay)

    Why ``m·Gᵀc``: with :math:`K = GG^\top + m\lambda I`, Woodbury gives
    :math:`F^{-1}x = (x - G^\top K^{-1} G x)/\lambda`; for :math:`x = g = G^\top e_j` this equals
    :math:`m\,G^\top K^{-1} e_j` exactly, with no cancellation even for tiny λ. The sum is
    divided by m always, also while fewer than m gradients have been seen (the empty slots
    are zero), as the reference implementation does. A step costs two reads of G plus
    O(m³) float64 work on the m × m matrix; nothing in it loops over the m slots in Python,
    reads a tensor back to the host, or branches on tensor data, so on CUDA a dense step never
    syncs (a row-sparse one syncs once, see below).
    With μ = 0 the parameter update is fused into pass 2 (one ``addmv`` per parameter:
    ``θ ← (1 − γ·wd)·θ − γ·m·Gᵀc``, wd = 0 when coupled), so no d-sized direction vector is
    ever formed.

    Weight decay, two modes (``weight_decay_mode``):

    - ``"decoupled"`` (the default), as AdamW (Loshchilov & Hutter):
      :math:`\theta \leftarrow (1 - \gamma\,wd)\,\theta - \gamma\,v` with
      :math:`v` built from :math:`F^{-1}g`. G holds the loss's gradients only, and the decay
      shrinks every coordinate by the same factor, untouched by the preconditioner.
    - ``"coupled"``, as the authors' reference (IST-DASLab/M-FAC ``optim.py``:
      ``p.grad + weight_decay * p``): the gradient of :math:`L(\theta) + \frac{wd}{2}\|\theta\|^2`,
      :math:`\tilde g = g + wd\,\theta`, is what enters G (so it shapes F too) and what is
      preconditioned: :math:`\theta \leftarrow \theta - \gamma\,v`, :math:`v` built from
      :math:`F^{-1}\tilde g`, :math:`F = \lambda I + \frac1m\sum_i \tilde g_i \tilde g_i^\top`.
      No decoupled shrink then. The reference takes one wd for every parameter; here it is
      each param group's (the trainer's: matrices only, ``train.weight_decay``).

    Decoupled is the default: studies ran with it before the option existed, it is the
    decay of the AdamW baseline (so an optimizer comparison changes the preconditioner
    only), and it keeps a word embedding's stored gradient row-sparse (see below).

    Departures from the reference (IST-DASLab/M-FAC ``optim.py``): weight decay is decoupled
    by default (above); ``GGᵀ`` is factored by Cholesky each step instead of the paper's
    O(m²) incremental recurrence, which needs custom kernels to be fast. Momentum is the
    reference's ``v ← μ·v + (1 − μ)·F⁻¹g``.

    Which parameters: only those with ``requires_grad=True`` when the optimizer is built are
    preconditioned (and updated); the buffer holds exactly those d numbers, in param-group
    order. Parameters frozen at construction are never touched, even if they are unfrozen
    later: build a new optimizer to train them. A preconditioned parameter whose ``.grad`` is
    None in some step counts as a zero gradient for that step (coupled: its g + wd·θ is wd·θ).
    ``num_grads``, ``damp``, ``momentum``, ``buffer_dtype``, ``layout`` and
    ``weight_decay_mode`` are global (one preconditioner for all parameters), so all groups
    must agree on them; ``lr`` and ``weight_decay`` may differ per group, and lr
    schedulers work as usual. ``add_param_group`` after construction is an error.

    Row-sparse storage (``row_sparse``, ``layout``): most of a small BERT's parameters are
    its word embedding, and a batch's gradient is zero outside the rows of the tokens it
    contains. ``row_sparse`` maps such 2-D parameters to the most rows one gradient can touch
    (the trainer passes the input word embedding with a bound from the data: at most batch
    size x max length, often far less). With ``layout="auto"`` (the default) each of them
    that is preconditioned is stored as, per gradient, its touched rows (indices and values,
    padded to that bound) whenever that takes less memory than the dense block; everything
    else stays dense. The update is the same as dense M-FAC's (the stored slots equal the
    dense gradients exactly; only the order of float additions differs), with a buffer and a
    step that shrink with the embedding's share of d. ``G·g`` over the stored rows is a
    gather of the newest gradient's rows at every slot's indices, ``Gᵀc`` a scatter-add of
    c_i times every slot's rows (see :class:`_RowBuffer`). Each step reads the number of
    touched rows back to the host (one sync on CUDA) and raises ``ValueError`` if it exceeds
    the bound (a weight tied to an output layer gets a dense gradient: use
    ``layout="dense"``).
    ``layout="dense"`` ignores ``row_sparse``. Parameters in ``row_sparse`` that are not
    preconditioned (frozen, or not in ``params``) are ignored. Coupled weight decay adds
    wd·θ to every row, so with ``weight_decay_mode="coupled"`` a parameter whose group has
    ``weight_decay > 0`` at construction is stored dense whatever ``row_sparse`` says (the
    memory of ``layout="dense"`` for it); one with weight_decay 0 stays row-sparse. Raising
    such a group's weight_decay later is an error at the next step.

    Memory: dense, the buffer takes ``num_grads · d · 4`` bytes in float32 (2 in bfloat16);
    :func:`mfac_buffer_bytes` gives it for either layout. Add the d-sized momentum vector
    when ``momentum > 0`` and, per row-sparse parameter, a scratch of about 16 MB (at least
    one gradient's ``max_rows`` rows) and a vocabulary-sized index vector.
    Before allocating, the buffer's size is compared with the device's free memory
    (``torch.cuda.mem_get_info`` on CUDA, ``psutil.virtual_memory().available`` otherwise);
    if it does not fit, :class:`~hpsearch.errors.InsufficientMemoryError` gives the bytes
    needed and available and the largest ``num_grads`` that would fit. A bfloat16 buffer is
    read in float32 column blocks (temporaries of about 16 MB): it halves the memory but not
    the time; on CPU the conversion is the bottleneck (a step took about 2.3x as long as with
    float32 on the 2-core benchmark machine, see ``scripts/bench_mfac.py``).

    Precision: ``GGᵀ`` and the Cholesky factor are float64; G and the d-sized vectors are in
    the buffer's dtype (float32 for a bfloat16 buffer). In float64 the step direction matches
    the explicit dense ``(λI + GᵀG/m)⁻¹g`` to a relative error below 1e-8 (damp down to 1e-6).
    In float32 (and with a bfloat16 buffer, against the rounded gradients) the tolerance is
    1e-5 relative when K is well conditioned, e.g. m <= d random gradients (about 3e-7 is
    typical); in general the error grows like cond(K)·2⁻²⁴, so with d < m and damp = 1e-6
    it reaches percent level. The unit tests check the 1e-8 and 1e-5 bounds. The two layouts
    differ by this rounding too: in float64 they agree to about 1e-14; in float32, on real
    gradients with damp = 1e-6, by about 1e-5, as much as dense float32 differs from float64
    (the float32 inner products over d numbers, amplified by the conditioning of K). If
    ``K`` is not numerically positive definite (float32 inner products of nearly parallel
    gradients with a tiny damp), that step's preconditioned update is skipped (c = 0: only
    weight decay and momentum act; the gradient still enters the buffer) and counted in
    :attr:`num_failed_steps`; this costs no host sync.

    Checkpoints: ``state_dict`` holds the param groups, the step count and, when
    ``momentum > 0``, the momentum vector, but **not** the gradient buffer (it would be
    ``num_grads`` times the model's size). After ``load_state_dict`` the buffer starts empty
    again, as after construction.

    Args:
        params: Parameters or param groups. Groups may set ``lr`` and ``weight_decay``.
        lr: Learning rate γ (default 1e-3), ``>= 0``.
        num_grads: m, the number of most recent gradients kept (default 1024), ``>= 1``.
        damp: λ, the damping added to the empirical Fisher (default 1e-6), ``> 0``.
        momentum: μ in ``[0, 1)`` (default 0, off).
        weight_decay: Weight decay wd (default 0), ``>= 0``; how it acts is
            ``weight_decay_mode``.
        buffer_dtype: Storage type of G: ``"float32"`` (default), ``"bfloat16"`` (half the
            memory, inner products still accumulated in float32) or ``"float64"`` (for tests).
        layout: ``"auto"`` (default: parameters in ``row_sparse`` stored row-sparse when
            that is smaller) or ``"dense"`` (every gradient stored whole).
        weight_decay_mode: ``"decoupled"`` (default: θ shrinks by 1 − γ·wd after the step,
            as AdamW) or ``"coupled"`` (g + wd·θ is stored and preconditioned, as the
            authors' reference).
        row_sparse: ``{parameter: max_rows}``: 2-D parameters whose gradients touch at most
            ``max_rows`` rows each (a word embedding). Not a hyperparameter: it describes the
            model, like ``params``, and is not saved in ``state_dict``.

    Example:
        >>> model = torch.nn.Linear(10, 2)
        >>> opt = MFAC(model.parameters(), lr=1e-2, num_grads=8, damp=1e-3)
        >>> model(torch.randn(4, 10)).square().mean().backward()
        >>> opt.step()
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        num_grads: int = 1024,
        damp: float = 1e-6,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        *,
        buffer_dtype: str | torch.dtype = "float32",
        layout: str = "auto",
        weight_decay_mode: str = "decoupled",
        row_sparse: Mapping[torch.Tensor, int] | None = None,
    ) -> None:
        if isinstance(num_grads, bool) or not isinstance(num_grads, int) or num_grads < 1:
            raise ValueError(f"`num_grads` must be an integer >= 1, but got {num_grads=}.")
        if not (damp > 0 and math.isfinite(damp)):
            raise ValueError(f"`damp > 0` (and finite) must hold, but got {damp=}.")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"`0 <= momentum < 1` must hold, but got {momentum=}.")
        dtype = _buffer_dtype(buffer_dtype)
        _check_choice("layout", layout, LAYOUTS)
        _check_choice("weight_decay_mode", weight_decay_mode, WEIGHT_DECAY_MODES)
        defaults = dict(
            lr=lr,
            weight_decay=weight_decay,
            num_grads=num_grads,
            damp=damp,
            momentum=momentum,
            buffer_dtype=buffer_dtype,
            layout=layout,
            weight_decay_mode=weight_decay_mode,
        )
        self._buffer: _GradBuffer | None = None
        super().__init__(params, defaults)  # validates lr and weight_decay per group

        for key in ("num_grads", "damp", "momentum", "buffer_dtype", "layout", "weight_decay_mode"):
            values = [group[key] for group in self.param_groups]
            if any(v != values[0] for v in values):
                raise ValueError(
                    f"`{key}` is global to M-FAC (one preconditioner), so all param groups "
                    f"must agree on it, but got {key}={values}."
                )

        # The preconditioned parameters: trainable at construction, in group order.
        self._params = [p for g in self.param_groups for p in g["params"] if p.requires_grad]
        if not self._params:
            raise ValueError("M-FAC needs at least one parameter with requires_grad=True.")
        devices = {p.device for p in self._params}
        if len(devices) > 1:
            raise ValueError(f"all M-FAC parameters must be on one device, but got {devices}.")
        if not all(p.is_floating_point() for p in self._params):
            raise ValueError("all M-FAC parameters must be floating point.")
        device = devices.pop()
        num_params = sum(p.numel() for p in self._params)
        self._num_grads = num_grads
        self._dtype = dtype
        compute_dtype = torch.float64 if dtype == torch.float64 else torch.float32

        # Rows kept per gradient for each parameter stored row-sparse; None: stored dense.
        bounds = {} if layout == "dense" else dict(row_sparse or {})
        if weight_decay_mode == "coupled":  # g + wd·θ touches every row: a dense gradient
            decayed = {p for g in self.param_groups if g["weight_decay"] != 0 for p in g["params"]}
            bounds = {p: rows for p, rows in bounds.items() if p not in decayed}
        rows_kept = [
            _rows_kept(p.shape, bounds[p], dtype.itemsize) if p in bounds else None
            for p in self._params
        ]
        shapes = [p.shape for p in self._params]
        sparse = [(shapes[k], rows) for k, rows in enumerate(rows_kept) if rows is not None]
        _check_memory(num_params, num_grads, dtype, device, sparse)  # before allocating
        self._buffer = _make_buffer(shapes, rows_kept, num_grads, dtype, compute_dtype, device)
        f64 = dict(dtype=torch.float64, device=device)
        self._gram = torch.zeros(num_grads, num_grads, **f64)  # GGᵀ, kept current
        self._eye = torch.eye(num_grads, **f64)  # I; its column j is e_j
        self._num_failed = torch.zeros((), dtype=torch.int64, device=device)
        self._steps = 0  # t; the host knows the ring slot j = t mod m without a sync
        self._compute_dtype = compute_dtype
        # For each preconditioned parameter, the index of its group (for its lr and wd).
        self._group_of = [
            k for k, g in enumerate(self.param_groups) for p in g["params"] if p.requires_grad
        ]
        # v, the momentum vector (flat, one view per parameter); only allocated once μ > 0.
        self._momentum: torch.Tensor | None = None
        self._momentum_views: list[torch.Tensor] = []
        if momentum > 0:
            self._allocate_momentum()

    def _allocate_momentum(self) -> None:
        self._momentum = torch.zeros(
            self.num_params, dtype=self._compute_dtype, device=self._params[0].device
        )
        self._momentum_views = []
        offset = 0
        for p in self._params:
            self._momentum_views.append(self._momentum[offset : offset + p.numel()].view(p.shape))
            offset += p.numel()

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if self._buffer is not None:
            raise ValueError(
                "M-FAC sizes its gradient buffer at construction; add_param_group is not "
                "supported afterwards. Build a new optimizer with all the parameters."
            )
        lr = param_group.get("lr", self.defaults["lr"])
        weight_decay = param_group.get("weight_decay", self.defaults["weight_decay"])
        if not lr >= 0.0:
            raise ValueError(f"`lr >= 0` must hold, but got {lr=}.")
        if not weight_decay >= 0.0:
            raise ValueError(f"`weight_decay >= 0` must hold, but got {weight_decay=}.")
        super().add_param_group(param_group)

    @property
    def num_params(self) -> int:
        """d: the number of preconditioned numbers (trainable at construction)."""
        return self._buffer.num_params

    @property
    def buffer_nbytes(self) -> int:
        """Bytes held by the gradient buffer G."""
        return self._buffer.nbytes

    @property
    def own_state_nbytes(self) -> int:
        """Bytes M-FAC keeps between steps outside ``self.state`` (which it leaves empty): the
        gradient buffer G, GGᵀ and the identity (float64, m × m each), the momentum vector.
        The scratch space a step works in is not counted."""
        kept = [self._gram, self._eye, self._num_failed]
        if self._momentum is not None:
            kept.append(self._momentum)
        return self.buffer_nbytes + sum(t.numel() * t.element_size() for t in kept)

    @property
    def dense_buffer(self) -> torch.Tensor | None:
        """G as one (m, d) tensor when every gradient is stored whole (nothing row-sparse),
        else None: for benchmarks that time a read of the buffer's own memory."""
        return self._buffer.G if isinstance(self._buffer, _DenseBuffer) else None

    @torch.no_grad()
    def fill_slot(self, j: int) -> None:
        """Store the parameters' gradients in slot ``j`` of G and their squared norm at
        ``(j, j)`` of GGᵀ; no step, no other inner product (no pass over G). With coupled
        weight decay, the gradients are ``g + wd·θ``, as a step stores them.

        For benchmarks of a steady-state step: filling every slot so commits the buffer's
        memory and gives K the diagonal of m gradients that are nearly orthogonal (random
        ones in d dimensions: their other products are about 1/sqrt(d) of it), without the m
        passes over G that m steps take. Training never calls it.
        """
        if not 0 <= j < self._num_grads:
            raise ValueError(f"`0 <= j < num_grads` must hold, but got {j=}.")
        grads = [p.grad for p in self._params]
        coupled, _ = self._weight_decays(self._groups())
        self._buffer.write(j, grads, self._params, coupled)
        stored = [_decayed(g, p, wd) for g, p, wd in zip(grads, self._params, coupled, strict=True)]
        norms = [g.double().square().sum() for g in stored if g is not None]
        self._gram[j, j] = torch.stack(norms).sum() if norms else 0.0

    def _groups(self) -> list[dict[str, Any]]:
        """Each preconditioned parameter's param group (its lr and weight decay), in order."""
        return [self.param_groups[k] for k in self._group_of]

    def _weight_decays(self, groups: Sequence[dict[str, Any]]) -> tuple[list[float], list[float]]:
        """Each parameter's weight decay as ``(coupled, decoupled)``: the wd added to its
        gradient before G, and the wd its update shrinks θ by. One of them is all zeros."""
        wds = [float(g["weight_decay"]) for g in groups]
        zeros = [0.0] * len(wds)
        if self.param_groups[0]["weight_decay_mode"] == "coupled":
            return wds, zeros
        return zeros, wds

    @property
    def num_failed_steps(self) -> int:
        """Steps skipped because K was not numerically positive definite (reads the device)."""
        return int(self._num_failed)

    @torch.no_grad()
    def step(self, closure=None):
        """One M-FAC step; ``closure`` (optional) re-evaluates the model and returns the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        m = self._num_grads
        damp = self.param_groups[0]["damp"]  # λ (global, see the class docstring)
        momentum = self.param_groups[0]["momentum"]  # μ
        j = self._steps % m  # ring slot of the newest gradient

        groups = self._groups()
        coupled, decoupled = self._weight_decays(groups)
        # G[j] ← g (the flattened gradient; None counts as zero), g + wd·θ when coupled.
        self._buffer.write(j, [p.grad for p in self._params], self._params, coupled)
        # Pass 1: G·g replaces row and column j of GGᵀ.
        gg = self._buffer.dot(j).to(torch.float64)
        self._gram[j] = gg
        self._gram[:, j] = gg
        # K = GGᵀ + mλI, factored in float64; c = K⁻¹e_j.
        K = torch.add(self._gram, self._eye, alpha=m * damp)
        L, info = torch.linalg.cholesky_ex(K)  # _ex: no host sync on failure
        c = torch.cholesky_solve(self._eye[:, j : j + 1], L).squeeze(1)
        ok = info == 0
        c = torch.where(ok, c, 0.0)  # K not positive definite: no preconditioned update
        self._num_failed += ~ok
        c = c.to(self._compute_dtype)
        if momentum == 0:
            # Pass 2 fused with the update, per parameter: θ ← (1 − γ·wd)·θ − γ·m·Gᵀc
            # (wd the decoupled decay: 0 when coupled, where it is in g already).
            self._buffer.t_matvec(
                c,
                self._params,
                alphas=[-g["lr"] * m for g in groups],
                betas=[1.0 - g["lr"] * wd for g, wd in zip(groups, decoupled, strict=True)],
            )
        else:
            if self._momentum is None:
                self._allocate_momentum()
            # Pass 2: v ← μ·v + (1 − μ)·F⁻¹g, with F⁻¹g = m·Gᵀc.
            n = len(self._params)
            self._buffer.t_matvec(
                c, self._momentum_views, alphas=[(1.0 - momentum) * m] * n, betas=[momentum] * n
            )
            # θ ← (1 − γ·wd)·θ − γ·v, per parameter (wd decoupled: 0 when coupled).
            for p, v, g, wd in zip(
                self._params, self._momentum_views, groups, decoupled, strict=True
            ):
                if wd != 0:
                    p.mul_(1.0 - g["lr"] * wd)
                p.add_(v, alpha=-g["lr"])

        self._steps += 1
        return loss

    def state_dict(self) -> dict[str, Any]:
        """The param groups, the step count and the momentum vector; not the gradient buffer."""
        state = super().state_dict()
        momentum = self.param_groups[0]["momentum"]
        state["mfac"] = {
            "step": self._steps,
            "num_failed_steps": self.num_failed_steps,
            "momentum_buffer": (
                self._momentum.clone() if momentum > 0 and self._momentum is not None else None
            ),
        }
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved; the gradient buffer restarts empty."""
        state_dict = dict(state_dict)
        extra = state_dict.pop("mfac", None)
        # A state dict from before weight_decay_mode decayed decoupled, the only mode then.
        state_dict["param_groups"] = [
            {"weight_decay_mode": "decoupled", **group} for group in state_dict["param_groups"]
        ]
        # The buffer was sized (and laid out: coupled decay stores decayed parameters
        # dense) for these; a state dict must not change them.
        fixed = {
            "num_grads": self._num_grads,
            "buffer_dtype": self._dtype,
            "weight_decay_mode": self.param_groups[0]["weight_decay_mode"],
        }
        for group in state_dict["param_groups"]:
            for key, ours in fixed.items():
                theirs = group.get(key)
                if key == "buffer_dtype" and theirs is not None:
                    theirs = _buffer_dtype(theirs)
                if theirs is not None and theirs != ours:
                    raise ValueError(
                        f"the state dict was saved with {key}={theirs}, but this M-FAC "
                        f"optimizer has {key}={ours}; they must match."
                    )
        super().load_state_dict(state_dict)
        self._buffer.reset()
        self._gram.zero_()
        if self._momentum is not None:
            self._momentum.zero_()
        self._steps = 0
        self._num_failed.zero_()
        if extra is not None:
            self._steps = int(extra["step"])
            self._num_failed.fill_(int(extra.get("num_failed_steps", 0)))
            if extra.get("momentum_buffer") is not None:
                if self._momentum is None:
                    self._allocate_momentum()
                self._momentum.copy_(extra["momentum_buffer"])
