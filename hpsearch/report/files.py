"""The files of a report and of a comparison as text, and writing them with the plots,
all or nothing.

``report``: report.md, report.csv (one row per config), schemes.csv, multitask.csv (a
multitask study) and report.json. ``compare``: compare.md, compare.csv (one row per arm) and
compare.json.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hpsearch.report.compare_markdown import compare_markdown
from hpsearch.report.compare_plots import write_compare_plots
from hpsearch.report.figures import PlotResult
from hpsearch.report.labels import adapter_label, scheduler_label, scheme_label
from hpsearch.report.markdown import to_markdown
from hpsearch.report.model import (
    CompareReport,
    Comparison,
    MultitaskTable,
    Report,
    SchemeRow,
    Seeded,
)
from hpsearch.report.plots import write_plots


def _csv(fields: list[str], rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


_STATS = ("mean", "std", "best", "worst")


def report_csv(report: Report) -> str:
    """report.csv: one row per config, with mean, std, best and worst of every metric."""
    fields = ["study", "arm", "role", "optimizer", "trial", "search_value", "n_seeds", "seeds"]
    fields += ["params", *(f"{m}_{s}" for m in report.metrics for s in _STATS)]
    rows = []
    for c in report.comparison.configs:
        row: dict[str, Any] = {
            "study": c.study,
            "arm": c.arm,
            "role": c.role,
            "optimizer": c.optimizer,
            "trial": c.trial,
            "search_value": c.search_value,
            "n_seeds": len(c.runs),
            "seeds": " ".join(map(str, c.seeds)),
            "params": json.dumps(c.params, sort_keys=True),
        }
        for m in report.metrics:
            summary = c.summary.get(m)
            for s in _STATS:
                value = None if summary is None else getattr(summary, s)
                row[f"{m}_{s}"] = "" if value is None else value
        rows.append(row)
    return _csv(fields, rows)


def compare_csv(comp: Comparison) -> str:
    """compare.csv: one row per arm: its budget, best config, every compared metric over
    the seeds, the paired difference of the objective to the baseline with its tests, and
    its cost."""
    fields = ["arm", "study", "optimizer", "baseline", "finished", "judged", "cut"]
    fields += ["best_trial", "params", *(f"{m}_{s}" for m in comp.metrics for s in _STATS)]
    fields += ["diff_mean", "diff_ci_low", "diff_ci_high", "effect_size"]
    fields += ["paired_t_p", "paired_t_p_holm", "wilcoxon_p", "wilcoxon_p_holm", "welch_p"]
    fields += ["seconds_per_step", "samples_per_s", "train_seconds", "wall_time"]
    fields += ["optimizer_state_bytes", "peak_memory_bytes", "peak_memory"]
    fields += ["target", "target_seconds", "target_steps", "target_reached", "seeds"]
    rows = []
    for arm in comp.arms:
        best = next(c for c in comp.configs if c.arm == arm.name and c.trial == arm.best_trial)
        paired = comp.paired_test(arm.name, comp.metric)
        cost = comp.cost(arm.name)
        row: dict[str, Any] = {
            "arm": arm.name,
            "study": arm.study,
            "optimizer": arm.optimizer,
            "baseline": arm.baseline,
            "finished": arm.finished,
            "judged": len(arm.judged),
            "cut": " ".join(map(str, arm.cut)),
            "best_trial": arm.best_trial,
            "params": json.dumps(best.params, sort_keys=True),
        }
        for m in comp.metrics:
            for s in _STATS:
                row[f"{m}_{s}"] = getattr(arm.summary[m], s)
        if paired is not None:
            row |= {
                "diff_mean": paired.mean,
                "diff_ci_low": paired.ci_low,
                "diff_ci_high": paired.ci_high,
                "effect_size": paired.effect_size,
                "paired_t_p": paired.t_test.p,
                "paired_t_p_holm": paired.t_test.p_holm,
                "wilcoxon_p": paired.wilcoxon.p,
                "wilcoxon_p_holm": paired.wilcoxon.p_holm,
                "welch_p": paired.welch.p,
            }
        row |= {
            "seconds_per_step": cost.seconds_per_step,
            "samples_per_s": cost.samples_per_s,
            "train_seconds": cost.train_seconds,
            "wall_time": cost.wall_time,
            "optimizer_state_bytes": cost.optimizer_state_bytes,
            "peak_memory_bytes": cost.peak_memory_bytes,
            "peak_memory": cost.peak_memory,
            "target": comp.target,
            # empty: not reached (infinitely slow)
            "target_seconds": cost.target_seconds,
            "target_steps": cost.target_steps,
            "target_reached": f"{cost.reached}/{cost.runs}",
            "seeds": " ".join(map(str, comp.seeds)),
        }
        rows.append({k: "" if v is None else v for k, v in row.items()})
    return _csv(fields, rows)


def schemes_csv(schemes: Sequence[SchemeRow]) -> str:
    """schemes.csv: the learning-schemes table, one row per scheme, with its trial's data."""
    metrics = sorted({m for r in schemes for m in r.metrics})
    fields = ["learning_scheme", "adapter", "scheduler", *(f"validation_{m}" for m in metrics)]
    seeded = sorted({m for r in schemes if r.seeded for m in r.seeded.summary})
    fields += [f"{stat}_{m}" for m in seeded for stat in ("mean", "std", "n")]
    fields += ["trial", "n_trials", "value", "trainable_params", "seconds_per_step"]
    fields += ["mode", "discriminative", "gradual_unfreezing", "optimizer", "params"]
    rows = [
        {
            "learning_scheme": scheme_label(r.scheme),
            "adapter": adapter_label(r.finetune),
            "scheduler": scheduler_label(r.schedule),
            **{f"validation_{m}": r.metrics.get(m, "") for m in metrics},
            **_seeded_cells(r.seeded, seeded),
            "trial": r.trial,
            "n_trials": r.n_trials,
            "value": r.value,
            "trainable_params": r.trainable_params,
            "seconds_per_step": r.seconds_per_step,
            "mode": r.scheme.mode,
            "discriminative": r.scheme.discriminative,
            "gradual_unfreezing": r.scheme.gradual_unfreezing,
            "optimizer": r.scheme.optimizer,
            "params": json.dumps(r.params, sort_keys=True),
        }
        for r in schemes
    ]
    return _csv(fields, rows)


