"""M-FAC against its definition: the naive dense (λI + GᵀG/m)⁻¹g, plus the optimizer plumbing."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
import torch

from hpsearch.errors import HpsearchError, InsufficientMemoryError
from hpsearch.optim import mfac as mfac_module
from hpsearch.optim.mfac import MFAC, mfac_buffer_bytes
from tests.optim.reference import (
    FLOAT32_TOL,
    FLOAT64_TOL,
    DenseReference,
    flat,
    rel_err,
    with_reference,
)

WEIGHT_DECAY_MODES = ["decoupled", "coupled"]


def two_params(dtype: torch.dtype, d_matrix: tuple[int, int], d_vec: int):
    """A matrix and a vector parameter, both zero, so that -θ after one lr=1 step is F⁻¹g."""
    a = torch.zeros(*d_matrix, dtype=dtype, requires_grad=True)
    b = torch.zeros(d_vec, dtype=dtype, requires_grad=True)
    return a, b


@pytest.mark.parametrize("damp", [1e-6, 1e-2, 1.0])
@pytest.mark.parametrize(("matrix", "vec", "m"), [((4, 6), 6, 8), ((2, 2), 2, 10)])
def test_matches_dense_reference_float64(damp, matrix, vec, m):
    # (4, 6) + 6 = 30 > m = 8; (2, 2) + 2 = 6 < m = 10 (rank-deficient GGᵀ).
    torch.manual_seed(0)
    a, b = two_params(torch.float64, matrix, vec)
    d = a.numel() + b.numel()
    opt = MFAC([a, b], lr=1.0, num_grads=m, damp=damp, buffer_dtype="float64")
    ref = DenseReference(d, m, damp)
    errors = []
    for _ in range(2 * m + 3):  # m - 1 steps before the buffer is full, then two wrap-arounds
        ga, gb = torch.randn_like(a), torch.randn_like(b)
        expected = ref.direction(flat(ga, gb))
        with torch.no_grad():
            a.zero_()
            b.zero_()
        a.grad, b.grad = ga, gb
        opt.step()
        errors.append(rel_err(-flat(a, b), expected))
    assert max(errors[: m - 1]) < FLOAT64_TOL  # before full
    assert max(errors[m:]) < FLOAT64_TOL  # after wrap-around
    assert opt.num_failed_steps == 0


@pytest.mark.parametrize("buffer_dtype", ["float32", "bfloat16"])
def test_matches_dense_reference_float32(buffer_dtype):
    torch.manual_seed(0)
    d, m, damp = 200, 16, 1e-6
    p = torch.zeros(d, requires_grad=True)
    opt = MFAC([p], lr=1.0, num_grads=m, damp=damp, buffer_dtype=buffer_dtype)
    ref = DenseReference(d, m, damp)
    worst = 0.0
    for _ in range(2 * m + 3):
        g = torch.randn(d)
        stored = g.to(torch.bfloat16) if buffer_dtype == "bfloat16" else g
        expected = ref.direction(stored)
        with torch.no_grad():
            p.zero_()
        p.grad = g
        opt.step()
        worst = max(worst, rel_err(-p.detach(), expected))
    assert worst < FLOAT32_TOL
    assert opt.buffer_nbytes == mfac_buffer_bytes(d, m, buffer_dtype)


@pytest.mark.parametrize("mode", WEIGHT_DECAY_MODES)
@pytest.mark.parametrize("case", ["bfloat16 in blocks", "float64 params", "non-contiguous"])
def test_matches_dense_reference_other_layouts(case, mode):
    """The update paths other than the fused float32 one: blocked, dtype-converting, strided;
    the stored gradient g + wd·θ when decay is coupled, rounded once to the buffer's dtype."""
    torch.manual_seed(0)
    m, damp, lr, wd = 6, 1e-4, 0.5, 0.1
    dtype = torch.float64 if case == "float64 params" else torch.float32
    a = torch.randn(8, 5, dtype=dtype)
    if case == "non-contiguous":
        a = a.t()  # a (5, 8) leaf whose memory is column-major
    a.requires_grad_()
    b = torch.randn(30, dtype=dtype, requires_grad=True)
    buffer_dtype = "bfloat16" if case == "bfloat16 in blocks" else "float32"
    opt = MFAC(
        [a, b],
        lr=lr,
        num_grads=m,
        damp=damp,
        weight_decay=wd,
        buffer_dtype=buffer_dtype,
        weight_decay_mode=mode,
    )
    opt._buffer._block = 7  # several column blocks per parameter
    ref = DenseReference(a.numel() + b.numel(), m, damp)
    coupled = mode == "coupled"
    worst = 0.0
    for _ in range(2 * m + 1):
        ga, gb = torch.randn(a.shape, dtype=dtype), torch.randn(30, dtype=dtype)
        # The stored gradient, in the parameters' dtype, as the optimizer computes it.
        g = flat(ga + wd * a, gb + wd * b) if coupled else flat(ga, gb)
        expected = ref.direction(g.to(torch.bfloat16) if buffer_dtype == "bfloat16" else g.float())
        before = flat(a, b).double()
        a.grad, b.grad = ga, gb
        opt.step()
        # θ ← s·θ − lr·F⁻¹g, s = 1 − lr·wd (decoupled) or 1 (coupled): recover F⁻¹g.
        shrink = 1.0 if coupled else 1 - lr * wd
        direction = (shrink * before - flat(a, b).double()) / lr
        worst = max(worst, rel_err(direction, expected))
    assert not a.is_contiguous() if case == "non-contiguous" else a.is_contiguous()
    assert worst < FLOAT32_TOL


