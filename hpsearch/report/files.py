"""The files of a report as text: report.md, report.csv (one row per config), schemes.csv,
multitask.csv (a multitask study) and report.json; written with its plots, all or nothing,
as a comparison's are (:func:`hpsearch.compare.files.write_all`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hpsearch.compare.files import STATS, csv_text, to_json, write_all
from hpsearch.compare.png import PlotResult
from hpsearch.report.labels import adapter_label, scheduler_label, scheme_label
from hpsearch.report.markdown import to_markdown
from hpsearch.report.model import MultitaskTable, Report, SchemeRow, Seeded
from hpsearch.report.plots import write_plots

# What report writes into its folder, plots included.
REPORT_FILES = (
    "report.md",
    "report.csv",
    "schemes.csv",
    "multitask.csv",
    "report.json",
    "history.png",
    "intermediate.png",
    "importance.png",
    "seeds.png",
    "tuning.png",
    "seconds.png",
    "steps.png",
    "lr_sensitivity.png",
)


def report_csv(report: Report) -> str:
    """report.csv: one row per config, with mean, std, best and worst of every metric."""
    fields = ["study", "arm", "role", "optimizer", "trial", "search_value", "n_seeds", "seeds"]
    fields += ["params", *(f"{m}_{s}" for m in report.metrics for s in STATS)]
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
            for s in STATS:
                value = None if summary is None else getattr(summary, s)
                row[f"{m}_{s}"] = "" if value is None else value
        rows.append(row)
    return csv_text(fields, rows)


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
    return csv_text(fields, rows)


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
    return csv_text(fields, rows)


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


def report_texts(report: Report, plots: Mapping[str, str | None]) -> dict[str, str]:
    """report.md, report.csv, schemes.csv, report.json and (a multitask study)
    multitask.csv, by file name."""
    files = {
        "report.md": to_markdown(report, plots),
        "report.csv": report_csv(report),
        "schemes.csv": schemes_csv(report.schemes),
        "report.json": to_json(report),
    }
    if report.multitask is not None:
        files["multitask.csv"] = multitask_csv(report.multitask)
    return files


def write_report(report: Report, folder: Path) -> tuple[list[Path], PlotResult]:
    """Write report's files and plots into ``folder``, all or nothing (see
    :func:`write_all`)."""
    return write_all(
        folder, lambda staging: write_plots(report, staging), lambda p: report_texts(report, p)
    )