def multitask_csv(table: MultitaskTable) -> str:
    """multitask.csv: the per-task table, one row per kind (summed loss, PCGrad, ensemble)."""
    seeded = [
        m for m in table.columns if any(r.seeded and m in r.seeded.summary for r in table.rows)
    ]
    fields = ["row", *table.columns]
    fields += [f"{stat}_{m}" for m in seeded for stat in ("mean", "std", "n")]
    fields += ["trial", "n_trials", "combine", "params"]
    rows = [
        {
            "row": r.row,
            **{m: r.metrics.get(m, "") for m in table.columns},
            **_seeded_cells(r.seeded, seeded),
            "trial": "" if r.trial is None else r.trial,
            "n_trials": r.n_trials,
            "combine": r.combine or "",
            "params": json.dumps(r.params, sort_keys=True),
        }
        for r in table.rows
    ]
    return _csv(fields, rows)


def _seeded_cells(seeded: Seeded | None, names: Sequence[str]) -> dict[str, Any]:
    """mean_M, std_M and n_M of each metric M over a row's seed re-runs; empty: none."""
    cells: dict[str, Any] = {}
    for m in names:
        s = None if seeded is None else seeded.summary.get(m)
        cells |= {
            f"mean_{m}": "" if s is None else s.mean,
            f"std_{m}": "" if s is None or s.std is None else s.std,
            f"n_{m}": "" if s is None else s.n,
        }
    return cells


def report_json(report: Report | CompareReport) -> str:
    """report.json or compare.json: all of the data. NaN (a diverged run) is written as
    null."""
    return json.dumps(_no_nan(report.to_dict()), indent=2) + "\n"


def _no_nan(value: Any) -> Any:
    """Plain data with NaN and ±inf as None, and tuples as lists (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(v) for v in value]
    return value


def report_texts(report: Report, plots: Mapping[str, str | None]) -> dict[str, str]:
    """report.md, report.csv, schemes.csv, report.json and (a multitask study)
    multitask.csv, by file name."""
    files = {
        "report.md": to_markdown(report, plots),
        "report.csv": report_csv(report),
        "schemes.csv": schemes_csv(report.schemes),
        "report.json": report_json(report),
    }
    if report.multitask is not None:
        files["multitask.csv"] = multitask_csv(report.multitask)
    return files


def compare_texts(doc: CompareReport, plots: Mapping[str, str | None]) -> dict[str, str]:
    """compare.md, compare.csv and compare.json, by file name."""
    return {
        "compare.md": compare_markdown(doc, plots),
        "compare.csv": compare_csv(doc.comparison),
        "compare.json": report_json(doc),
    }


def write_report(report: Report, folder: Path) -> tuple[list[Path], PlotResult]:
    """Write report's files and plots into ``folder``, all or nothing (see
    :func:`write_all`)."""
    return write_all(
        folder, lambda staging: write_plots(report, staging), lambda p: report_texts(report, p)
    )


def write_compare(doc: CompareReport, folder: Path) -> tuple[list[Path], PlotResult]:
    """Write compare's files and plots into ``folder``, all or nothing."""
    return write_all(
        folder,
        lambda staging: write_compare_plots(doc.comparison, staging),
        lambda p: compare_texts(doc, p),
    )


def write_all(
    folder: Path,
    draw: Callable[[Path], PlotResult],
    texts: Callable[[PlotResult], dict[str, str]],
) -> tuple[list[Path], PlotResult]:
    """Draw the plots (``draw(folder)``) and write the text files (``texts(plots)``: file
    name → text) into ``folder``, all or nothing.

    Everything is drawn and written into a staging folder beside ``folder`` first and moved
    in at the end, so a failure leaves no half-written output (an earlier one stays as it
    was). A plot skipped now removes that plot of an earlier run.

    Returns:
        The written paths, and the plot results (file name → None or why it was skipped).
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        plots = draw(staging)
        for name, text in texts(plots).items():
            (staging / name).write_text(text, encoding="utf-8")
        folder.mkdir(exist_ok=True)
        written = []
        for path in sorted(staging.iterdir()):
            written.append(folder / path.name)
            os.replace(path, written[-1])
        for name, skipped in plots.items():
            if skipped:
                (folder / name).unlink(missing_ok=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written, plots
