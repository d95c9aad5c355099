"""The naive M-FAC the optimizer tests check against: keep G, solve with the dense matrix."""

from __future__ import annotations

import torch

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


def rel_err(x: torch.Tensor, ref: torch.Tensor) -> float:
    return ((x.double() - ref).norm() / ref.norm()).item()


def flat(*tensors: torch.Tensor) -> torch.Tensor:
    return torch.cat([t.detach().reshape(-1) for t in tensors])
