"""PCGrad gradient surgery (Yu et al., 2020, "Gradient Surgery for Multi-Task Learning").

Algorithm 1 of the paper, with its symbols::

    for each task i:
        g_i^PC ← g_i
        for each other task j, in random order:
            if g_i^PC · g_j < 0:                         # the two gradients conflict
                g_i^PC ← g_i^PC − (g_i^PC · g_j) / ‖g_j‖² · g_j
    return Σ_i g_i^PC

Each g_j is the task's ORIGINAL gradient, not its projected one, as in the paper and its
reference code. Without a conflict nothing is projected and the result is the plain sum.

:func:`pcgrad` is the algorithm on flat vectors; :func:`write_pcgrad` applies it to a
model's parameters: the surgery runs on the parameters every task has a gradient for (the
shared encoder), and a parameter only some tasks reach (a task's own head) gets the plain
sum of their gradients, which cannot conflict with anything.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def pcgrad(grads: Sequence[torch.Tensor], generator: torch.Generator | None = None) -> torch.Tensor:
    """The PCGrad combination of per-task gradients ``grads`` (1-d, equal length).

    ``generator`` draws the random order of the other tasks for each task (with two tasks
    there is one order). A zero gradient never conflicts (its dot product is 0), so there is
    no division by zero. Returns a new tensor; ``grads`` are not modified.

    Example::

        >>> pcgrad([torch.tensor([1.0, 0.0]), torch.tensor([-1.0, 1.0])])
        tensor([0.5000, 1.5000])
    """
    if not grads:
        raise ValueError("pcgrad needs at least one gradient, got none")
    n = len(grads)
    total = torch.zeros_like(grads[0])
    for i, g_i in enumerate(grads):
        projected = g_i.clone()  # g_i^PC
        for j in torch.randperm(n, generator=generator).tolist():
            if j == i:
                continue
            g_j = grads[j]
            dot = torch.dot(projected, g_j)
            if dot < 0:
                projected -= dot / torch.dot(g_j, g_j) * g_j
        total += projected
    return total


def write_pcgrad(
    params: Sequence[torch.Tensor],
    task_grads: Sequence[Sequence[torch.Tensor | None]],
    generator: torch.Generator | None = None,
) -> None:
    """Set ``p.grad`` of every parameter of ``params`` from per-task gradients.

    ``task_grads[t][k]`` is task t's gradient of ``params[k]``, or None when task t does not
    reach it (``torch.autograd.grad(..., allow_unused=True)``). Parameters with a gradient
    from every task are combined by :func:`pcgrad` as one flat vector; the others get the
    sum of the gradients they have (None if they have none).
    """
    shared: list[int] = []
    for k, param in enumerate(params):
        present = [g[k] for g in task_grads if g[k] is not None]
        if len(present) == len(task_grads):
            shared.append(k)
        else:
            param.grad = sum(present[1:], present[0].clone()) if present else None
    if not shared:
        return
    flat = [torch.cat([g[k].reshape(-1) for k in shared]) for g in task_grads]
    combined = pcgrad(flat, generator)
    # Views of one tensor: no copy; the optimizer only changes them in place.
    for k, piece in zip(shared, combined.split([params[k].numel() for k in shared]), strict=True):
        params[k].grad = piece.view_as(params[k])
