"""Learning-rate schedules as ``step -> multiplier`` of the peak lr, one registry entry each.

The trainer multiplies every param group's own peak lr (layer-wise rates differ per group)
by the multiplier of the step about to be taken, ``step`` counting the steps done (0 first).

A schedule's options are the ``[train]`` fields it reads (``warmup_ratio``, ``cut_frac``,
``ratio``); the spec derives from :data:`SCHEDULES` which names ``train.schedule`` takes and
which of those fields apply to which schedule, so adding a schedule is one entry here. Pure
math (no torch, no spec), below :mod:`hpsearch.spec` (beside the other registries), which
validates study files against it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from hpsearch.registry import Choice, Registry

Multiplier = Callable[[int], float]  # step -> multiplier of the peak lr

# A schedule: ``factory(total_steps, **options) -> step -> multiplier``, its options the
# [train] fields it reads, with their defaults.
ScheduleEntry = Choice[Multiplier]


def _warmup_then(decay: Callable[[int, int, int], float]) -> Callable[..., Multiplier]:
    """A factory: a linear warmup over ``round(warmup_ratio · total_steps)`` steps (none when
    0), then ``decay(step, warmup_steps, total_steps)``."""

    def factory(total_steps: int, *, warmup_ratio: float) -> Multiplier:
        warmup_steps = round(warmup_ratio * total_steps)

        def multiplier(step: int) -> float:
            if step < warmup_steps:
                return (step + 1) / warmup_steps
            return decay(step, warmup_steps, total_steps)

        return multiplier

    return factory


def _linear(step: int, warmup_steps: int, total_steps: int) -> float:
    return max(0.0, (total_steps - step) / max(total_steps - warmup_steps, 1))


def _constant(step: int, warmup_steps: int, total_steps: int) -> float:
    return 1.0


def _cosine(step: int, warmup_steps: int, total_steps: int) -> float:
    progress = min((step - warmup_steps) / max(total_steps - warmup_steps, 1), 1.0)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def _slanted_triangular(total_steps: int, *, cut_frac: float, ratio: float) -> Multiplier:
    """Howard & Ruder (2018), eq. 3, over T = ``total_steps``: a short linear rise from
    lr/ratio to the peak over the first ``cut = ⌊T·cut_frac⌋`` steps, then a long linear
    decay back to lr/ratio::

        p = t / cut                                  if t < cut
            1 - (t - cut) / (cut · (1/cut_frac - 1))  otherwise
        η_t = η_max · (1 + p · (ratio - 1)) / ratio

    It is its own warmup, so it takes no ``warmup_ratio``. Departures, for short runs only:
    cut is at least 1 step, and p is clamped at 0, because when T·cut_frac is not a whole
    number the formula's last steps fall below lr/ratio (below 0 when T·cut_frac < 2, say).

    Raises:
        ValueError: ``cut_frac`` outside (0, 1) or ``ratio`` below 1.
    """
    if not 0 < cut_frac < 1 or ratio < 1:
        raise ValueError(
            f"`0 < cut_frac < 1` and `ratio >= 1` must hold, but got ({cut_frac=}, {ratio=})"
        )
    cut = max(1, math.floor(total_steps * cut_frac))
    decay = cut * (1 / cut_frac - 1)

    def multiplier(step: int) -> float:
        p = step / cut if step < cut else max(0.0, 1 - (step - cut) / decay)
        return (1 + p * (ratio - 1)) / ratio

    return multiplier


# The option of the schedules that warm up: the share of steps with linear warmup; 0: none.
_WARMUP: Mapping[str, float] = MappingProxyType({"warmup_ratio": 0.0})


def _entries() -> list[ScheduleEntry]:
    return [
        ScheduleEntry(
            "linear",
            "linear",
            "warmup, then linear decay to 0 at the last step (run_glue's default; the M-FAC "
            "model cards' schedule, without warmup)",
            _warmup_then(_linear),
            _WARMUP,
        ),
        ScheduleEntry(
            "constant",
            "constant",
            "warmup, then the peak lr throughout",
            _warmup_then(_constant),
            _WARMUP,
        ),
        ScheduleEntry(
            "cosine",
            "cosine",
            "warmup, then half a cosine from the peak to 0 at the last step (SGDR without "
            "restarts, as transformers' get_cosine_schedule_with_warmup)",
            _warmup_then(_cosine),
            _WARMUP,
        ),
        ScheduleEntry(
            "slanted_triangular",
            "slanted triangular",
            "Howard & Ruder's ULMFiT schedule: a short rise from lr/ratio over cut_frac of "
            "the steps, then a long decay back to lr/ratio; its own warmup",
            _slanted_triangular,
            {"cut_frac": 0.1, "ratio": 32.0},
        ),
    ]


SCHEDULES: Registry[ScheduleEntry] = Registry("schedule", _entries())


def lr_multiplier(name: str, total_steps: int, **options: Any) -> Multiplier:
    """The schedule ``name`` over ``total_steps`` steps as ``step -> multiplier``.

    ``options`` are the ``[train]`` fields the schedule takes (its entry's ``options``);
    the ones not given take their defaults.

    Raises:
        HpsearchError: an unknown name, or an option the schedule does not take.
        ValueError: a bad value of an option (``cut_frac`` outside (0, 1), say).
    """
    return SCHEDULES.entry(name).create(total_steps, **options)
