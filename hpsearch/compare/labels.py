"""How names read in comparisons: optimizers, metrics, configs, arms, sizes.

Optimizers read as their registry entries' labels say.
"""

from __future__ import annotations

from hpsearch.compare.model import ArmResult, ConfigResult, RunCost
from hpsearch.optim import OPTIMIZERS
from hpsearch.search.record import ran_on
from hpsearch.wording import plural

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


def no_verdict_label(arm: ArmResult, why: ArmResult) -> str:
    """The Δ cell of ``arm`` where there is no verdict: ``why`` is the arm that never
    learned within its space (``arm`` itself, or the baseline)."""
    if why.name != arm.name:
        return f"no verdict: {why.name} never learned"
    return ("baseline, " if arm.baseline else "") + "never learned: no verdict"


def run_place(cost: RunCost) -> str:
    """Where a run trained, as the tables say it: ``cpu, fp32, 2 threads`` (the thread
    count where a CPU run recorded it: its seconds depend on it), ``cuda, bf16``."""
    place = ran_on(cost.device, cost.precision)
    if cost.device == "cpu" and cost.threads is not None:
        place += f", {plural(cost.threads, 'thread')}"
    return place


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


def column_name(metric: str) -> str:
    """``sts/pearson`` → ``sts Pearson``, ``quora/f1`` → ``quora F1``; ``mean`` stays."""
    task, _, name = metric.rpartition("/")
    proper = {**METRIC_NAMES, "accuracy": "accuracy", "pearson": "Pearson", "spearman": "Spearman"}
    return f"{task} {proper.get(name, name)}" if task else name
