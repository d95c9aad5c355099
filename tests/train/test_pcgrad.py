"""PCGrad on hand-built gradients, against Algorithm 1 of Yu et al. (2020)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from hpsearch.train.pcgrad import pcgrad, write_pcgrad


def t(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def reference(grads: list[np.ndarray], orders: list[list[int]]) -> np.ndarray:
    """Algorithm 1, written from the paper: task i projects its own copy off the ORIGINAL
    gradients of the other tasks, in ``orders[i]``, where they conflict; then the sum."""
    out = np.zeros_like(grads[0])
    for i, order in enumerate(orders):
        g = grads[i].copy()
        for j in order:
            if g @ grads[j] < 0:
                g = g - (g @ grads[j]) / (grads[j] @ grads[j]) * grads[j]
        out += g
    return out


def test_a_conflicting_pair_is_projected_off_each_other():
    # g1·g2 = -1 < 0. g1' = g1 - (-1/2)·g2 = (0.5, 0.5); g2' = g2 - (-1/1)·g1 = (0, 1).
    g1, g2 = t(1.0, 0.0), t(-1.0, 1.0)
    expected = t(0.5, 1.5)
    assert torch.allclose(pcgrad([g1, g2]), expected)
    assert torch.allclose(pcgrad([g2, g1]), expected)
    # Projecting g2 off the already projected g1' (0.5, 0.5) instead would find no conflict
    # (g2·g1' = 0) and give (-0.5, 1.5): the paper's algorithm uses the original g1.
    assert not torch.allclose(pcgrad([g1, g2]), t(-0.5, 1.5))
    # Each projected gradient no longer conflicts with the other task's.
    assert float(t(0.5, 0.5) @ g2) >= 0 and float(t(0.0, 1.0) @ g1) >= 0


@pytest.mark.parametrize(
    "grads",
    [
        [t(1.0, 2.0, 0.0), t(0.5, 0.0, 3.0)],  # acute: g1·g2 = 0.5
        [t(1.0, 0.0), t(0.0, -4.0)],  # orthogonal: no conflict either
        [t(1.0, 1.0), t(2.0, 0.5), t(0.1, 3.0)],  # three tasks, all acute
    ],
    ids=["acute", "orthogonal", "three-acute"],
)
def test_without_a_conflict_it_is_the_plain_sum(grads):
    assert torch.equal(pcgrad(grads), torch.stack(grads).sum(0))


def test_a_zero_gradient_never_conflicts():
    result = pcgrad([t(1.0, 1.0), t(0.0, 0.0)])
    assert torch.equal(result, t(1.0, 1.0))


def test_three_tasks_in_random_order_match_the_algorithm():
    """With three tasks the order of the other two matters; every result must be the
    algorithm's for some order, and the generator must pick more than one order."""
    grads = [t(1.0, 0.0, 0.0), t(-1.0, 1.0, 0.0), t(-0.5, -2.0, 1.0)]
    arrays = [g.numpy() for g in grads]
    per_task = [[j for j in range(3) if j != i] for i in range(3)]
    candidates = {
        orders: reference(arrays, [list(o) for o in orders])
        for orders in itertools.product(*(itertools.permutations(p) for p in per_task))
    }
    distinct = {tuple(np.round(v, 9)) for v in candidates.values()}
    assert len(distinct) > 1  # the order matters for these gradients
    used = set()
    for seed in range(16):
        result = pcgrad(grads, torch.Generator().manual_seed(seed)).numpy()
        matches = [o for o, v in candidates.items() if np.allclose(result, v)]
        assert matches, f"seed {seed}: {result} is no order's result"
        used.add(tuple(np.round(result, 9)))
        again = pcgrad(grads, torch.Generator().manual_seed(seed)).numpy()
        assert np.array_equal(result, again)  # the same seed, the same order
    assert len(used) > 1


def test_write_pcgrad_projects_shared_params_and_sums_a_tasks_own():
    """Two heads on a shared layer. Head b is head a times -1/2, so the shared gradients of
    the two tasks point in exactly opposite directions: PCGrad cancels both (the plain sum
    would keep half of task a's), while each head keeps its own task's gradient."""
    torch.manual_seed(0)
    shared = torch.nn.Linear(3, 2)
    head_a = torch.nn.Linear(2, 1)
    head_b = torch.nn.Linear(2, 1)
    with torch.no_grad():
        head_b.weight.copy_(-0.5 * head_a.weight)
    params = [*shared.parameters(), *head_a.parameters(), *head_b.parameters()]
    x = torch.randn(4, 3)
    loss_a = head_a(shared(x)).sum()
    loss_b = head_b(shared(x)).sum()
    grads = [torch.autograd.grad(loss, params, allow_unused=True) for loss in (loss_a, loss_b)]
    assert grads[0][4] is None and grads[1][2] is None  # a task does not reach the other head
    write_pcgrad(params, grads)
    for k, p in enumerate(shared.parameters()):
        plain = grads[0][k] + grads[1][k]
        assert torch.allclose(p.grad, torch.zeros_like(p), atol=1e-6)
        assert plain.abs().max() > 1e-3
    for k, p in enumerate(head_a.parameters(), start=2):
        assert torch.equal(p.grad, grads[0][k])
    for k, p in enumerate(head_b.parameters(), start=4):
        assert torch.equal(p.grad, grads[1][k])


def test_write_pcgrad_is_pcgrad_of_the_flattened_shared_gradients():
    torch.manual_seed(1)
    params = [torch.nn.Parameter(torch.randn(2, 3)), torch.nn.Parameter(torch.randn(4))]
    grads = [(torch.randn(2, 3), torch.randn(4)) for _ in range(3)]
    write_pcgrad(params, grads, torch.Generator().manual_seed(5))
    flat = [torch.cat([g[0].reshape(-1), g[1]]) for g in grads]
    expected = pcgrad(flat, torch.Generator().manual_seed(5))
    assert torch.equal(torch.cat([params[0].grad.reshape(-1), params[1].grad]), expected)
    assert not torch.allclose(expected, torch.stack(flat).sum(0))  # these conflict