def test_gram_matrix_stays_current():
    torch.manual_seed(0)
    p = torch.zeros(12, dtype=torch.float64, requires_grad=True)
    opt = MFAC([p], lr=0.0, num_grads=4, damp=1e-3, buffer_dtype="float64")
    for _ in range(7):
        p.grad = torch.randn(12, dtype=torch.float64)
        opt.step()
    G = opt._buffer.G
    torch.testing.assert_close(opt._gram, G @ G.T, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", WEIGHT_DECAY_MODES)
def test_fill_slot_writes_one_gradient_and_its_norm_without_a_step(mode):
    """The benchmarks' way to a full buffer: slot j and GGᵀ's (j, j), nothing else; the
    gradient as a step stores it (g + wd·θ when decay is coupled)."""
    torch.manual_seed(0)
    theta, wd = torch.randn(12, dtype=torch.float64), 0.5
    p = theta.clone().requires_grad_()
    opt = MFAC(
        [p],
        lr=0.1,
        num_grads=4,
        damp=1e-3,
        weight_decay=wd,
        buffer_dtype="float64",
        weight_decay_mode=mode,
    )
    p.grad = torch.randn(12, dtype=torch.float64)
    stored = p.grad + wd * theta if mode == "coupled" else p.grad
    opt.fill_slot(2)
    G = opt.dense_buffer
    torch.testing.assert_close(G[2], stored, rtol=1e-15, atol=0)
    assert not G[[0, 1, 3]].any() and torch.equal(p.detach(), theta)
    expected = torch.zeros(4, 4, dtype=torch.float64)
    expected[2, 2] = stored.square().sum()
    torch.testing.assert_close(opt._gram, expected)
    with pytest.raises(ValueError, match="0 <= j < num_grads"):
        opt.fill_slot(4)


def test_dense_buffer_is_none_when_a_parameter_is_row_sparse():
    embedding = torch.zeros(200, 8, requires_grad=True)
    assert MFAC([embedding], num_grads=2, row_sparse={embedding: 3}).dense_buffer is None
    assert MFAC([embedding], num_grads=2, layout="dense").dense_buffer.shape == (2, 1600)


@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_momentum_averages_directions(wd):
    torch.manual_seed(0)
    d, m, damp, mu, lr = 10, 4, 1e-3, 0.9, 0.5
    p = torch.ones(d, dtype=torch.float64, requires_grad=True)
    opt = MFAC(
        [p], lr=lr, num_grads=m, damp=damp, momentum=mu, weight_decay=wd, buffer_dtype="float64"
    )
    ref = DenseReference(d, m, damp)
    v = torch.zeros(d, dtype=torch.float64)
    expected_p = torch.ones(d, dtype=torch.float64)
    for _ in range(6):
        g = torch.randn(d, dtype=torch.float64)
        v = mu * v + (1 - mu) * ref.direction(g)  # the reference's momentum
        expected_p = (1 - lr * wd) * expected_p - lr * v  # decoupled decay
        p.grad = g
        opt.step()
        assert rel_err(p.detach(), expected_p) < FLOAT64_TOL


def test_momentum_vector_only_when_needed():
    torch.manual_seed(0)
    p = torch.zeros(6, dtype=torch.float64, requires_grad=True)
    opt = MFAC([p], lr=0.1, num_grads=3, damp=1e-2, buffer_dtype="float64")
    p.grad = torch.randn(6, dtype=torch.float64)
    opt.step()
    assert opt._momentum is None  # μ = 0: the update is fused, no d-sized vector
    # μ raised later (e.g. by a schedule): v starts from zero, so v = (1 − μ)·F⁻¹g.
    opt.param_groups[0]["momentum"] = 0.5
    before = p.detach().clone()
    ref = DenseReference(6, 3, 1e-2)
    ref.direction(p.grad)
    g = torch.randn(6, dtype=torch.float64)
    p.grad = g
    opt.step()
    expected = before - 0.1 * 0.5 * ref.direction(g)
    assert rel_err(p.detach(), expected) < FLOAT64_TOL
    assert opt._momentum is not None


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("mode", WEIGHT_DECAY_MODES)
def test_weight_decay_modes_match_the_reference(mode, momentum):
    """Both modes against the authors' step (ReferenceMFAC), float64, the buffer wrapping:
    coupled stores g + wd·θ in G and preconditions it, decoupled stores g and shrinks θ
    after. Two groups, one without decay; every third step the decayed matrix has no
    gradient (zero: coupled stores wd·θ alone)."""
    torch.manual_seed(0)
    m, damp, lr, wd = 4, 1e-3, 0.3, 0.5
    a = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(5, dtype=torch.float64, requires_grad=True)
    hp = dict(m=m, damp=damp, lr=lr, momentum=momentum, mode=mode)
    opt, ref = with_reference([a, b], [wd, 0.0], **hp)
    for t in range(2 * m + 3):
        ga = None if t % 3 == 2 else torch.randn_like(a)
        gb = torch.randn_like(b)
        g = flat(torch.zeros_like(a) if ga is None else ga, gb)
        stored = g + ref.wd * flat(a, b) if mode == "coupled" else g  # ref.wd: per number
        a.grad, b.grad = ga, gb
        opt.step()
        torch.testing.assert_close(opt._buffer.G[t % m], stored, rtol=1e-14, atol=1e-15)
        assert rel_err(flat(a, b), ref.step(g)) < FLOAT64_TOL
    assert opt.num_failed_steps == 0


def test_weight_decay_is_decoupled():
    torch.manual_seed(0)
    d, m, damp, lr, wd = 10, 4, 1e-2, 0.1, 0.5
    theta0 = torch.randn(d, dtype=torch.float64)
    p = theta0.clone().requires_grad_()
    opt = MFAC([p], lr=lr, num_grads=m, damp=damp, weight_decay=wd, buffer_dtype="float64")
    g = torch.randn(d, dtype=torch.float64)
    p.grad = g
    opt.step()
    # Decoupled: θ ← (1 − lr·wd)·θ − lr·F⁻¹g, and the buffer holds g, not g + wd·θ.
    expected = (1 - lr * wd) * theta0 - lr * DenseReference(d, m, damp).direction(g)
    assert rel_err(p.detach(), expected) < FLOAT64_TOL
    torch.testing.assert_close(opt._buffer.G[0], g, rtol=0, atol=0)

    # A zero gradient gives a zero direction: only the decay acts.
    before = p.detach().clone()
    p.grad = torch.zeros(d, dtype=torch.float64)
    opt.step()
    torch.testing.assert_close(p.detach(), (1 - lr * wd) * before, rtol=1e-14, atol=0)


def test_per_group_lr_and_scheduler():
    torch.manual_seed(0)
    frozen_lr = torch.zeros(5, requires_grad=True)
    moving = torch.zeros(5, requires_grad=True)
    opt = MFAC(
        [{"params": [frozen_lr], "lr": 0.0}, {"params": [moving]}],
        lr=0.1,
        num_grads=4,
        damp=1e-2,
    )
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 0.5**step)
    steps = []
    for _ in range(3):
        frozen_lr.grad, moving.grad = torch.randn(5), torch.randn(5)
        before = moving.detach().clone()
        opt.step()
        sched.step()
        steps.append((moving.detach() - before).norm().item())
    assert torch.count_nonzero(frozen_lr) == 0  # lr 0: never moves
    assert all(s > 0 for s in steps)
    assert opt.param_groups[1]["lr"] == pytest.approx(0.1 * 0.5**3)

    # The scheduler's lr is the one used: the same direction, scaled by lr.
    opt2 = MFAC([torch.zeros(3, requires_grad=True)], lr=1.0, num_grads=2, damp=1.0)
    (q,) = opt2.param_groups[0]["params"]
    q.grad = torch.ones(3)
    opt2.param_groups[0]["lr"] = 0.25
    opt2.step()
    # One gradient g = 1: F⁻¹g = g / (λ + |g|²/m) = 1 / (1 + 3/2).
    torch.testing.assert_close(q.detach(), torch.full((3,), -0.25 / 2.5))


