"""The word embedding's gradient written as the rows a step touched, into a kept buffer.

Autograd's gradient of an embedding lookup is a dense vocabulary × width tensor: at every
backward torch zero-fills all of it (47 MB for minilm's 30,522 × 384) before adding the
batch's rows, and only those rows (about a thousand for 32 Quora pairs) are non-zero. Here
the lookup runs with ``sparse=True``, so autograd hands back the rows and their values, and
:meth:`RowSparseEmbedding.densify_grad` writes them into a dense buffer the module keeps:
the rows of the previous step are zeroed, the new ones copied in, and the buffer becomes
the weight's ``.grad``, the dense gradient that clipping and every optimizer expect. The
gradient is the same but for float32 rounding (duplicate tokens are summed in another
order than torch's dense backward). On 2 CPU cores the lookup's backward, fill and norm
took 4.8 ms a step, and 1.2 ms so; the clipping takes the norm from the rows too.

The buffer is all zeros outside the last step's rows because nothing between two steps
writes elsewhere: clipping and loss scaling multiply the gradient in place (zero stays
zero), the optimizers read it, and ``zero_grad`` only drops the reference. On CPU only: on
CUDA a dense fill costs microseconds, and ``coalesce`` would wait for the device. Not with
PCGrad, which takes each task's gradient from ``torch.autograd.grad`` and combines them as
dense tensors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class RowSparseEmbedding(nn.Embedding):
    """``nn.Embedding`` whose weight gradient arrives row-sparse and is kept dense by
    :meth:`densify_grad` (a class swapped in place by :func:`row_sparse_grads`)."""

    _grad_buffer: torch.Tensor | None = None
    _grad_rows: torch.Tensor | None = None

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.embedding(
            input,
            self.weight,
            self.padding_idx,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            sparse=True,
        )

    def densify_grad(self) -> torch.Tensor | None:
        """Turn the weight's row-sparse gradient (after the step's backward passes) into the
        kept dense buffer, and return its norm, read from the rows alone; None when the
        weight got no gradient (frozen)."""
        grad = self.weight.grad
        if grad is None or not grad.is_sparse:
            return None
        grad = grad.coalesce()  # duplicate tokens, and several backward passes, summed
        rows = grad.indices()[0]
        buffer = self._grad_buffer
        if buffer is None:
            buffer = torch.zeros_like(self.weight)
        elif self._grad_rows is not None:
            buffer.index_fill_(0, self._grad_rows, 0.0)  # the only rows not zero
        buffer.index_copy_(0, rows, grad.values().to(buffer.dtype))
        self._grad_buffer, self._grad_rows = buffer, rows
        self.weight.grad = buffer
        return torch.linalg.vector_norm(grad.values())


def row_sparse_grads(embedding: nn.Module) -> RowSparseEmbedding | None:
    """Make ``embedding`` (a model's input word embedding) a :class:`RowSparseEmbedding` in
    place and return it (one already, as in a copy of a model trained so, is returned as it
    is); None, and nothing changed, unless it is a plain ``nn.Embedding`` on the CPU."""
    if isinstance(embedding, RowSparseEmbedding):
        return embedding
    if type(embedding) is not nn.Embedding or embedding.weight.device.type != "cpu":
        return None
    embedding.__class__ = RowSparseEmbedding
    assert isinstance(embedding, RowSparseEmbedding)
    return embedding
