"""How a report's own names read: learning schemes, adapters, schedules, multitask rows.

Schedules read as their registry entries' labels say; the names a comparison shares
(optimizers, metrics) are :mod:`hpsearch.compare.labels`'.
"""

from __future__ import annotations

from hpsearch.compare.labels import optimizer_name
from hpsearch.report.model import FinetuneSettings, ScheduleSettings, Scheme, StudyTrials
from hpsearch.schedules import SCHEDULES

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


def importance_note(study: StudyTrials) -> str | None:
    """The report's note on why ``study`` has no parameter importances; None if it has
    them. The importance plot names the reasons only where the notes do not."""
    if not study.importance_note:
        return None
    return f"{study.name}: importances skipped: {study.importance_note}"