def test_missing_grad_counts_as_zero():
    torch.manual_seed(0)
    grads = [(torch.randn(3, 4), torch.randn(4)) for _ in range(5)]
    results = []
    for use_none in (True, False):
        a, b = torch.zeros(3, 4, requires_grad=True), torch.zeros(4, requires_grad=True)
        opt = MFAC([a, b], lr=0.1, num_grads=3, damp=1e-2)
        for t, (ga, gb) in enumerate(grads):
            a.grad = ga
            b.grad = None if (use_none and t % 2 == 1) else (gb if t % 2 == 0 else torch.zeros(4))
            opt.step()
        results.append(flat(a, b))
    torch.testing.assert_close(results[0], results[1], rtol=0, atol=0)
    assert results[0].abs().sum() > 0


def test_only_params_trainable_at_construction():
    trainable = torch.zeros(6, requires_grad=True)
    frozen = torch.zeros(100, requires_grad=False)
    opt = MFAC([trainable, frozen], lr=0.1, num_grads=3, damp=1e-2)
    assert opt.num_params == 6
    assert opt.buffer_nbytes == 3 * 6 * 4
    frozen.requires_grad_(True)  # unfrozen later: still not preconditioned, not updated
    trainable.grad, frozen.grad = torch.ones(6), torch.ones(100)
    opt.step()
    assert torch.count_nonzero(frozen) == 0
    assert torch.count_nonzero(trainable) == 6


