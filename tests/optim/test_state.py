"""What an optimizer keeps between steps, in bytes: the cost column of a comparison."""

from __future__ import annotations

import torch

from hpsearch.optim import get_optimizer
from hpsearch.optim.mfac import MFAC
from hpsearch.optim.state import state_nbytes


def step(optimizer: torch.optim.Optimizer, params: list[torch.nn.Parameter]) -> None:
    for p in params:
        p.grad = torch.ones_like(p)
    optimizer.step()


def test_adamw_keeps_two_moments_per_number():
    params = [torch.nn.Parameter(torch.zeros(10, 3)), torch.nn.Parameter(torch.zeros(5))]
    optimizer = get_optimizer("adamw").create([{"params": params}], lr=1e-3)
    assert state_nbytes(optimizer) == 0  # nothing before the first step
    step(optimizer, params)
    steps = sum(s["step"].numel() * s["step"].element_size() for s in optimizer.state.values())
    assert state_nbytes(optimizer) == 2 * 35 * 4 + steps


def test_mfac_counts_its_buffer_gram_and_momentum():
    params = [torch.nn.Parameter(torch.zeros(10, 3)), torch.nn.Parameter(torch.zeros(5))]
    optimizer = MFAC(params, lr=1e-3, num_grads=4, momentum=0.9)
    step(optimizer, params)
    buffer = 4 * 35 * 4  # m gradients of d = 35 float32 numbers
    gram_and_eye = 2 * 4 * 4 * 8  # two m × m float64 matrices
    momentum = 35 * 4
    failed = 8  # the int64 count of skipped steps
    assert optimizer.buffer_nbytes == buffer
    assert state_nbytes(optimizer) == buffer + gram_and_eye + momentum + failed
