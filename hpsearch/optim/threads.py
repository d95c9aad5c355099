"""Independent pieces of one product on several CPU threads.

Torch's CPU matrix-vector products (``mv``, ``addmv``, also on a transposed matrix) run on one
thread whatever ``torch.set_num_threads`` says, and one thread cannot read memory at the
machine's bandwidth: on the 2-core benchmark machine a 1-thread ``mv`` over M-FAC's
gradient buffer read 30 GB/s where a 2-thread ``sum`` read 44-48 GB/s. Cutting the product
into disjoint row or column blocks and running the blocks at once (torch releases the GIL
inside its kernels) gets the bandwidth back. Each block writes its own part of the output,
so the result is the same whichever thread runs first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import pairwise

import torch

__all__ = ["ThreadSplit", "split_range"]

# Column blocks start on a multiple of this many elements (64 bytes in float32): two
# threads never write the same cache line of an output.
ALIGN = 16


def split_range(n: int, parts: int, align: int = 1) -> list[tuple[int, int]]:
    """``[0, n)`` as at most ``parts`` consecutive, non-empty ranges of near-equal length
    whose inner boundaries are multiples of ``align``."""
    if n <= 0:
        return []
    parts = max(1, min(parts, -(-n // align)))  # no more parts than aligned blocks
    bounds = [0]
    for i in range(1, parts):
        cut = round(n * i / parts / align) * align
        if bounds[-1] < cut < n:
            bounds.append(cut)
    bounds.append(n)
    return list(pairwise(bounds))


def _with_grad_mode(enabled: bool, block: Callable[[], None]) -> None:
    with torch.set_grad_enabled(enabled):
        block()


class ThreadSplit:
    """Runs a product's blocks at once: the caller's thread takes the first block, a small
    pool owned by this object the others. ``threads`` is how many blocks to cut: torch's
    intra-op thread count on CPU, 1 elsewhere (a GPU kernel is parallel already)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._pool: ThreadPoolExecutor | None = None
        self._workers = 0

    @property
    def threads(self) -> int:
        return torch.get_num_threads() if self.device.type == "cpu" else 1

    def run(self, blocks: Sequence[Callable[[], None]]) -> None:
        """Run every block; return when all have finished; re-raise the first error."""
        if len(blocks) <= 1:
            for block in blocks:
                block()
            return
        if self._pool is None or self._workers < len(blocks) - 1:
            self.close()
            self._workers = len(blocks) - 1
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="hpsearch-split")
        # Grad mode is per thread: the pool's threads run in the caller's (an optimizer step
        # writes into parameters under no_grad).
        grad = torch.is_grad_enabled()
        futures: list[Future[None]] = [
            self._pool.submit(_with_grad_mode, grad, block) for block in blocks[1:]
        ]
        error: BaseException | None = None
        try:
            blocks[0]()
        except BaseException as e:  # still wait: the others write into the same output
            error = e
        for future in futures:
            try:
                future.result()
            except BaseException as e:
                error = error or e
        if error is not None:
            raise error

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
            self._workers = 0

    def __del__(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False)

    def __getstate__(self) -> dict:  # a copy (deepcopy, pickle) makes its own pool
        return {"device": self.device, "_pool": None, "_workers": 0}