def test_memory_check_raises_before_allocating(monkeypatch):
    d = 1000
    available = mfac_buffer_bytes(d, 37, "float32") + 5  # room for 37 gradients
    monkeypatch.setattr(
        mfac_module.psutil, "virtual_memory", lambda: SimpleNamespace(available=available)
    )
    params = [torch.zeros(d, requires_grad=True)]
    with pytest.raises(InsufficientMemoryError) as info:
        MFAC(params, num_grads=10**9)
    err = info.value
    assert err.needed == 10**9 * d * 4
    assert err.available == available
    assert "num_grads <= 37" in str(err)
    assert isinstance(err, HpsearchError)
    # 37 fits, 38 does not.
    assert MFAC(params, num_grads=37).buffer_nbytes == 37 * d * 4
    with pytest.raises(InsufficientMemoryError, match="num_grads <= 37"):
        MFAC(params, num_grads=38)
    # bfloat16 halves the bytes: 74 gradients fit.
    MFAC(params, num_grads=74, buffer_dtype="bfloat16")
    with pytest.raises(InsufficientMemoryError, match="num_grads <= 74"):
        MFAC(params, num_grads=75, buffer_dtype="bfloat16")


def test_buffer_bytes_estimate():
    assert mfac_buffer_bytes(15_616_130, 256) == 256 * 15_616_130 * 4
    assert mfac_buffer_bytes(10, 3, "bfloat16") == 60
    assert mfac_buffer_bytes(10, 3, torch.float64) == 240
    with pytest.raises(ValueError, match="buffer_dtype"):
        mfac_buffer_bytes(10, 3, "float16")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_grads": 0}, "num_grads"),
        ({"num_grads": 2.0}, "num_grads"),
        ({"damp": 0.0}, "damp"),
        ({"damp": -1e-6}, "damp"),
        ({"damp": float("inf")}, "damp"),
        ({"lr": -1e-3}, "lr"),
        ({"momentum": 1.0}, "momentum"),
        ({"momentum": -0.1}, "momentum"),
        ({"weight_decay": -0.1}, "weight_decay"),
        ({"buffer_dtype": "float16"}, "buffer_dtype"),
        ({"weight_decay_mode": "adamw"}, "weight_decay_mode"),
    ],
)
def test_constructor_validation(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        MFAC([torch.zeros(3, requires_grad=True)], **kwargs)
    assert "must" in str(info.value)  # the rule, then the value
    assert repr(next(iter(kwargs.values()))) in str(info.value)


def test_group_and_parameter_validation():
    a, b = torch.zeros(3, requires_grad=True), torch.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="global"):
        MFAC([{"params": [a], "num_grads": 4}, {"params": [b]}], num_grads=8)
    with pytest.raises(ValueError, match="`weight_decay_mode` is global"):
        MFAC([{"params": [a], "weight_decay_mode": "coupled"}, {"params": [b]}])
    with pytest.raises(ValueError, match="lr >= 0"):
        MFAC([{"params": [a], "lr": -1.0}, {"params": [b]}])
    with pytest.raises(ValueError, match="requires_grad"):
        MFAC([torch.zeros(3)])
    opt = MFAC([a], num_grads=2)
    with pytest.raises(ValueError, match="add_param_group"):
        opt.add_param_group({"params": [b]})


