"""How names read in reports: optimizers, metrics, learning schemes, schedules.

Optimizers and schedules read as their registry entries' labels say.
"""

from __future__ import annotations

from hpsearch.optim import OPTIMIZERS
from hpsearch.report.model import (
    ArmResult,
    ConfigResult,
    FinetuneSettings,
    ScheduleSettings,
    Scheme,
)
from hpsearch.schedules import SCHEDULES

METRIC_NAMES = {"f1": "F1", "accuracy": "Accuracy", "mcc": "MCC", "mse": "MSE"}


# Shown ×100 in the comparison, as the model cards do; the other metrics as they are.
PERCENT = frozenset({"f1", "accuracy", "mcc", "pearson", "spearman"})


def optimizer_name(kind: str) -> str:
    """The optimizer's label ("M-FAC"); a name no longer registered stays as it is."""
    return OPTIMIZERS[kind].label if kind in OPTIMIZERS else kind


def metric_name(metric: str) -> str:
    return METRIC_NAMES.get(metric, metric.capitalize())


def config_label(config: ConfigResult) -> str:
    """``M-FAC (qqp-mfac, trial 3)``: the optimizer first, then where the config is from."""
    return f"{optimizer_name(config.optimizer)} ({config.study}, trial {config.trial})"


def arm_label(arm: ArmResult) -> str:
    """An arm as its best config's label; the arm's name first where it is not the
    optimizer's (two arms of one optimizer): ``adam-long: AdamW (adam-long, trial 3)``."""
    label = f"{optimizer_name(arm.optimizer)} ({arm.study}, trial {arm.best_trial})"
    return label if arm.name == optimizer_name(arm.optimizer) else f"{arm.name}: {label}"


def bytes_label(n: int | None) -> str:
    """``4.4 GiB``, ``512.0 KiB``, ``80 B``; ``–`` for None."""
    if n is None:
        return "–"
    if n < 1024:
        return f"{n} B"
    value, unit = n / 1024, "KiB"
    for bigger in ("MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"


MODE_NAMES = {
    "full": "full finetuning",
    "frozen": "frozen encoder",
    "adapter": "adapters",
    "lora": "LoRA",
}


def scheme_label(scheme: Scheme) -> str:
    """``full finetuning + discriminative lr + gradual unfreezing, AdamW``."""
    parts = [MODE_NAMES.get(scheme.mode, scheme.mode)]
    if scheme.discriminative:
        parts.append("discriminative lr")
    if scheme.gradual_unfreezing:
        parts.append("gradual unfreezing")
    optimizer = optimizer_name(scheme.optimizer)
    if scheme.nesterov:
        optimizer += " (Nesterov)"
    return f"{' + '.join(parts)}, {optimizer}"


def adapter_label(finetune: FinetuneSettings) -> str:
    """The survey's adapter column: yes (and the bottleneck width), LoRA (and its rank), no."""
    if finetune.mode == "adapter":
        return f"yes ({finetune.adapter_size})"
    if finetune.mode == "lora":
        return f"LoRA (r={finetune.lora_r})"
    return "no"


# How a schedule's options read after its label; 0 (no warmup) and None (does not apply)
# are not shown.
_SCHEDULE_OPTIONS = {"warmup_ratio": "warmup"}


def scheduler_label(schedule: ScheduleSettings) -> str:
    """``linear (warmup 0.1)``, ``slanted triangular (cut_frac 0.1, ratio 32)``: the
    schedule's label, then the values of the options its entry takes."""
    name = schedule.schedule
    if name not in SCHEDULES:
        return name
    entry = SCHEDULES[name]
    shown = [
        f"{_SCHEDULE_OPTIONS.get(option, option)} {getattr(schedule, option):.3g}"
        for option in entry.options
        if getattr(schedule, option, None)
    ]
    return f"{entry.label} ({', '.join(shown)})" if shown else entry.label


MULTITASK_ROWS = {"sum": "summed loss", "pcgrad": "PCGrad", "ensemble": "per-task ensemble"}


COMBINE_NAMES = {"sum": "summed loss", "pcgrad": "PCGrad"}


def column_name(metric: str) -> str:
    """``sts/pearson`` → ``sts Pearson``, ``quora/f1`` → ``quora F1``; ``mean`` stays."""
    task, _, name = metric.rpartition("/")
    proper = {**METRIC_NAMES, "accuracy": "accuracy", "pearson": "Pearson", "spearman": "Spearman"}
    return f"{task} {proper.get(name, name)}" if task else name
