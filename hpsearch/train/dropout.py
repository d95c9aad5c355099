"""Dropout whose masks are drawn 16 bits at a time on the CPU: the same distribution as
``nn.Dropout``, at a fraction of its cost.

torch draws a CPU dropout mask with ``bernoulli_``: one double from the Mersenne Twister per
element, in one thread where MKL's generator is not used (AMD CPUs), then divides and
multiplies in two more passes. For the 800 × 384 activations of a training batch of minilm
that took 2.7 ms, against 0.02 ms for a product of the same size: the dropout of a
2-layer model was 8% of a step.

Here a mask comes from 64-bit draws of the same generator, cut into four 16-bit numbers
``u``, each uniform on {0, …, 65535}: an element is kept when ``u >= k``, with
``k = round(p · 65536)``, and scaled by ``65536 / (65536 - k)``, so that the expected output
is the input exactly. The dropout rate is ``k / 65536``: ``p`` to within 7.7e-6 (0.1 becomes
0.100006). The draws come from torch's default CPU generator, so a seed gives the same masks
on every run, but not the masks ``nn.Dropout`` would draw. The backward multiplies by the
same mask, as torch's does. A rate that rounds to 0 or 1 is left to ``nn.Dropout``.

:func:`fast_dropout` makes every ``nn.Dropout`` of a model this one, in place (the class
of the instance changes: forward hooks, such as adapters', stay). On CUDA, and in
evaluation, it is ``nn.Dropout``. The dropout of attention probabilities is not a module
(the attention function takes its rate): :mod:`hpsearch.train.attention` draws its masks here.
"""

from __future__ import annotations

import torch
from torch import nn

LEVELS = 1 << 16  # a mask element is one 16-bit draw


def keep_threshold(p: float) -> int:
    """``k``: an element is dropped when its 16-bit draw (0 … 65535) is below it."""
    return round(p * LEVELS)


def dropout_mask(shape: torch.Size, p: float, dtype: torch.dtype) -> torch.Tensor:
    """A mask of ``shape``: 0 for a dropped element, ``65536 / (65536 - k)`` for a kept one
    (see the module docstring), drawn from torch's default CPU generator."""
    n = shape.numel()
    words = torch.empty((n + 3) // 4, dtype=torch.int64)
    words.random_(-(1 << 63), None)  # all 64 bits uniform (random_() leaves the top bit 0)
    draws = words.view(torch.int16)[:n].view(shape)  # uniform on -32768 … 32767
    k = keep_threshold(p)
    keep = draws >= k - LEVELS // 2
    return keep.to(dtype).mul_(LEVELS / (LEVELS - k))


class FastDropout(nn.Dropout):
    """``nn.Dropout`` whose CPU masks are drawn by :func:`dropout_mask`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        drawn = self.training and x.device.type == "cpu" and not self.inplace
        if not drawn or not 0 < keep_threshold(self.p) < LEVELS:
            return super().forward(x)  # nothing to draw (p rounds to 0 or 1), or not here
        # The product's backward multiplies by the mask alone: it is all autograd keeps.
        return x * dropout_mask(x.shape, self.p, x.dtype)


def fast_dropout(model: nn.Module) -> int:
    """Make every ``nn.Dropout`` of ``model`` a :class:`FastDropout`, in place; returns how
    many. Subclasses of ``nn.Dropout`` (which may do something else) are left alone."""
    changed = 0
    for module in model.modules():
        if type(module) is nn.Dropout:
            module.__class__ = FastDropout
            changed += 1
    return changed
