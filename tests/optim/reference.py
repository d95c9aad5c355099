"""The naive M-FAC the optimizer tests check against: keep G, solve with the dense matrix;
and the authors' optimizer step around it, with either weight decay."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from hpsearch.optim.mfac import MFAC

# Relative error allowed against the float64 dense reference.
FLOAT64_TOL = 1e-8
# float32 (or a bfloat16 buffer, compared with the rounded gradients) on well-conditioned
# gradients (m <= d, random): the documented tolerance; about 3e-7 is typical.
FLOAT32_TOL = 1e-5


class DenseReference:
    """The naive M-FAC: keep G explicitly and solve with the dense d x d matrix F."""

    def __init__(self, d: int, m: int, damp: float) -> None:
        self.G = torch.zeros(m, d, dtype=torch.float64)
        self.m, self.damp, self.t = m, damp, 0

    def direction(self, g: torch.Tensor) -> torch.Tensor:
        """Write g into the ring buffer and return F⁻¹g, F = λI + GᵀG/m."""
        g = g.to(torch.float64)
        self.G[self.t % self.m] = g
        self.t += 1
        d = self.G.shape[1]
        F = self.damp * torch.eye(d, dtype=torch.float64) + self.G.T @ self.G / self.m
        return torch.linalg.solve(F, g)


class ReferenceMFAC:
    """The authors' M-FAC step (IST-DASLab/M-FAC ``optim.py``) on :class:`DenseReference`, on
    a flat float64 θ, with either weight decay:

    - ``"coupled"`` (theirs): g ← g + wd·θ, stored and preconditioned; θ ← θ − γ·v;
    - ``"decoupled"`` (AdamW's): g stored as it is; θ ← (1 − γ·wd)·θ − γ·v;

    with v ← μ·v + (1 − μ)·F⁻¹g in both. ``weight_decay`` is a number, or one per
    coordinate of θ (param groups with their own decay).
    """

    def __init__(
        self,
        theta: torch.Tensor,
        m: int,
        damp: float,
        *,
        lr: float,
        weight_decay: float | torch.Tensor,
        momentum: float = 0.0,
        mode: str = "decoupled",
    ) -> None:
        assert mode in ("coupled", "decoupled")
        self.theta = theta.detach().to(torch.float64).clone()
        self.fisher = DenseReference(self.theta.numel(), m, damp)
        self.lr, self.wd, self.momentum, self.mode = lr, weight_decay, momentum, mode
        self.v = torch.zeros_like(self.theta)

    def step(self, g: torch.Tensor) -> torch.Tensor:
        """One step on the loss's gradient ``g``; returns θ afterwards."""
        g = g.to(torch.float64)
        if self.mode == "coupled":
            g = g + self.wd * self.theta
        self.v = self.momentum * self.v + (1 - self.momentum) * self.fisher.direction(g)
        if self.mode == "decoupled":
            self.theta = (1 - self.lr * self.wd) * self.theta
        self.theta = self.theta - self.lr * self.v
        return self.theta


def with_reference(
    params: Sequence[torch.Tensor],
    decays: Sequence[float],
    *,
    m: int,
    damp: float,
    lr: float,
    momentum: float,
    mode: str,
    **kwargs: Any,
) -> tuple[MFAC, ReferenceMFAC]:
    """M-FAC over ``params`` (a float64 buffer; one param group each, with its weight decay
    from ``decays``; ``kwargs`` such as ``row_sparse``) and the authors' step from the same
    θ, for equality tests of either weight decay mode."""
    opt = MFAC(
        [{"params": [p], "weight_decay": wd} for p, wd in zip(params, decays, strict=True)],
        lr=lr,
        num_grads=m,
        damp=damp,
        momentum=momentum,
        buffer_dtype="float64",
        weight_decay_mode=mode,
        **kwargs,
    )
    decay = torch.cat(
        [
            torch.full((p.numel(),), wd, dtype=torch.float64)
            for p, wd in zip(params, decays, strict=True)
        ]
    )
    theta = flat(*params).cpu()
    ref = ReferenceMFAC(theta, m, damp, lr=lr, weight_decay=decay, momentum=momentum, mode=mode)
    return opt, ref


def rel_err(x: torch.Tensor, ref: torch.Tensor) -> float:
    return ((x.double() - ref).norm() / ref.norm()).item()


def flat(*tensors: torch.Tensor) -> torch.Tensor:
    return torch.cat([t.detach().reshape(-1) for t in tensors])
