"""How many bytes an optimizer keeps between steps, for the cost columns of a comparison."""

from __future__ import annotations

import torch

from hpsearch.optim.mfac import MFAC


def state_nbytes(optimizer: torch.optim.Optimizer) -> int:
    """Bytes of the tensors ``optimizer`` keeps between steps.

    Its ``state`` tensors (AdamW's two moments and step count, SGD's momentum), plus what
    M-FAC keeps outside ``state`` (:attr:`MFAC.own_state_nbytes`: the gradient buffer, GGᵀ
    and the momentum vector). Temporaries of a step are not counted.

    >>> p = torch.nn.Parameter(torch.zeros(10))
    >>> opt = torch.optim.AdamW([p])
    >>> p.grad = torch.ones(10); opt.step()
    >>> state_nbytes(opt) >= 2 * 10 * 4  # exp_avg and exp_avg_sq in float32
    True
    """
    held = sum(
        t.numel() * t.element_size()
        for state in optimizer.state.values()
        for t in state.values()
        if isinstance(t, torch.Tensor)
    )
    if isinstance(optimizer, MFAC):
        held += optimizer.own_state_nbytes
    return held
