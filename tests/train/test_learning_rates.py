"""Setting the scheduled rates on an optimizer (the schedules: tests/test_schedules.py)."""

from __future__ import annotations

import torch

from hpsearch.train.learning_rates import set_lr


def test_set_lr_scales_each_group_from_its_own_peak():
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in range(2)]
    opt = torch.optim.SGD(
        [{"params": [params[0]], "peak_lr": 0.1}, {"params": [params[1]], "peak_lr": 0.01}],
        lr=1.0,
    )
    opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "peak_lr": 1.0})
    set_lr(opt, 0.5)
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.005, 0.5]
