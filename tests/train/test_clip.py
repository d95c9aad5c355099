"""The clipped step: a fused optimizer takes the clip as its gradient scale, and its updates
equal clip-then-step's within float32 rounding; every other optimizer clips as torch does."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from hpsearch.train.clip import clipped_step

Factory = Callable[[list[dict], bool], torch.optim.Optimizer]

OPTIMIZERS: dict[str, Factory] = {
    # eps = 0.1 makes AdamW's update depend on the gradient's scale, so a clip that went
    # missing would show; SGD's update is the gradient's scale.
    "adamw": lambda groups, fused: torch.optim.AdamW(
        groups, eps=0.1, weight_decay=0.01, fused=fused, foreach=not fused
    ),
    "sgd": lambda groups, fused: torch.optim.SGD(
        groups, momentum=0.9, nesterov=True, fused=fused, foreach=not fused
    ),
}


def model_params(seed: int = 0) -> list[torch.nn.Parameter]:
    g = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(shape, generator=g)) for shape in ((50, 8), (8,), (3,))]


def train(kind: str, fused: bool, max_norm: float, *, clip: str) -> list[torch.Tensor]:
    """Five steps with gradients whose norm is above ``max_norm`` at some steps and below at
    others, two param groups at different lrs; ``clip``: ``hpsearch`` (clipped_step) or
    ``torch`` (clip_grad_norm_, then step)."""
    params = model_params()
    groups = [{"params": params[:2], "lr": 1e-2}, {"params": params[2:], "lr": 3e-2}]
    optimizer = OPTIMIZERS[kind](groups, fused)
    scaler = torch.amp.GradScaler("cpu", enabled=False)  # fp32: no loss scaling
    g = torch.Generator().manual_seed(1)
    for step in range(5):
        size = (3.0, 0.05, 10.0, 0.5, 2.0)[step]  # norms about 60, 1, 200, 10, 40
        for p in params:
            p.grad = size * torch.randn(p.shape, generator=g)
        if clip == "hpsearch":
            clipped_step(optimizer, params, max_norm, scaler)
        else:
            torch.nn.utils.clip_grad_norm_(params, max_norm)
            optimizer.step()
        assert not hasattr(optimizer, "grad_scale")  # no scale left for the next step
    return [p.detach().clone() for p in params]


@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
@pytest.mark.parametrize("max_norm", [1.0, 25.0])
def test_a_fused_step_takes_the_clip_as_its_scale_and_matches_clip_then_step(kind, max_norm):
    ours = train(kind, True, max_norm, clip="hpsearch")
    reference = train(kind, False, max_norm, clip="torch")  # the plain implementation
    for a, b in zip(ours, reference, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    # The clip mattered: without it (a huge max_norm) the parameters end elsewhere.
    unclipped = train(kind, True, 1e9, clip="hpsearch")
    assert not torch.allclose(ours[0], unclipped[0], rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_an_optimizer_without_a_scale_is_clipped_as_torch_clips(kind):
    ours = train(kind, False, 1.0, clip="hpsearch")
    reference = train(kind, False, 1.0, clip="torch")
    for a, b in zip(ours, reference, strict=True):
        assert torch.equal(a, b)


def test_a_known_norm_stands_for_its_gradient():
    """A gradient whose norm is given (a row-sparse one's) counts with that norm: given its
    true norm the step is clip-then-step's; given 0 it is as if left out of the norm."""
    results = {}
    for known in ("true", "zero", "torch"):
        params = model_params()
        for p, size in zip(params, (3.0, 1.0, 2.0), strict=True):
            p.grad = torch.full_like(p, size)
        optimizer = torch.optim.SGD(params, lr=0.1, fused=known != "torch")
        if known == "torch":  # the reference: torch's clip over the other two gradients
            scale = 1.0 / max(1.0, float(torch.cat([params[1].grad, params[2].grad]).norm()))
            for p in params:
                p.grad.mul_(scale)
            optimizer.step()
        else:
            norm = params[0].grad.norm() if known == "true" else torch.tensor(0.0)
            scaler = torch.amp.GradScaler("cpu", enabled=False)
            clipped_step(optimizer, params, 1.0, scaler, {params[0]: norm})
        results[known] = [p.detach().clone() for p in params]
    for a, b in zip(results["zero"], results["torch"], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    full = [p.detach().clone() for p in model_params()]
    grads = [torch.full_like(p, s) for p, s in zip(full, (3.0, 1.0, 2.0), strict=True)]
    total = float(torch.cat([g.flatten() for g in grads]).norm())
    for a, p, g in zip(results["true"], full, grads, strict=True):
        torch.testing.assert_close(a, p - 0.1 * g / total, rtol=1e-5, atol=1e-6)


def test_no_clipping_at_zero_and_loss_scaling_keeps_torchs_path():
    params = model_params()
    params[0].grad = torch.full_like(params[0], 100.0)
    optimizer = torch.optim.SGD([params[0]], lr=1.0, fused=True)
    before = params[0].detach().clone()
    clipped_step(optimizer, params[:1], 0.0, torch.amp.GradScaler("cpu", enabled=False))
    torch.testing.assert_close(params[0].detach(), before - 100.0)  # max_norm 0: not clipped

    # An enabled GradScaler (fp16) owns the optimizer's scale: the gradients are unscaled,
    # clipped by torch, and stepped by the scaler.
    scaler = torch.amp.GradScaler("cpu", init_scale=4.0)
    scaler.scale(torch.zeros(()))  # the loss it scaled, as the trainer's backward does
    params[0].grad = torch.full_like(params[0], 4.0 * 100.0)  # as if scaled by 4
    before = params[0].detach().clone()
    clipped_step(optimizer, params[:1], 2.0, scaler)
    step = before - params[0].detach()
    torch.testing.assert_close(step.norm(), torch.tensor(2.0), rtol=1e-4, atol=0)  # clipped