def test_state_dict_round_trip():
    torch.manual_seed(0)
    d, m, damp, mu = 8, 4, 1e-2, 0.5
    p = torch.zeros(d, requires_grad=True)
    opt = MFAC([p], lr=0.1, num_grads=m, damp=damp, momentum=mu)
    for _ in range(5):
        p.grad = torch.randn(d)
        opt.step()
    opt.param_groups[0]["lr"] = 0.05
    blob = io.BytesIO()
    torch.save(opt.state_dict(), blob)
    blob.seek(0)
    saved = torch.load(blob)
    # The gradient buffer is not in the state dict: nothing there is m·d large.
    sizes = [t.numel() for t in saved["mfac"].values() if isinstance(t, torch.Tensor)]
    assert max(sizes) == d

    q = p.detach().clone().requires_grad_()
    opt2 = MFAC([q], lr=0.1, num_grads=m, damp=damp, momentum=mu)
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == 0.05
    assert opt2._steps == 5
    torch.testing.assert_close(opt2._momentum, opt._momentum, rtol=0, atol=0)
    assert torch.count_nonzero(opt2._buffer.G) == 0  # the buffer restarts empty

    # Next step: v ← μ·v + (1 − μ)·F⁻¹g with only g in the buffer, F⁻¹g = g / (λ + |g|²/m).
    g = torch.randn(d)
    q.grad = g
    v_expected = mu * opt._momentum + (1 - mu) * g / (damp + g.dot(g) / m)
    opt2.step()
    torch.testing.assert_close(q.detach(), p.detach() - 0.05 * v_expected)
    torch.testing.assert_close(opt2._buffer.G[5 % m], g, rtol=0, atol=0)

    with pytest.raises(ValueError, match="num_grads"):
        MFAC([q], num_grads=m + 1).load_state_dict(saved)


