"""How names read in reports: optimizers, metrics, learning schemes, schedules."""

from __future__ import annotations

from hpsearch.report.model import (
    ComparisonSide,
    ConfigResult,
    FinetuneSettings,
    ScheduleSettings,
    Scheme,
)

OPTIMIZER_NAMES = {"adamw": "AdamW", "mfac": "M-FAC", "sgd": "SGD"}


METRIC_NAMES = {"f1": "F1", "accuracy": "Accuracy", "mcc": "MCC", "mse": "MSE"}


# Shown ×100 in the comparison, as the model cards do; the other metrics as they are.
PERCENT = frozenset({"f1", "accuracy", "mcc", "pearson", "spearman"})


def optimizer_name(kind: str) -> str:
    return OPTIMIZER_NAMES.get(kind, kind)


def metric_name(metric: str) -> str:
    return METRIC_NAMES.get(metric, metric.capitalize())


def config_label(config: ConfigResult | ComparisonSide) -> str:
    """``M-FAC (qqp-mfac, trial 3)``: the optimizer first, then where the config is from."""
    return f"{optimizer_name(config.optimizer)} ({config.study}, trial {config.trial})"


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


def scheduler_label(schedule: ScheduleSettings) -> str:
    name = schedule.schedule
    if name == "slanted_triangular":
        cut, ratio = schedule.cut_frac, schedule.ratio
        return f"slanted triangular (cut_frac {cut:.3g}, ratio {ratio:.3g})"
    warmup = schedule.warmup_ratio
    return f"{name} (warmup {warmup:.3g})" if warmup else name


MULTITASK_ROWS = {"sum": "summed loss", "pcgrad": "PCGrad", "ensemble": "per-task ensemble"}


COMBINE_NAMES = {"sum": "summed loss", "pcgrad": "PCGrad"}


def column_name(metric: str) -> str:
    """``sts/pearson`` → ``sts Pearson``, ``quora/f1`` → ``quora F1``; ``mean`` stays."""
    task, _, name = metric.rpartition("/")
    proper = {**METRIC_NAMES, "accuracy": "accuracy", "pearson": "Pearson", "spearman": "Spearman"}
    return f"{task} {proper.get(name, name)}" if task else name
