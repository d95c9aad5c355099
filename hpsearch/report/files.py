"""The report's files: report.csv, schemes.csv, multitask.csv (a multitask study) and
report.json as text, and writing them with report.md and the plots, all or nothing."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hpsearch.report.labels import adapter_label, scheduler_label, scheme_label
from hpsearch.report.markdown import to_markdown
from hpsearch.report.model import MultitaskTable, Report, SchemeRow
from hpsearch.report.plots import PlotResult, write_plots


def _csv(fields: list[str], rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def report_csv(report: Report) -> str:
    """report.csv: one row per config, with mean, std, best and worst of every metric."""
    stats = ("mean", "std", "best", "worst")
    fields = ["study", "role", "optimizer", "trial", "search_value", "n_seeds", "seeds"]
    fields += ["params", *(f"{m}_{s}" for m in report.metrics for s in stats)]
    rows = []
    for c in report.configs:
        row: dict[str, Any] = {
            "study": c.study,
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
            for s in stats:
                value = None if summary is None else getattr(summary, s)
                row[f"{m}_{s}"] = "" if value is None else value
        rows.append(row)
    return _csv(fields, rows)


def schemes_csv(schemes: Sequence[SchemeRow]) -> str:
    """schemes.csv: the learning-schemes table, one row per scheme, with its trial's data."""
    metrics = sorted({m for r in schemes for m in r.metrics})
    fields = ["learning_scheme", "adapter", "scheduler", *(f"validation_{m}" for m in metrics)]
    fields += ["trial", "n_trials", "value", "trainable_params", "seconds_per_step"]
    fields += ["mode", "discriminative", "gradual_unfreezing", "optimizer", "params"]
    rows = [
        {
            "learning_scheme": scheme_label(r.scheme),
            "adapter": adapter_label(r.finetune),
            "scheduler": scheduler_label(r.schedule),
            **{f"validation_{m}": r.metrics.get(m, "") for m in metrics},
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
    fields = ["row", *table.columns, "trial", "n_trials", "combine", "params"]
    rows = [
        {
            "row": r.row,
            **{m: r.metrics.get(m, "") for m in table.columns},
            "trial": "" if r.trial is None else r.trial,
            "n_trials": r.n_trials,
            "combine": r.combine or "",
            "params": json.dumps(r.params, sort_keys=True),
        }
        for r in table.rows
    ]
    return _csv(fields, rows)


def report_json(report: Report) -> str:
    """report.json: the whole report. NaN (a diverged run) is written as null."""
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


def write_text_files(
    report: Report, folder: Path, plots: Mapping[str, str | None] | None = None
) -> list[Path]:
    """Write report.md, report.csv, schemes.csv, report.json and (a multitask study)
    multitask.csv into ``folder``; their paths."""
    files = {
        "report.md": to_markdown(report, plots),
        "report.csv": report_csv(report),
        "schemes.csv": schemes_csv(report.schemes),
        "report.json": report_json(report),
    }
    if report.multitask is not None:
        files["multitask.csv"] = multitask_csv(report.multitask)
    paths = []
    for name, text in files.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def write_report(report: Report, folder: Path) -> tuple[list[Path], PlotResult]:
    """Write the report files and plots into ``folder``, all or nothing.

    Everything is drawn and written into a staging folder beside ``folder`` first and moved
    in at the end, so a failure leaves no half-written report (an earlier report stays as it
    was). A plot skipped now removes that plot of an earlier report.

    Returns:
        The written paths, and the plot results (file name → None or why it was skipped).
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        plots = write_plots(report, staging)
        write_text_files(report, staging, plots)
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