def test_state_dict_keeps_the_weight_decay_mode():
    """A state dict loads only into M-FAC with its mode (the buffer's layout depends on it);
    one saved before the option existed ran decoupled."""
    p = torch.zeros(4, requires_grad=True)
    coupled = MFAC([p], num_grads=2, weight_decay_mode="coupled")
    saved = coupled.state_dict()
    assert saved["param_groups"][0]["weight_decay_mode"] == "coupled"
    with pytest.raises(ValueError, match="weight_decay_mode=coupled, but this M-FAC"):
        MFAC([p], num_grads=2).load_state_dict(saved)
    MFAC([p], num_grads=2, weight_decay_mode="coupled").load_state_dict(saved)

    old = MFAC([p], num_grads=2).state_dict()
    del old["param_groups"][0]["weight_decay_mode"]
    with pytest.raises(ValueError, match="weight_decay_mode=decoupled, but this M-FAC"):
        MFAC([p], num_grads=2, weight_decay_mode="coupled").load_state_dict(old)
    decoupled = MFAC([p], num_grads=2)
    decoupled.load_state_dict(old)
    assert decoupled.param_groups[0]["weight_decay_mode"] == "decoupled"
    p.grad = torch.ones(4)
    decoupled.step()


def test_state_dict_without_momentum_omits_direction():
    p = torch.zeros(4, requires_grad=True)
    opt = MFAC([p], lr=0.1, num_grads=2, damp=1e-2)
    p.grad = torch.ones(4)
    opt.step()
    state = opt.state_dict()
    assert state["mfac"] == {"step": 1, "num_failed_steps": 0, "momentum_buffer": None}
    assert state["state"] == {}


def test_non_positive_definite_step_is_skipped():
    p = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    opt = MFAC([p], lr=1.0, num_grads=3, damp=1e-6, buffer_dtype="float64")
    opt._gram[2, 2] = -1.0  # an impossible Gram entry (slot 2 is not written by step 0)
    p.grad = torch.ones(4, dtype=torch.float64)
    opt.step()
    assert opt.num_failed_steps == 1
    assert torch.count_nonzero(p) == 0  # skipped: no update, no NaN


def test_descent_on_tiny_mlp():
    torch.manual_seed(0)
    n, d = 512, 10
    X = torch.randn(n, d)
    y = (X[:, 0] * X[:, 1] + X[:, 2] > 0).long()
    model = torch.nn.Sequential(torch.nn.Linear(d, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))
    opt = MFAC(model.parameters(), lr=0.05, num_grads=16, damp=1e-2)
    loss_fn = torch.nn.functional.cross_entropy
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        initial = loss_fn(model(X), y).item()
    for _ in range(100):
        idx = torch.randint(0, n, (32,), generator=gen)
        opt.zero_grad()
        loss_fn(model(X[idx]), y[idx]).backward()
        opt.step()
    with torch.no_grad():
        final = loss_fn(model(X), y).item()
    assert initial > 0.6
    assert final < 0.4 * initial  # about 0.15 with this seed
